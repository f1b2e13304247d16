//! The training job: an uploaded archive or a shipped recipe → a genre model, with loss and
//! metric events streamed as it goes.
//!
//! The run lives in `<data-dir>/training/<run id>/`: `midi/` (the archive's files), `data/`
//! (the built dataset), `run/` (the trainer's checkpoint, `events.jsonl` and samples). The
//! trainer writes its checkpoint folder atomically, and a retried attempt resumes from it, so a
//! crash loses at most the steps since the last checkpoint. The CPU work runs on a blocking
//! thread; it reports each step through a channel that this task turns into job events, and it
//! stops between steps when the heartbeat saw a cancel (or lost the lease).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use orchestrion_dataset::{Dataset, LoadedRecipe, Recipe, Silent};
use orchestrion_metrics::MetricsReport;
use orchestrion_model::training::{Evaluation, StepLosses, TrainOptions, Trainer};
use orchestrion_music::TrackRole;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::queue::{self, Claimed};
use super::{JobControl, JobFailure};
use crate::http::ApiContext;
use crate::http::training::TrainingConfig;
use crate::melody::parse_role;

#[derive(Debug, Deserialize)]
struct TrainPayload {
    training_run_id: String,
}

#[derive(Debug, sqlx::FromRow)]
struct RunInput {
    config: String,
    archive_key: Option<String>,
}

/// The folder of a run's files under the data folder.
pub fn run_dir(data_dir: &Path, run_id: &str) -> PathBuf {
    data_dir.join("training").join(run_id)
}

/// Where a run's trainer keeps its checkpoint, events and samples.
pub fn trainer_dir(data_dir: &Path, run_id: &str) -> PathBuf {
    run_dir(data_dir, run_id).join("run")
}

/// The sample MIDI the trainer wrote for `step` (the first validation melody).
pub fn sample_path(data_dir: &Path, run_id: &str, step: u64) -> PathBuf {
    trainer_dir(data_dir, run_id)
        .join("samples")
        .join(format!("step-{step:06}-0.mid"))
}

/// What the blocking trainer tells the job task.
enum Report {
    Step(StepLosses),
    Eval(Box<Evaluation>),
}

/// Reads one metric of a track.
type MetricOf = fn(&orchestrion_metrics::TrackMetrics) -> Option<f64>;

/// The accompaniment metrics of a report as one flat map with the names the console charts
/// (`EB`, `UPC`, `PR`, `QN`, `DP`, `in_scale`): each the mean over the roles that define it.
pub fn flat_metrics(report: &MetricsReport) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let tracks: Vec<_> = report
        .tracks
        .iter()
        .filter(|t| t.role != TrackRole::Melody)
        .collect();
    let pick: [(&str, MetricOf); 6] = [
        ("EB", |t| t.empty_bar_rate),
        ("UPC", |t| t.used_pitch_classes),
        ("PR", |t| t.polyphonic_rate),
        ("QN", |t| t.qualified_note_rate),
        ("DP", |t| t.drum_pattern),
        ("in_scale", |t| t.in_scale_rate),
    ];
    for (name, get) in pick {
        let values: Vec<f64> = tracks
            .iter()
            .filter_map(|t| get(t))
            .filter(|v| v.is_finite())
            .collect();
        if !values.is_empty() {
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            out.insert(name.into(), serde_json::json!(mean));
        }
    }
    serde_json::Value::Object(out)
}

/// Words in a track name that mark the tune.
const MELODY_WORDS: [&str; 7] = [
    "melody", "lead", "vocal", "voice", "soprano", "tune", "theme",
];

/// GM program ranges that feed each pitched role of an uploaded archive.
fn programs_of(role: TrackRole) -> Option<(u8, u8, u8)> {
    // (lowest, highest, program written at export)
    Some(match role {
        TrackRole::Piano => (0, 23, 0),
        TrackRole::Guitar => (24, 31, 25),
        TrackRole::Bass => (32, 39, 33),
        TrackRole::Strings => (40, 55, 48),
        TrackRole::Brass => (56, 63, 61),
        TrackRole::Reed => (64, 79, 65),
        TrackRole::Pad => (88, 95, 89),
        TrackRole::Other => (80, 127, 81),
        _ => return None,
    })
}

