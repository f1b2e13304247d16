//! Book-keeping storage: one handle over the SQL database, its migrations and the few helpers
//! every query needs (ids, clock).
//!
//! Two backends, one code path. The embedded default is a SQLite file; the scaled-out service
//! uses Postgres (`--database-url postgres://…`). Both sit behind sqlx's `Any` driver, so every
//! query in the crate is written once and runs on either: the SQL is portable on purpose (`$1`
//! parameters, `RETURNING`, `ON CONFLICT`, BIGINT millisecond times, INTEGER 0/1 flags, TEXT ids
//! and JSON) and the one set of migrations in `migrations/` runs on both. What differs is
//! [`Backend`]'s business: how the job claim locks ([`Db::begin_claim`],
//! [`Backend::skip_locked`]) and how a connection is set up.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

/// The connection pool type every query runs on.
pub type Pool = AnyPool;

/// A row as queries return it (for `FromRow` bounds).
pub type Row = sqlx::any::AnyRow;

/// A transaction on [`Db`].
pub type Tx = Transaction<'static, Any>;

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in WAL mode: one machine, one process writing at a time.
    Sqlite,
    /// A Postgres server: any number of API and worker processes on any number of machines.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or why it is not one we speak.
    pub fn of_url(url: &str) -> Result<Backend, String> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(format!(
                "unsupported database URL scheme '{scheme}': use postgres://… or sqlite://…"
            )),
        }
    }

    /// The row-lock clause that lets concurrent claimers pass each other's rows by
    /// (`FOR UPDATE SKIP LOCKED`). Empty on SQLite, where `BEGIN IMMEDIATE` already serialises
    /// every writer.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Name for logs and `/readyz`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database of a server. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Db {
    /// Connections; the pool tests each before handing it out, so after a database restart
    /// dead connections are dropped and fresh ones opened (no restart of ours needed).
    pool: AnyPool,
    /// Which engine is behind the pool.
    backend: Backend,
}

/// How long `/readyz` waits for the database before calling it unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

impl Db {
    /// Connects to `url` without touching the schema (see [`Db::migrate`]). A SQLite file is
    /// created if missing.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).map_err(|e| sqlx::Error::Configuration(e.into()))?;
        let options: AnyConnectOptions = url.parse()?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL + NORMAL is durable against process crashes (the kill -9
                            // case); only a power loss may lose the last commits, never corrupt
                            // the file. The busy timeout makes writers queue instead of failing.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                // One direct connection first: when the server is unreachable or refuses us,
                // the error says why at once (the pool would only report a timeout).
                AnyConnection::connect_with(&options).await?.close().await?;
                AnyPoolOptions::new()
                    .max_connections(10)
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(10))
                    // A connection idle this long may have been cut by a proxy or a restart.
                    .idle_timeout(Duration::from_secs(60))
                    .test_before_acquire(true)
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Db { pool, backend })
    }

    /// Connects to `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Db, sqlx::Error> {
        let db = Db::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Opens (creating if missing) the SQLite database at `path` and runs the migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Db, sqlx::Error> {
        Db::open(&sqlite_url(path)).await
    }

    /// Runs the migrations not yet applied. Safe to run from several processes at once
    /// (Postgres takes an advisory lock; SQLite serialises writers). Migrations this binary
    /// does not know are tolerated, so an older process keeps running during a rolling upgrade
    /// (every migration is additive).
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut migrator = sqlx::migrate!("../../migrations");
        migrator.set_ignore_missing(true);
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for queries.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A plain transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.pool.begin().await
    }

    /// A transaction for a job claim. On SQLite it holds the write lock from its first
    /// statement (`BEGIN IMMEDIATE`), so the select-then-update of two workers cannot
    /// interleave; on Postgres it is a plain transaction and the claim's select locks the one
    /// row it takes with `FOR UPDATE SKIP LOCKED` ([`Backend::skip_locked`]).
    pub async fn begin_claim(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Whether the database answers within a short timeout; the error says why not.
    pub async fn check(&self) -> Result<(), String> {
        let probe = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(PING_TIMEOUT, probe).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PING_TIMEOUT.as_secs_f32())),
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        self.check().await.is_ok()
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL of a SQLite file, created if missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// The database URL with any password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// Milliseconds since the Unix epoch, the time unit of every table.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new random id (UUID v4 text).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A stored time as the RFC 3339 text the API answers with.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migrations_run_and_dollar_parameters_bind() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("t.sqlite")).await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        let (a, b): (i64, String) = sqlx::query_as("SELECT $2, $1")
            .bind("x")
            .bind(7_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!((a, b.as_str()), (7, "x"));
        // The connection set-up took: WAL and foreign keys on every connection.
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(fk, 1);
        // Opening again must not re-run or fail on applied migrations.
        db.close().await;
        Db::open_sqlite(&dir.path().join("t.sqlite")).await.unwrap();
    }

    #[test]
    fn urls_pick_the_backend_and_passwords_stay_out_of_logs() {
        assert_eq!(Backend::of_url("postgres://u@h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of_url("sqlite://x.db"), Ok(Backend::Sqlite));
        assert!(
            Backend::of_url("mysql://h/db")
                .unwrap_err()
                .contains("mysql")
        );
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/orch?sslmode=require"),
            "postgres://app:***@db.example:5432/orch?sslmode=require"
        );
        assert_eq!(redact_url("postgres://app@h/db"), "postgres://app@h/db");
        assert_eq!(
            redact_url("sqlite:///tmp/x.sqlite"),
            "sqlite:///tmp/x.sqlite"
        );
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
