//! Which database a test server uses. By default the embedded SQLite file in the test's data
//! folder; with `ORCHESTRION_TEST_DATABASE_URL=postgres://…` (as `scripts/pg-throwaway.sh` sets
//! it) every test gets a fresh database of its own on that server, so the whole suite runs
//! against Postgres with tests still isolated and parallel.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// The Postgres server the suite should use, if any.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("ORCHESTRION_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// A database URL for one test server: a new, empty Postgres database when the suite runs
/// against Postgres, `None` (the data folder's SQLite file) otherwise.
pub async fn for_test_server() -> Option<String> {
    let admin = postgres_admin_url()?;
    Some(fresh_postgres_database(&admin).await)
}

/// Creates a database with a unique name on the server of `admin`; returns its URL.
pub async fn fresh_postgres_database(admin: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "studio_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut conn = sqlx::postgres::PgConnection::connect(admin)
        .await
        .expect("connect to the test Postgres server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let _ = conn.close().await;
    let (server, query) = match admin.split_once('?') {
        Some((s, q)) => (s, format!("?{q}")),
        None => (admin, String::new()),
    };
    let base = match server.split_once("://") {
        Some((_, rest)) if rest.contains('/') => &server[..server.rfind('/').unwrap()],
        _ => server,
    };
    format!("{base}/{name}{query}")
}
