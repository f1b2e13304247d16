//! Book-keeping storage: one handle over the SQL database, its migrations and the few helpers
//! every query needs (ids, clock).
//!
//! The SQL in this crate is portable on purpose (`$1` parameters, `RETURNING`,
//! `ON CONFLICT DO NOTHING`, BIGINT millisecond times), so the Postgres backend of the scale-out
//! work is a second arm of [`Db`], not a rewrite. Only the write lock of the job claim differs
//! (see [`Db::begin_claim`]).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The database of a server. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Db {
    /// The embedded default: one SQLite file in WAL mode.
    pool: SqlitePool,
}

/// A transaction on [`Db`].
pub type Tx = Transaction<'static, Sqlite>;

impl Db {
    /// Opens (creating if missing) the SQLite database at `path` and runs the migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Db, sqlx::Error> {
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL is durable against process crashes (the kill -9 case); only a power
            // loss may lose the last commits, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let db = Db { pool };
        sqlx::migrate!("../../migrations")
            .run(&db.pool)
            .await
            .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        Ok(db)
    }

    /// The connection pool, for queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A plain transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.pool.begin().await
    }

    /// A transaction that holds the database's write lock from its first statement, so that the
    /// select-then-update of a job claim cannot interleave with another worker's (SQLite's
    /// `BEGIN IMMEDIATE`; Postgres uses `FOR UPDATE SKIP LOCKED` instead).
    pub async fn begin_claim(&self) -> Result<Tx, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
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
        let (a, b): (i64, String) = sqlx::query_as("SELECT $2, $1")
            .bind("x")
            .bind(7_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!((a, b.as_str()), (7, "x"));
        // Opening again must not re-run or fail on applied migrations.
        drop(db);
        Db::open_sqlite(&dir.path().join("t.sqlite")).await.unwrap();
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
