//! Who is asking. A loopback server with no auth configured serves one local user; otherwise a
//! request carries a Bearer API token or the console's session cookie. Tokens are random,
//! shown once, and stored only as SHA-256 hashes.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::AuthMode;
use crate::db::{Db, now_ms};
use crate::http::ApiContext;
use crate::http::error::Error;

/// The id of the single user of a local-mode server (the nil UUID).
pub const LOCAL_USER_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The name of the cookie that carries a console session.
pub const SESSION_COOKIE: &str = "orchestrion_session";
/// How long a console session lasts.
pub const SESSION_MILLIS: i64 = 30 * 24 * 3600 * 1000;

/// The user a request acts for. Taking it as a handler argument is what makes a route private.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub name: String,
}

/// A fresh secret: 256 random bits as hex, with a prefix that makes leaked tokens recognisable.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// What is stored for a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes sure the local user row exists (every database has it, so resources can reference it).
pub async fn ensure_local_user(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, name, created_at) VALUES ($1, 'local', $2) ON CONFLICT DO NOTHING",
    )
    .bind(LOCAL_USER_ID)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Creates a user (or finds the existing one by name) and a new API token for it. Returns the
/// user id and the token, which is not stored anywhere in clear.
pub async fn add_user(db: &Db, name: &str) -> Result<(String, String), Error> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || name == "local" {
        return Err(Error::Validation(
            "a user name is 1-64 characters and not 'local'".into(),
        ));
    }
    let id = crate::db::new_id();
    sqlx::query(
        "INSERT INTO users (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    let (id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_one(db.pool())
        .await?;
    let token = new_secret("orch_");
    sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(hash_token(&token))
        .bind(&id)
        .bind(now_ms())
        .execute(db.pool())
        .await?;
    Ok((id, token))
}

/// How many users can sign in with a token (token mode refuses to start with none).
pub async fn token_user_count(db: &Db) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT user_id) FROM api_tokens")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// The user an API token belongs to.
pub async fn user_for_token(db: &Db, token: &str) -> Result<Option<AuthUser>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(hash_token(token))
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(id, name)| AuthUser { id, name }))
}

/// The user of a live console session.
pub async fn user_for_session(db: &Db, session: &str) -> Result<Option<AuthUser>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(hash_token(session))
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(id, name)| AuthUser { id, name }))
}

/// Starts a console session for `user`; returns the cookie value.
pub async fn create_session(db: &Db, user: &AuthUser) -> Result<String, sqlx::Error> {
    let session = new_secret("sess_");
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(hash_token(&session))
        .bind(&user.id)
        .bind(now)
        .bind(now + SESSION_MILLIS)
        .execute(db.pool())
        .await?;
    Ok(session)
}

/// Ends a console session.
pub async fn delete_session(db: &Db, session: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash_token(session))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The value of cookie `name` in a request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<ApiContext> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, Error> {
        if ctx.config.auth == AuthMode::Local {
            return Ok(AuthUser {
                id: LOCAL_USER_ID.to_string(),
                name: "local".to_string(),
            });
        }
        if let Some(token) = bearer(parts) {
            return user_for_token(&ctx.db, token)
                .await?
                .ok_or(Error::Unauthorized);
        }
        if let Some(session) = cookie(parts, SESSION_COOKIE) {
            return user_for_session(&ctx.db, session)
                .await?
                .ok_or(Error::Unauthorized);
        }
        Err(Error::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = new_secret("orch_");
        let b = new_secret("orch_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 5 + 64);
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_ne!(hash_token(&a), a);
    }

    #[tokio::test]
    async fn tokens_find_their_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("t.sqlite")).await.unwrap();
        let (alice, token) = add_user(&db, "alice").await.unwrap();
        let found = user_for_token(&db, &token).await.unwrap().unwrap();
        assert_eq!(found.id, alice);
        assert!(user_for_token(&db, "orch_wrong").await.unwrap().is_none());
        assert_eq!(token_user_count(&db).await.unwrap(), 1);
        let session = create_session(&db, &found).await.unwrap();
        assert_eq!(
            user_for_session(&db, &session).await.unwrap().unwrap().name,
            "alice"
        );
        delete_session(&db, &session).await.unwrap();
        assert!(user_for_session(&db, &session).await.unwrap().is_none());
    }
}
