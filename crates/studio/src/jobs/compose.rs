//! The compose job: melody + model → arranged song, stored as blobs, then the row.
//!
//! Order matters for crash safety: the song and its MIDI are written under keys that depend
//! only on the composition id, *then* one transaction marks the job succeeded (fenced by the
//! lease) and points the composition row at the blobs. A crash before the commit re-runs the
//! job, which overwrites the same keys with whole new objects.

use std::sync::Arc;

use orchestrion_model::GenerateOptions;
use orchestrion_music::{Song, TrackRole};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::queue::{self, Claimed};
use super::{JobControl, JobFailure};
use crate::engine;
use crate::http::ApiContext;
use crate::melody::{parse_role, role_name};

/// The payload of a compose job.
#[derive(Debug, Serialize, Deserialize)]
pub struct ComposePayload {
    pub composition_id: String,
}

/// What a compose job reads from its composition row.
#[derive(Debug, FromRow)]
struct ComposeInput {
    melody_id: String,
    model: String,
    bars: i64,
    seed: i64,
    candidates: i64,
    locked_roles: String,
    parent_id: Option<String>,
}

/// One generated track, as the composition row summarizes it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackSummary {
    pub role: String,
    pub program: u8,
    pub note_count: usize,
}

/// Blob key of a composition's song (JSON of `music::Song`).
pub fn song_key(composition_id: &str) -> String {
    format!("compositions/{composition_id}/song.json")
}

/// Blob key of a composition's MIDI file.
pub fn midi_key(composition_id: &str) -> String {
    format!("compositions/{composition_id}/composition.mid")
}

