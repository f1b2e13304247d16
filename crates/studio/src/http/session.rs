//! Who am I, what are the rules (`/api/info`, `/api/me`), and the console's sign-in:
//! `POST /api/session` trades an API token for an HttpOnly session cookie.

use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiContext;
use super::error::{Error, Result};
use super::extract::JsonBody;
use crate::auth::{self, AuthUser, SESSION_COOKIE};
use crate::config::{AuthMode, Limits};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/me", get(me))
        .route(
            "/api/session",
            axum::routing::post(sign_in).delete(sign_out),
        )
}

/// What a client needs to know before it starts.
#[derive(Serialize, ToSchema)]
pub struct Info {
    pub version: String,
    pub auth: AuthMode,
    pub limits: Limits,
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub name: String,
}

/// Sign-in with an API token.
#[derive(Deserialize, ToSchema)]
pub struct SignIn {
    pub token: String,
}

#[utoipa::path(get, path = "/api/info", tag = "session",
    responses((status = 200, description = "Version, auth mode and limits", body = Info)))]
async fn info(State(ctx): State<ApiContext>) -> axum::Json<Info> {
    axum::Json(Info {
        version: env!("CARGO_PKG_VERSION").to_string(),
        auth: ctx.config.auth,
        limits: ctx.config.limits.clone(),
    })
}

#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = super::error::ErrorBody)))]
async fn me(user: AuthUser) -> axum::Json<Me> {
    axum::Json(Me {
        id: user.id,
        name: user.name,
    })
}

#[utoipa::path(post, path = "/api/session", tag = "session", request_body = SignIn,
    responses((status = 204, description = "Signed in; the session cookie is set"),
              (status = 401, body = super::error::ErrorBody),
              (status = 422, body = super::error::ErrorBody)))]
async fn sign_in(
    State(ctx): State<ApiContext>,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response> {
    if ctx.config.auth == AuthMode::Local {
        // Nothing to sign in to: every request is the local user already.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let user = auth::user_for_token(&ctx.db, body.token.trim())
        .await?
        .ok_or(Error::Unauthorized)?;
    let session = auth::create_session(&ctx.db, &user).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        auth::SESSION_MILLIS / 1000
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[utoipa::path(delete, path = "/api/session", tag = "session",
    responses((status = 204, description = "Signed out; the cookie is cleared")))]
async fn sign_out(State(ctx): State<ApiContext>, parts: Parts) -> Result<Response> {
    if let Some(session) = auth::cookie(&parts, SESSION_COOKIE) {
        auth::delete_session(&ctx.db, session).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}
