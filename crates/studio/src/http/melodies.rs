//! Melodies, the input of every composition: uploaded as MIDI, played on the console's keyboard
//! (JSON notes), or copied from a shipped sample. Also `GET /api/samples`.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orchestrion_music::Song;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::ApiContext;
use super::error::{Error, ErrorBody, Result};
use super::extract::{Page, PageQuery, PathParams, QueryParams};
use crate::auth::AuthUser;
use crate::db::{new_id, now_ms, rfc3339};
use crate::engine;
use crate::melody::{self, MeterJson, NoteJson, NotesMelody};
use crate::samples::{self, Sample};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/melodies", get(list).post(create))
        .route("/api/melodies/{id}", get(one))
        .route("/api/melodies/{id}/midi", get(midi))
        .route("/api/samples", get(list_samples))
}

/// A melody.
#[derive(Debug, Serialize, ToSchema)]
pub struct Melody {
    pub id: String,
    pub name: String,
    /// `upload`, `keyboard` or `sample`.
    pub source: String,
    pub tempo_bpm: f64,
    pub meter: MeterJson,
    pub bars: u32,
    pub note_count: u32,
    pub duration_beats: f64,
    /// The notes in beats (left out of lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<NoteJson>>,
    pub created_at: String,
}

/// The JSON forms of `POST /api/melodies`: `{"sample": id}` or notes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateMelodyJson {
    /// Copy a shipped sample (the other fields are then ignored).
    pub sample: Option<String>,
    pub name: Option<String>,
    pub tempo_bpm: Option<f64>,
    pub meter: Option<MeterJson>,
    pub notes: Option<Vec<NoteJson>>,
}

/// Shipped samples.
#[derive(Serialize, ToSchema)]
pub struct SampleList {
    pub items: Vec<Sample>,
}

#[derive(Debug, FromRow)]
pub struct MelodyRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub source: String,
    pub tempo_bpm: f64,
    pub meter_num: i64,
    pub meter_den: i64,
    pub bars: i64,
    pub note_count: i64,
    pub duration_beats: f64,
    pub song_key: String,
    pub created_at: i64,
}

impl MelodyRow {
    fn to_json(&self, notes: Option<Vec<NoteJson>>) -> Melody {
        Melody {
            id: self.id.clone(),
            name: self.name.clone(),
            source: self.source.clone(),
            tempo_bpm: self.tempo_bpm,
            meter: MeterJson {
                numerator: self.meter_num as u8,
                denominator: self.meter_den as u8,
            },
            bars: self.bars as u32,
            note_count: self.note_count as u32,
            duration_beats: self.duration_beats,
            notes,
            created_at: rfc3339(self.created_at),
        }
    }
}

