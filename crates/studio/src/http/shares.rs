//! Share links: a random 128-bit token gives anyone read-only access to one finished
//! composition until its owner revokes it. The public reads carry no ids and no owner.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngCore;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiContext;
use super::compositions::{
    CompositionRow, ShareInfo, finished_song, midi_bytes, wav_bytes, wav_response,
};
use super::error::{Error, ErrorBody, Result};
use super::extract::PathParams;
use super::melodies::midi_response;
use crate::auth::AuthUser;
use crate::db::{now_ms, rfc3339};
use crate::jobs::queue;
use crate::melody::{self, Roll};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/compositions/{id}/share", post(share).delete(revoke))
        .route("/api/shared/{token}", get(shared))
        .route("/api/shared/{token}/midi", get(shared_midi))
        .route("/api/shared/{token}/wav", get(shared_wav))
}

/// Public downloads of a shared composition.
#[derive(Serialize, ToSchema)]
pub struct SharedLinks {
    pub midi: String,
    pub wav: String,
}

/// What the public page shows.
#[derive(Serialize, ToSchema)]
pub struct Shared {
    pub token: String,
    pub title: String,
    pub model: String,
    pub model_hash: Option<String>,
    pub seed: u64,
    pub bars: u32,
    pub created_at: String,
    pub roll: Roll,
    pub links: SharedLinks,
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[utoipa::path(post, path = "/api/compositions/{id}/share", tag = "sharing",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 201, body = ShareInfo), (status = 200, description = "Already shared", body = ShareInfo),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn share(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let row = super::compositions::find(&ctx, &user, &id).await?;
    if row.status != queue::SUCCEEDED {
        return Err(Error::NotReady(
            "only a finished composition can be shared".into(),
        ));
    }
    if let Some(token) = row.share_token {
        let info = ShareInfo {
            url: format!("/s/{token}"),
            token,
            created_at: rfc3339(row.share_created_at.unwrap_or(0)),
        };
        return Ok((StatusCode::OK, axum::Json(info)).into_response());
    }
    let token = new_token();
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO share_links (token, composition_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&token)
    .bind(&row.id)
    .bind(now)
    .execute(ctx.db.pool())
    .await?;
    if inserted.rows_affected() == 0 {
        // A concurrent request shared it first: answer with that link.
        let row = super::compositions::find(&ctx, &user, &id).await?;
        let token = row
            .share_token
            .ok_or(Error::Conflict("share link changed concurrently".into()))?;
        let info = ShareInfo {
            url: format!("/s/{token}"),
            token,
            created_at: rfc3339(row.share_created_at.unwrap_or(0)),
        };
        return Ok((StatusCode::OK, axum::Json(info)).into_response());
    }
    let info = ShareInfo {
        url: format!("/s/{token}"),
        token,
        created_at: rfc3339(now),
    };
    Ok((StatusCode::CREATED, axum::Json(info)).into_response())
}

#[utoipa::path(delete, path = "/api/compositions/{id}/share", tag = "sharing",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 204, description = "Revoked (or was not shared)"), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
async fn revoke(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode> {
    let row = super::compositions::find(&ctx, &user, &id).await?;
    sqlx::query("DELETE FROM share_links WHERE composition_id = $1")
        .bind(&row.id)
        .execute(ctx.db.pool())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The composition behind a live token.
async fn by_token(ctx: &ApiContext, token: &str) -> Result<CompositionRow> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound("shared composition"));
    }
    sqlx::query_as(
        "SELECT c.*, m.name AS melody_name, s.token AS share_token, s.created_at AS share_created_at \
         FROM share_links s JOIN compositions c ON c.id = s.composition_id \
         JOIN melodies m ON m.id = c.melody_id WHERE s.token = $1",
    )
    .bind(token)
    .fetch_optional(ctx.db.pool())
    .await?
    .ok_or(Error::NotFound("shared composition"))
}

#[utoipa::path(get, path = "/api/shared/{token}", tag = "sharing",
    params(("token" = String, Path, description = "Share token")),
    responses((status = 200, body = Shared), (status = 404, body = ErrorBody)))]
async fn shared(
    State(ctx): State<ApiContext>,
    PathParams(token): PathParams<String>,
) -> Result<axum::Json<Shared>> {
    let row = by_token(&ctx, &token).await?;
    let song = finished_song(&ctx, &row).await?;
    Ok(axum::Json(Shared {
        title: format!("{} — {}", row.melody_name, row.model),
        model: row.model.clone(),
        model_hash: row.model_hash.clone(),
        seed: row.seed as u64,
        bars: row.bars as u32,
        created_at: rfc3339(row.created_at),
        roll: melody::roll_of(&song),
        links: SharedLinks {
            midi: format!("/api/shared/{token}/midi"),
            wav: format!("/api/shared/{token}/wav"),
        },
        token,
    }))
}

#[utoipa::path(get, path = "/api/shared/{token}/midi", tag = "sharing",
    params(("token" = String, Path, description = "Share token")),
    responses((status = 200, description = "Standard MIDI File", content_type = "audio/midi"),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn shared_midi(
    State(ctx): State<ApiContext>,
    PathParams(token): PathParams<String>,
) -> Result<Response> {
    let row = by_token(&ctx, &token).await?;
    let bytes = midi_bytes(&ctx, &row).await?;
    Ok(midi_response(
        bytes,
        &format!("{}-{}", row.melody_name, row.model),
    ))
}

#[utoipa::path(get, path = "/api/shared/{token}/wav", tag = "sharing",
    params(("token" = String, Path, description = "Share token")),
    responses((status = 200, description = "16-bit PCM WAV", content_type = "audio/wav"),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn shared_wav(
    State(ctx): State<ApiContext>,
    PathParams(token): PathParams<String>,
) -> Result<Response> {
    let row = by_token(&ctx, &token).await?;
    Ok(wav_response(wav_bytes(&ctx, &row).await?))
}