/// The recipe that turns an uploaded archive into training windows: the melody is the track
/// named like one (or, when no file names one, the highest pitched track); each role takes the
/// tracks in its GM program family, drums the percussion channel.
fn archive_recipe(roles: &[TrackRole], named_melody: bool) -> String {
    let mut text = String::from(
        "name = \"upload\"\n\
         [source]\ndatasets_dir = \".\"\nfolders = [\"midi\"]\n\
         [grid]\nsteps_per_beat = 4\nwindow_bars = 4\nhop_bars = 2\nmeters = [\"4/4\", \"3/4\"]\n\
         [melody]\nmonophonic = true\n",
    );
    if named_melody {
        text.push_str(&format!("name = \"{}\"\n", MELODY_WORDS.join("|")));
    } else {
        text.push_str("highest = true\n");
    }
    for role in roles {
        let name = crate::melody::role_name(*role);
        if *role == TrackRole::Drums {
            text.push_str(&format!(
                "[[roles]]\nrole = \"{name}\"\nfrom = [{{ drums = true }}]\n"
            ));
        } else if let Some((lo, hi, program)) = programs_of(*role) {
            text.push_str(&format!(
                "[[roles]]\nrole = \"{name}\"\nprogram = {program}\n\
                 from = [{{ programs = [{lo}, {hi}], drums = false }}]\n"
            ));
        }
    }
    text.push_str(
        "[augment]\ntranspose = [-5, 6]\n[filter]\nmin_melody_notes = 1\n\
         [split]\nvalidation = 0.2\nsalt = \"orchestrion\"\n",
    );
    text
}

fn failed(code: &'static str) -> impl Fn(String) -> JobFailure {
    move |message| JobFailure::permanent(code, message)
}

/// Writes the archive's MIDI files under `dir/midi` and builds the dataset in `dir/data`.
fn prepare_archive(
    zip: &[u8],
    roles: &[TrackRole],
    dir: &Path,
    limits: &crate::config::Limits,
) -> Result<PathBuf, JobFailure> {
    let files = crate::archive::read_midi_zip(zip, limits)
        .map_err(|e| JobFailure::permanent("invalid_archive", e.to_string()))?;
    let midi = dir.join("midi");
    let _ = std::fs::remove_dir_all(&midi);
    let mut named_melody = false;
    for (i, file) in files.iter().enumerate() {
        // Flat, numbered names: the archive's paths were checked safe, but need not be kept.
        let path = midi.join(format!("{i:05}.mid"));
        std::fs::create_dir_all(&midi).map_err(|e| JobFailure::transient(e.to_string()))?;
        std::fs::write(&path, &file.bytes).map_err(|e| JobFailure::transient(e.to_string()))?;
        if let Ok(song) = crate::engine::read_midi(&file.bytes) {
            named_melody |= song.tracks.iter().any(|t| {
                let name = t.name.to_ascii_lowercase();
                MELODY_WORDS.iter().any(|w| name.contains(w))
            });
        }
    }
    let text = archive_recipe(roles, named_melody);
    let recipe_path = dir.join("recipe.toml");
    let recipe =
        Recipe::parse(&text, &recipe_path).map_err(|e| JobFailure::transient(e.to_string()))?;
    let loaded = LoadedRecipe::from_recipe(recipe, text, recipe_path, dir.to_path_buf())
        .map_err(|e| JobFailure::permanent("training_failed", e.to_string()))?;
    let data = dir.join("data");
    orchestrion_dataset::build(&loaded, &data, &Silent).map_err(|e| {
        JobFailure::permanent(
            "training_failed",
            format!("the archive gave no training data: {e}"),
        )
    })?;
    Ok(data)
}

/// Builds a shipped recipe (`recipes/<name>.toml`, corpora where the recipe says) into `dir/data`.
fn prepare_recipe(name: &str, dir: &Path) -> Result<PathBuf, JobFailure> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    let path = PathBuf::from("recipes").join(format!("{name}.toml"));
    if !ok || !path.is_file() {
        return Err(JobFailure::permanent(
            "recipe_unavailable",
            format!("no shipped recipe named '{name}' on this server"),
        ));
    }
    let loaded =
        LoadedRecipe::load(&path, None).map_err(|e| failed("training_failed")(e.to_string()))?;
    let data = dir.join("data");
    orchestrion_dataset::build(&loaded, &data, &Silent)
        .map_err(|e| failed("training_failed")(e.to_string()))?;
    Ok(data)
}