/// A melody of `user` (another user's is "not found").
pub async fn find(ctx: &ApiContext, user: &AuthUser, id: &str) -> Result<MelodyRow> {
    sqlx::query_as("SELECT * FROM melodies WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(&user.id)
        .fetch_optional(ctx.db.pool())
        .await?
        .ok_or(Error::NotFound("melody"))
}

fn clean_name(name: Option<String>, fallback: &str) -> String {
    let name = name.unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    if name.is_empty() {
        fallback.to_string()
    } else {
        name
    }
}

/// Stores a melody song (blob first, then the row) and returns its row.
async fn store(
    ctx: &ApiContext,
    user: &AuthUser,
    name: String,
    source: &str,
    song: &Song,
) -> Result<MelodyRow> {
    let summary = melody::summarize(song);
    let id = new_id();
    let key = format!("melodies/{id}/song.json");
    ctx.blobs.put(&key, serde_json::to_vec(song)?).await?;
    let row: MelodyRow = sqlx::query_as(
        "INSERT INTO melodies (id, owner_id, name, source, tempo_bpm, meter_num, meter_den, bars, \
                               note_count, duration_beats, song_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(name)
    .bind(source)
    .bind(summary.tempo_bpm)
    .bind(i64::from(summary.meter.numerator))
    .bind(i64::from(summary.meter.denominator))
    .bind(i64::from(summary.bars))
    .bind(summary.note_count as i64)
    .bind(summary.duration_beats)
    .bind(&key)
    .bind(now_ms())
    .fetch_one(ctx.db.pool())
    .await?;
    Ok(row)
}

async fn from_multipart(ctx: &ApiContext, mut multipart: Multipart) -> Result<(String, Song)> {
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut name = None;
    while let Some(field) = multipart.next_field().await? {
        match field.name() {
            Some("file") => {
                let file_name = field.file_name().map(str::to_string);
                file = Some((file_name, field.bytes().await?.to_vec()));
            }
            Some("name") => name = Some(field.text().await?),
            _ => {}
        }
    }
    let (file_name, bytes) = file
        .ok_or_else(|| Error::BadRequest("the upload needs a 'file' part (a .mid file)".into()))?;
    let song = tokio::task::spawn_blocking(move || engine::read_midi(&bytes)).await??;
    let song = melody::melody_of_upload(song, &ctx.config.limits)?;
    let fallback = file_name
        .as_deref()
        .map(|f| {
            f.trim_end_matches(".mid")
                .trim_end_matches(".midi")
                .to_string()
        })
        .unwrap_or_else(|| "Uploaded melody".into());
    Ok((clean_name(name, &fallback), song))
}

#[utoipa::path(post, path = "/api/melodies", tag = "melodies",
    request_body(content(
        (CreateMelodyJson = "application/json"),
        (Object = "multipart/form-data")),
        description = "JSON notes or `{\"sample\": id}`; or multipart with a `file` part (.mid) and an optional `name` part"),
    responses((status = 201, body = Melody),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn create(State(ctx): State<ApiContext>, user: AuthUser, req: Request) -> Result<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (name, source, song) = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, &ctx).await?;
        let (name, song) = from_multipart(&ctx, multipart).await?;
        (name, "upload", song)
    } else if content_type.starts_with("application/json") {
        let axum::Json(body) = axum::Json::<CreateMelodyJson>::from_request(req, &ctx).await?;
        if let Some(sample_id) = body.sample {
            let sample = samples::find(&sample_id)
                .ok_or_else(|| Error::Validation(format!("no sample melody '{sample_id}'")))?;
            (sample.name.to_string(), "sample", sample.to_song())
        } else {
            let input = NotesMelody {
                name: body.name,
                tempo_bpm: body
                    .tempo_bpm
                    .ok_or_else(|| Error::Validation("tempo_bpm is required".into()))?,
                meter: body
                    .meter
                    .ok_or_else(|| Error::Validation("meter is required".into()))?,
                notes: body
                    .notes
                    .ok_or_else(|| Error::Validation("notes are required".into()))?,
            };
            let song = melody::song_from_notes(&input, &ctx.config.limits)?;
            (clean_name(input.name, "Keyboard melody"), "keyboard", song)
        }
    } else {
        return Err(Error::UnsupportedMediaType(
            "send application/json (notes or a sample) or multipart/form-data (a .mid file)".into(),
        ));
    };
    let row = store(&ctx, &user, name, source, &song).await?;
    let notes = melody::notes_in_beats(&song);
    Ok((StatusCode::CREATED, axum::Json(row.to_json(Some(notes)))).into_response())
}

#[utoipa::path(get, path = "/api/melodies", tag = "melodies", params(PageQuery),
    responses((status = 200, body = Page<Melody>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<axum::Json<Page<Melody>>> {
    let rows: Page<MelodyRow> = page
        .fetch_owned(
            ctx.db.pool(),
            &user.id,
            "SELECT * FROM melodies WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
            "SELECT COUNT(*) FROM melodies WHERE owner_id = $1",
        )
        .await?;
    Ok(axum::Json(rows.try_map(|r| Ok(r.to_json(None)))?))
}

#[utoipa::path(get, path = "/api/melodies/{id}", tag = "melodies",
    params(("id" = String, Path, description = "Melody id")),
    responses((status = 200, body = Melody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn one(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Melody>> {
    let row = find(&ctx, &user, &id).await?;
    let song: Song = serde_json::from_slice(&ctx.blobs.get(&row.song_key).await?)?;
    Ok(axum::Json(row.to_json(Some(melody::notes_in_beats(&song)))))
}

#[utoipa::path(get, path = "/api/melodies/{id}/midi", tag = "melodies",
    params(("id" = String, Path, description = "Melody id")),
    responses((status = 200, description = "Standard MIDI File", content_type = "audio/midi"),
              (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn midi(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let row = find(&ctx, &user, &id).await?;
    let song: Song = serde_json::from_slice(&ctx.blobs.get(&row.song_key).await?)?;
    let bytes = engine::write_midi(&song)?;
    Ok(midi_response(bytes, &row.name))
}

/// A MIDI file download.
pub fn midi_response(bytes: Vec<u8>, name: &str) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "audio/midi".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}.mid\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/samples", tag = "melodies",
    responses((status = 200, body = SampleList)))]
async fn list_samples() -> axum::Json<SampleList> {
    axum::Json(SampleList {
        items: samples::all(),
    })
}