/// Reads a stored song.
pub async fn load_song(ctx: &ApiContext, key: &str) -> Result<Song, crate::http::error::Error> {
    let bytes = ctx.blobs.get(key).await?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The notes of the melody a model reads from an input song: its melody track, else its first
/// pitched track with notes (the same choice the model crate makes).
fn input_melody_notes(song: &Song) -> Vec<orchestrion_music::Note> {
    song.tracks
        .iter()
        .find(|t| t.role == TrackRole::Melody && !t.notes.is_empty())
        .or_else(|| {
            song.tracks
                .iter()
                .find(|t| !t.is_drum && !t.notes.is_empty())
        })
        .map(|t| t.notes.clone())
        .unwrap_or_default()
}

pub async fn run(
    ctx: &ApiContext,
    claimed: &Claimed,
    control: &Arc<JobControl>,
) -> Result<(), JobFailure> {
    let payload: ComposePayload = serde_json::from_str(&claimed.job.payload).map_err(|e| {
        JobFailure::permanent("bad_payload", format!("unreadable job payload: {e}"))
    })?;
    let id = payload.composition_id;
    control.set(0.05, "loading melody");
    let input: Option<ComposeInput> = sqlx::query_as(
        "SELECT melody_id, model, bars, seed, candidates, locked_roles, parent_id FROM compositions WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(ctx.db.pool())
    .await
    .map_err(crate::http::error::Error::from)?;
    let Some(input) = input else {
        return Err(JobFailure::permanent(
            "not_found",
            "the composition was deleted",
        ));
    };
    let (melody_key,): (String,) = sqlx::query_as("SELECT song_key FROM melodies WHERE id = $1")
        .bind(&input.melody_id)
        .fetch_optional(ctx.db.pool())
        .await
        .map_err(crate::http::error::Error::from)?
        .ok_or_else(|| JobFailure::permanent("not_found", "the melody was deleted"))?;
    let melody = load_song(ctx, &melody_key).await?;

    let lock = match &input.parent_id {
        None => None,
        Some(parent) => {
            let (key,): (Option<String>,) =
                sqlx::query_as("SELECT song_key FROM compositions WHERE id = $1")
                    .bind(parent)
                    .fetch_optional(ctx.db.pool())
                    .await
                    .map_err(crate::http::error::Error::from)?
                    .ok_or_else(|| {
                        JobFailure::permanent("not_found", "the locked composition was deleted")
                    })?;
            let key = key.ok_or_else(|| {
                JobFailure::permanent("not_ready", "the locked composition has no result")
            })?;
            let roles: Vec<String> = serde_json::from_str(&input.locked_roles).unwrap_or_default();
            let roles: Vec<TrackRole> = roles.iter().filter_map(|r| parse_role(r).ok()).collect();
            Some((load_song(ctx, &key).await?, roles))
        }
    };

    let Some(model) = ctx.models.get(&input.model) else {
        return Err(JobFailure::permanent(
            "model_unavailable",
            format!("model '{}' is not loaded on this server", input.model),
        ));
    };
    if let Some(stop) = control.stop_reason() {
        return Err(stop);
    }
    control.set(0.2, "generating");
    let options = GenerateOptions {
        bars: Some(input.bars as u32),
        seed: input.seed as u64,
        candidates: input.candidates as u32,
        lock,
        swing: None,
    };
    // Generation is CPU work: off the async threads, and capped so requests keep being served.
    let permit = ctx
        .compute
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| JobFailure::transient("shutting down"))?;
    let bars = input.bars as usize;
    let (generated, measured) = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let generated = model.model.generate(&melody, &options)?;
        // Measured here, on the song that is stored, so the numbers describe this result.
        let measured = engine::composition_metrics(
            &input_melody_notes(&melody),
            &generated.song,
            model.info.steps_per_beat,
            bars,
        );
        Ok::<_, orchestrion_model::Error>((generated, measured))
    })
    .await
    .map_err(|e| JobFailure::transient(format!("generation thread: {e}")))?
    .map_err(|e| JobFailure::permanent("generation_failed", e.to_string()))?;
    // A song that cannot be measured is still a result; its metrics stay absent, not made up.
    let music_metrics = match measured {
        Ok(m) => Some(serde_json::to_string(&m).map_err(|e| JobFailure::transient(e.to_string()))?),
        Err(e) => {
            tracing::warn!(composition = %id, error = %e, "composition metrics not computed");
            None
        }
    };
    if let Some(stop) = control.stop_reason() {
        return Err(stop);
    }

    control.set(0.85, "storing");
    let song_json =
        serde_json::to_vec(&generated.song).map_err(|e| JobFailure::transient(e.to_string()))?;
    ctx.blobs
        .put(&song_key(&id), song_json)
        .await
        .map_err(crate::http::error::Error::from)?;
    // MIDI is also made on request from the song, so a build without the writer still works.
    let midi = match engine::write_midi(&generated.song) {
        Ok(bytes) => {
            ctx.blobs
                .put(&midi_key(&id), bytes)
                .await
                .map_err(crate::http::error::Error::from)?;
            Some(midi_key(&id))
        }
        Err(_) => None,
    };
    let tracks: Vec<TrackSummary> = generated
        .song
        .tracks
        .iter()
        .map(|t| TrackSummary {
            role: role_name(t.role),
            program: t.program,
            note_count: t.notes.len(),
        })
        .collect();
    let ranking = serde_json::json!({
        "chosen_seed": generated.seed,
        "candidates": generated.candidates.iter()
            .map(|(seed, score)| serde_json::json!({"seed": seed, "critic_score": score}))
            .collect::<Vec<_>>(),
    });

    let mut tx = ctx
        .db
        .begin()
        .await
        .map_err(crate::http::error::Error::from)?;
    if !queue::complete(&mut tx, claimed).await? {
        return Err(JobFailure::LeaseLost);
    }
    sqlx::query(
        "UPDATE compositions SET status = 'succeeded', model_hash = $1, critic_score = $2, metrics = $3, \
             music_metrics = $4, tracks = $5, song_key = $6, midi_key = $7, finished_at = $8, \
             error_code = NULL, error_message = NULL \
         WHERE id = $9",
    )
    .bind(&generated.model_hash)
    .bind(f64::from(generated.critic_score))
    .bind(ranking.to_string())
    .bind(music_metrics)
    .bind(serde_json::to_string(&tracks).unwrap_or_default())
    .bind(song_key(&id))
    .bind(midi)
    .bind(crate::db::now_ms())
    .bind(&id)
    .execute(&mut *tx)
    .await
    .map_err(crate::http::error::Error::from)?;
    tx.commit().await.map_err(crate::http::error::Error::from)?;
    Ok(())
}