pub async fn run(
    ctx: &ApiContext,
    claimed: &Claimed,
    control: &Arc<JobControl>,
) -> Result<(), JobFailure> {
    let payload: TrainPayload = serde_json::from_str(&claimed.job.payload).map_err(|e| {
        JobFailure::permanent("bad_payload", format!("unreadable job payload: {e}"))
    })?;
    let run_id = payload.training_run_id;
    let input: RunInput =
        sqlx::query_as("SELECT config, archive_key FROM training_runs WHERE id = $1")
            .bind(&run_id)
            .fetch_optional(ctx.db.pool())
            .await
            .map_err(crate::http::error::Error::from)?
            .ok_or_else(|| JobFailure::permanent("not_found", "the training run was deleted"))?;
    let config: TrainingConfig = serde_json::from_str(&input.config)
        .map_err(|e| JobFailure::permanent("bad_payload", format!("unreadable config: {e}")))?;
    let roles: Vec<TrackRole> = config
        .roles
        .iter()
        .map(|r| parse_role(r))
        .collect::<Result<_, _>>()
        .map_err(|e| JobFailure::permanent("validation", e.to_string()))?;
    sqlx::query("UPDATE training_runs SET status = 'running' WHERE id = $1")
        .bind(&run_id)
        .execute(ctx.db.pool())
        .await
        .map_err(crate::http::error::Error::from)?;

    let dir = run_dir(&ctx.config.data_dir, &run_id);
    let out = trainer_dir(&ctx.config.data_dir, &run_id);
    let zip = match &input.archive_key {
        Some(key) => Some(
            ctx.blobs
                .get(key)
                .await
                .map_err(crate::http::error::Error::from)?,
        ),
        None => None,
    };
    control.set(0.01, "building the dataset");
    let limits = ctx.config.limits.clone();
    let recipe = config.recipe.clone();
    let data_dir = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| JobFailure::transient(e.to_string()))?;
            match (zip, recipe) {
                (Some(zip), _) => prepare_archive(&zip, &roles, &dir, &limits),
                (None, Some(name)) => prepare_recipe(&name, &dir),
                (None, None) => Err(JobFailure::permanent(
                    "validation",
                    "the run has neither an archive nor a recipe",
                )),
            }
        })
        .await
        .map_err(|e| JobFailure::transient(format!("dataset thread: {e}")))??
    };
    if let Some(stop) = control.stop_reason() {
        return Err(stop);
    }

    let reference = orchestrion_dataset::load_stats(&data_dir.join("stats.json"))
        .ok()
        .map(|s| s.metrics);
    let reference_json = reference.as_ref().map(flat_metrics);
    if let Some(r) = &reference_json {
        sqlx::query("UPDATE training_runs SET reference = $1 WHERE id = $2")
            .bind(r.to_string())
            .bind(&run_id)
            .execute(ctx.db.pool())
            .await
            .map_err(crate::http::error::Error::from)?;
    }
    let steps = u64::from(config.steps);
    let options = TrainOptions {
        steps,
        lr: config.learning_rate,
        critic_updates: config.critic_updates,
        eval_every: (steps / 4).clamp(1, 200),
        ..TrainOptions::default()
    };

    control.set(0.05, "training");
    let (tx, mut rx) = mpsc::unbounded_channel::<Report>();
    let stop = Arc::new(AtomicBool::new(false));
    let trainer_thread = {
        let stop = stop.clone();
        let control = control.clone();
        let out = out.clone();
        tokio::task::spawn_blocking(move || -> Result<u64, String> {
            let dataset = Dataset::open(&data_dir).map_err(|e| e.to_string())?;
            // A retried attempt continues from the checkpoint an earlier one left.
            let resume = out.join("checkpoint").join("state.json").is_file();
            let mut trainer = Trainer::new(dataset, reference, &out, options, resume)
                .map_err(|e| e.to_string())?;
            let should_stop = |control: &JobControl| {
                control.cancel.load(Ordering::Relaxed) || control.lease_lost.load(Ordering::Relaxed)
            };
            let step_tx = tx.clone();
            let mut on_step = |l: &StepLosses| {
                let _ = step_tx.send(Report::Step(*l));
                if should_stop(&control) {
                    stop.store(true, Ordering::SeqCst);
                }
            };
            let mut on_eval = |e: &Evaluation| {
                let _ = tx.send(Report::Eval(Box::new(e.clone())));
            };
            trainer
                .run(&stop, &mut on_step, &mut on_eval)
                .map_err(|e| e.to_string())?;
            Ok(trainer.step())
        })
    };

    // Turn the trainer's reports into events while it runs.
    let mut latest = serde_json::json!({});
    let mut last_step = 0u64;
    while let Some(report) = rx.recv().await {
        match report {
            Report::Step(l) => {
                last_step = l.step;
                latest["generator_loss"] = serde_json::json!(l.g_loss);
                latest["critic_loss"] = serde_json::json!(l.d_loss);
                emit(
                    ctx,
                    claimed,
                    "loss",
                    serde_json::json!({"step": l.step, "generator_loss": l.g_loss,
                        "critic_loss": l.d_loss, "reconstruction": l.recon}),
                )
                .await;
                emit(
                    ctx,
                    claimed,
                    "progress",
                    serde_json::json!({"step": l.step, "total_steps": steps, "status": "running"}),
                )
                .await;
                control.set(0.05 + 0.9 * l.step as f64 / steps.max(1) as f64, "training");
            }
            Report::Eval(e) => {
                let metrics = flat_metrics(&e.generated);
                latest["metrics"] = metrics.clone();
                let reference = reference_json
                    .clone()
                    .unwrap_or_else(|| flat_metrics(&e.reference));
                emit(
                    ctx,
                    claimed,
                    "metrics",
                    serde_json::json!({"step": e.step, "metrics": metrics, "reference": reference,
                        "distance": if e.distance.is_finite() { Some(e.distance) } else { None }}),
                )
                .await;
                if e.step > 0 {
                    emit(
                        ctx,
                        claimed,
                        "checkpoint",
                        serde_json::json!({"step": e.step,
                            "sample_midi": format!("/api/training-runs/{run_id}/samples/{}.mid", e.step)}),
                    )
                    .await;
                }
            }
        }
        let _ = sqlx::query("UPDATE training_runs SET step = $1, latest = $2 WHERE id = $3")
            .bind(last_step as i64)
            .bind(latest.to_string())
            .bind(&run_id)
            .execute(ctx.db.pool())
            .await;
        ctx.signals.changed(&claimed.job.id);
    }
    let finished = trainer_thread
        .await
        .map_err(|e| JobFailure::transient(format!("training thread: {e}")))?
        .map_err(|e| JobFailure::permanent("training_failed", e))?;
    if stop.load(Ordering::SeqCst) {
        return Err(control.stop_reason().unwrap_or(JobFailure::Cancelled));
    }

    let checkpoint = out.join("checkpoint");
    let checkpoint_key = checkpoint
        .strip_prefix(&ctx.config.data_dir)
        .unwrap_or(&checkpoint)
        .to_string_lossy()
        .into_owned();
    let mut tx = ctx
        .db
        .begin()
        .await
        .map_err(crate::http::error::Error::from)?;
    if !queue::complete(&mut tx, claimed).await? {
        return Err(JobFailure::LeaseLost);
    }
    sqlx::query(
        "UPDATE training_runs SET status = 'succeeded', step = $1, latest = $2, checkpoint_key = $3, \
             finished_at = $4, error_code = NULL, error_message = NULL WHERE id = $5",
    )
    .bind(finished as i64)
    .bind(latest.to_string())
    .bind(checkpoint_key)
    .bind(crate::db::now_ms())
    .bind(&run_id)
    .execute(&mut *tx)
    .await
    .map_err(crate::http::error::Error::from)?;
    tx.commit().await.map_err(crate::http::error::Error::from)?;
    Ok(())
}

/// Appends one event to the job's stream; a lost event is logged, not fatal to the run.
async fn emit(ctx: &ApiContext, claimed: &Claimed, event: &str, data: serde_json::Value) {
    if let Err(e) = queue::append_event(&ctx.db, &claimed.job.id, event, &data).await {
        tracing::warn!(job = %claimed.job.id, error = %e, "training event not stored");
    }
}
