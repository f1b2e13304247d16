//! Compositions: ask for an arrangement (a job does the work), follow it, fetch the result as
//! MIDI, WAV or piano-roll JSON, delete it. Private to their owner.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orchestrion_music::Song;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::ApiContext;
use super::error::{Error, ErrorBody, Result};
use super::extract::{JsonBody, Page, PageQuery, PathParams, QueryParams};
use super::jobs::{Job, job_json};
use super::melodies::midi_response;
use crate::auth::AuthUser;
use crate::db::{new_id, now_ms, rfc3339};
use crate::engine::{self, CompositionMetrics};
use crate::jobs::compose::{ComposePayload, TrackSummary, load_song};
use crate::jobs::queue::{self, NewJob};
use crate::melody::{self, Roll, parse_role};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/compositions", get(list).post(create))
        .route("/api/compositions/{id}", get(one).delete(remove))
        .route("/api/compositions/{id}/midi", get(midi))
        .route("/api/compositions/{id}/wav", get(wav))
        .route("/api/compositions/{id}/roll", get(roll))
}

/// Seeds stay exact in JavaScript.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// Lock-and-regenerate: keep some tracks of an earlier composition.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LockRequest {
    pub composition_id: String,
    pub roles: Vec<String>,
}

/// `POST /api/compositions`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ComposeRequest {
    pub melody_id: String,
    pub model: String,
    /// 1-256; default: the melody's length in bars.
    pub bars: Option<u32>,
    /// 0 ..= 2^53-1; random when absent.
    pub seed: Option<u64>,
    /// 1-8, default 1.
    pub candidates: Option<u32>,
    pub lock: Option<LockRequest>,
}

/// A public link to a composition.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareInfo {
    pub token: String,
    pub url: String,
    pub created_at: String,
}

/// Where a composition's results are.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompositionLinks {
    pub midi: String,
    pub wav: String,
    pub roll: String,
}

/// A composition.
#[derive(Debug, Serialize, ToSchema)]
pub struct Composition {
    pub id: String,
    /// queued | running | succeeded | failed | cancelled
    pub status: String,
    pub melody_id: String,
    pub melody_name: String,
    pub model: String,
    pub bars: u32,
    pub seed: u64,
    pub candidates: u32,
    pub locked_roles: Vec<String>,
    pub parent_id: Option<String>,
    pub model_hash: Option<String>,
    pub critic_score: Option<f64>,
    /// Musical metrics of the generated song, when succeeded and measured; `null` otherwise.
    pub metrics: Option<CompositionMetrics>,
    /// How the critic ranked the candidates, when succeeded.
    pub ranking: Option<Ranking>,
    pub tracks: Option<Vec<TrackSummary>>,
    pub error: Option<super::error::ErrorDetail>,
    pub job_id: String,
    pub share: Option<ShareInfo>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub links: CompositionLinks,
}

/// One candidate of a composition and the critic's score of it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CandidateScore {
    pub seed: u64,
    pub critic_score: f64,
}

/// The critic's ranking of a composition's candidates, best first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Ranking {
    /// The seed of the candidate kept (compose again with it and one candidate to reproduce).
    pub chosen_seed: u64,
    pub candidates: Vec<CandidateScore>,
}

/// The answer to `POST /api/compositions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub composition: Composition,
    pub job: Job,
}

#[derive(Debug, FromRow)]
pub struct CompositionRow {
    pub id: String,
    pub owner_id: String,
    pub melody_id: String,
    pub model: String,
    pub bars: i64,
    pub seed: i64,
    pub candidates: i64,
    pub locked_roles: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub model_hash: Option<String>,
    pub critic_score: Option<f64>,
    pub metrics: Option<String>,
    pub music_metrics: Option<String>,
    pub tracks: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub job_id: String,
    pub song_key: Option<String>,
    pub midi_key: Option<String>,
    pub wav_key: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub melody_name: String,
    pub share_token: Option<String>,
    pub share_created_at: Option<i64>,
}

impl CompositionRow {
    pub fn to_json(&self) -> Composition {
        let base = format!("/api/compositions/{}", self.id);
        Composition {
            id: self.id.clone(),
            status: self.status.clone(),
            melody_id: self.melody_id.clone(),
            melody_name: self.melody_name.clone(),
            model: self.model.clone(),
            bars: self.bars as u32,
            seed: self.seed as u64,
            candidates: self.candidates as u32,
            locked_roles: serde_json::from_str(&self.locked_roles).unwrap_or_default(),
            parent_id: self.parent_id.clone(),
            model_hash: self.model_hash.clone(),
            critic_score: self.critic_score,
            metrics: self
                .music_metrics
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            ranking: self
                .metrics
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            tracks: self
                .tracks
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            error: self
                .error_code
                .as_ref()
                .map(|code| super::error::ErrorDetail {
                    code: code.clone(),
                    message: self.error_message.clone().unwrap_or_default(),
                }),
            job_id: self.job_id.clone(),
            share: self.share_token.as_ref().map(|token| ShareInfo {
                token: token.clone(),
                url: format!("/s/{token}"),
                created_at: rfc3339(self.share_created_at.unwrap_or(0)),
            }),
            created_at: rfc3339(self.created_at),
            finished_at: self.finished_at.map(rfc3339),
            links: CompositionLinks {
                midi: format!("{base}/midi"),
                wav: format!("{base}/wav"),
                roll: format!("{base}/roll"),
            },
        }
    }
}

/// A composition of `user` (another user's is "not found").
pub async fn find(ctx: &ApiContext, user: &AuthUser, id: &str) -> Result<CompositionRow> {
    sqlx::query_as(
        "SELECT c.*, m.name AS melody_name, s.token AS share_token, s.created_at AS share_created_at \
         FROM compositions c JOIN melodies m ON m.id = c.melody_id \
         LEFT JOIN share_links s ON s.composition_id = c.id WHERE c.id = $1 AND c.owner_id = $2",
    )
        .bind(id)
        .bind(&user.id)
        .fetch_optional(ctx.db.pool())
        .await?
        .ok_or(Error::NotFound("composition"))
}

/// The stored song of a finished composition.
pub async fn finished_song(ctx: &ApiContext, row: &CompositionRow) -> Result<Song> {
    match (&row.status[..], &row.song_key) {
        (queue::SUCCEEDED, Some(key)) => load_song(ctx, key).await,
        _ => Err(Error::NotReady(format!(
            "the composition is {}, not ready",
            row.status
        ))),
    }
}

#[utoipa::path(post, path = "/api/compositions", tag = "compositions", request_body = ComposeRequest,
    responses((status = 202, body = Accepted),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn create(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    JsonBody(req): JsonBody<ComposeRequest>,
) -> Result<Response> {
    let limits = &ctx.config.limits;
    let melody = super::melodies::find(&ctx, &user, &req.melody_id).await?;
    let model = ctx
        .models
        .get(&req.model)
        .ok_or_else(|| Error::Validation(format!("no model named '{}'", req.model)))?;
    let bars = req.bars.unwrap_or(melody.bars as u32);
    if bars == 0 || bars > limits.max_bars {
        return Err(Error::Validation(format!(
            "bars must be 1-{}, not {bars}",
            limits.max_bars
        )));
    }
    let candidates = req.candidates.unwrap_or(1);
    if candidates == 0 || candidates > limits.max_candidates {
        return Err(Error::Validation(format!(
            "candidates must be 1-{}, not {candidates}",
            limits.max_candidates
        )));
    }
    let seed = match req.seed {
        Some(s) if s > MAX_SEED => {
            return Err(Error::Validation(format!(
                "seed must be at most {MAX_SEED}"
            )));
        }
        Some(s) => s,
        None => rand::rng().random_range(0..=MAX_SEED),
    };
    let meter = (melody.meter_num as u8, melody.meter_den as u8);
    if !model.info.meters.is_empty() && !model.info.meters.contains(&meter) {
        return Err(Error::Validation(format!(
            "model '{}' knows the meters {:?}, not {}/{}",
            req.model, model.info.meters, meter.0, meter.1
        )));
    }
    let (parent_id, locked_roles) = match &req.lock {
        None => (None, Vec::new()),
        Some(lock) => {
            let parent = find(&ctx, &user, &lock.composition_id).await?;
            if parent.status != queue::SUCCEEDED {
                return Err(Error::NotReady(
                    "the composition to lock tracks from is not finished".into(),
                ));
            }
            let mut roles = Vec::new();
            for r in &lock.roles {
                let role = parse_role(r)?;
                roles.push(melody::role_name(role));
            }
            (Some(parent.id), roles)
        }
    };

    let id = new_id();
    let mut tx = ctx.db.begin().await?;
    let job = queue::enqueue(
        &mut tx,
        NewJob {
            queue: queue::COMPOSE,
            payload: serde_json::to_value(ComposePayload {
                composition_id: id.clone(),
            })?,
            owner_id: &user.id,
            resource_type: "composition",
            resource_id: &id,
            max_attempts: ctx.config.max_attempts,
        },
        limits.max_jobs_per_user,
    )
    .await?;
    sqlx::query(
        "INSERT INTO compositions (id, owner_id, melody_id, model, bars, seed, candidates, locked_roles, \
                                   parent_id, status, job_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&melody.id)
    .bind(&req.model)
    .bind(i64::from(bars))
    .bind(seed as i64)
    .bind(i64::from(candidates))
    .bind(serde_json::to_string(&locked_roles)?)
    .bind(parent_id)
    .bind(&job.id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    ctx.signals.new_job.notify_one();

    let row = find(&ctx, &user, &id).await?;
    let location = format!("/api/compositions/{id}");
    let body = Accepted {
        composition: row.to_json(),
        job: job_json(&job),
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        axum::Json(body),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/compositions", tag = "compositions", params(PageQuery),
    responses((status = 200, body = Page<Composition>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<axum::Json<Page<Composition>>> {
    let rows: Page<CompositionRow> = page
        .fetch_owned(
            ctx.db.pool(),
            &user.id,
            "SELECT c.*, m.name AS melody_name, s.token AS share_token, s.created_at AS share_created_at \
             FROM compositions c JOIN melodies m ON m.id = c.melody_id \
             LEFT JOIN share_links s ON s.composition_id = c.id \
             WHERE c.owner_id = $1 ORDER BY c.created_at DESC, c.id LIMIT $2 OFFSET $3",
            "SELECT COUNT(*) FROM compositions WHERE owner_id = $1",
        )
        .await?;
    Ok(axum::Json(rows.try_map(|r| Ok(r.to_json()))?))
}

#[utoipa::path(get, path = "/api/compositions/{id}", tag = "compositions",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 200, body = Composition), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn one(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Composition>> {
    Ok(axum::Json(find(&ctx, &user, &id).await?.to_json()))
}

/// The MIDI bytes of a finished composition (stored, or written from the song).
pub async fn midi_bytes(ctx: &ApiContext, row: &CompositionRow) -> Result<Vec<u8>> {
    if row.status == queue::SUCCEEDED
        && let Some(key) = &row.midi_key
    {
        return Ok(ctx.blobs.get(key).await?.to_vec());
    }
    let song = finished_song(ctx, row).await?;
    engine::write_midi(&song)
}

/// Blob key of a composition's rendered mix.
pub fn wav_key(composition_id: &str) -> String {
    format!("compositions/{composition_id}/composition.wav")
}

/// The WAV bytes of a finished composition: rendered once, on first request, by the server's
/// shared renderer, then kept as a blob. Concurrent first requests wait for the one render.
pub async fn wav_bytes(ctx: &ApiContext, row: &CompositionRow) -> Result<Vec<u8>> {
    if row.status == queue::SUCCEEDED
        && let Some(key) = &row.wav_key
    {
        return Ok(ctx.blobs.get(key).await?.to_vec());
    }
    let song = finished_song(ctx, row).await?;
    let _rendering = ctx.audio.lock(&row.id).await;
    // Another request may have rendered it while this one waited.
    let stored: Option<(Option<String>,)> =
        sqlx::query_as("SELECT wav_key FROM compositions WHERE id = $1")
            .bind(&row.id)
            .fetch_optional(ctx.db.pool())
            .await?;
    if let Some((Some(key),)) = stored {
        return Ok(ctx.blobs.get(&key).await?.to_vec());
    }
    let permit = ctx
        .compute
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Error::Unavailable("shutting down".into()))?;
    let audio = ctx.audio.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        audio.render_wav(&song)
    })
    .await??;
    // The blob is whole before the row names it.
    let key = wav_key(&row.id);
    ctx.blobs.put(&key, bytes.clone()).await?;
    sqlx::query("UPDATE compositions SET wav_key = $1 WHERE id = $2")
        .bind(&key)
        .bind(&row.id)
        .execute(ctx.db.pool())
        .await?;
    Ok(bytes)
}

/// A WAV download.
pub fn wav_response(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response()
}

#[utoipa::path(get, path = "/api/compositions/{id}/midi", tag = "compositions",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 200, description = "Standard MIDI File", content_type = "audio/midi"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn midi(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let row = find(&ctx, &user, &id).await?;
    let bytes = midi_bytes(&ctx, &row).await?;
    Ok(midi_response(
        bytes,
        &format!("{}-{}", row.melody_name, row.model),
    ))
}

#[utoipa::path(get, path = "/api/compositions/{id}/wav", tag = "compositions",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 200, description = "16-bit PCM WAV", content_type = "audio/wav"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn wav(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let row = find(&ctx, &user, &id).await?;
    Ok(wav_response(wav_bytes(&ctx, &row).await?))
}

#[utoipa::path(get, path = "/api/compositions/{id}/roll", tag = "compositions",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 200, body = Roll), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn roll(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Roll>> {
    let row = find(&ctx, &user, &id).await?;
    let song = finished_song(&ctx, &row).await?;
    Ok(axum::Json(melody::roll_of(&song)))
}

#[utoipa::path(delete, path = "/api/compositions/{id}", tag = "compositions",
    params(("id" = String, Path, description = "Composition id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn remove(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode> {
    let row = find(&ctx, &user, &id).await?;
    // Stop the work first, so no worker writes blobs after they are deleted.
    let _ = queue::request_cancel(&ctx.db, &row.job_id, &user.id).await;
    let mut tx = ctx.db.begin().await?;
    sqlx::query("DELETE FROM share_links WHERE composition_id = $1")
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM compositions WHERE id = $1 AND owner_id = $2")
        .bind(&row.id)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Blobs go after the row: a crash in between leaves an orphan blob, never a row that
    // points at nothing.
    for key in [&row.song_key, &row.midi_key, &row.wav_key]
        .into_iter()
        .flatten()
    {
        if let Err(e) = ctx.blobs.delete(key).await {
            tracing::warn!(%key, error = %e, "blob of a deleted composition not removed");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
