//! The training job: an uploaded archive or a shipped recipe → a genre model, with loss and
//! metric events streamed as it goes.
//!
//! The run works in `<data-dir>/training/<run id>/`: `midi/` (the archive's files), `data/`
//! (the built dataset, written atomically by the dataset crate), `run/` (the trainer's
//! checkpoint, `events.jsonl` and samples). The trainer writes its checkpoint folder
//! atomically, and a retried attempt resumes from it, so a crash loses at most the steps since
//! the last checkpoint; the events the crashed attempt already recorded for those steps are not
//! recorded again (the resumed trainer redraws exactly the same steps, so they would only be
//! duplicates). What outlives the run goes to the blob store: each checkpoint's sample MIDI
//! (`training/<id>/samples/<step>.mid`, stored before its `checkpoint` event names it) and the
//! finished model (`training/<id>/model/`, stored before the row that names it commits). When
//! the run ends — succeeded, failed for good or cancelled — its work folder is removed (moved
//! aside, then deleted, so a crash mid-way leaves nothing that looks like a live run), and
//! [`sweep_ended_runs`] removes any an earlier crash left behind.
//!
//! The CPU work runs on a blocking thread; it reports each step through a channel that this
//! task turns into job events, and it stops between steps when the heartbeat saw a cancel (or
//! lost the lease).

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

/// Blob key of the sample MIDI of a run's checkpoint at `step`.
pub fn sample_key(run_id: &str, step: u64) -> String {
    format!("training/{run_id}/samples/{step}.mid")
}

/// Blob prefix of a finished run's model files (what publishing copies into `models/`).
pub fn model_prefix(run_id: &str) -> String {
    format!("training/{run_id}/model")
}

/// The files of a finished model, as the model crate stores them.
pub const MODEL_FILES: [&str; 4] = [
    orchestrion_model::store::CONFIG,
    orchestrion_model::store::GENERATOR,
    orchestrion_model::store::CRITIC,
    orchestrion_model::store::SPECTRAL,
];

/// Whether `name` may name a recipe: 1-64 of `a-z`, `0-9`, `-`. Nothing else, so a name can
/// never be a path (no separator, no dot) or reach outside the recipe folders.
pub fn valid_recipe_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The first `<dir>/<name>.toml` that exists, searching `dirs` in order
/// ([`crate::config::Config::recipe_dirs`]); `None` for an invalid name.
pub fn find_recipe(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    if !valid_recipe_name(name) {
        return None;
    }
    dirs.iter()
        .map(|dir| dir.join(format!("{name}.toml")))
        .find(|path| path.is_file())
}

/// Removes a run's work folder: renamed aside first (one atomic step), then deleted, so an
/// interrupted removal leaves a `.removing-*` folder that the next sweep finishes.
pub fn remove_run_dir(data_dir: &Path, run_id: &str) {
    let dir = run_dir(data_dir, run_id);
    if !dir.exists() {
        return;
    }
    let aside = data_dir
        .join("training")
        .join(format!(".removing-{run_id}"));
    let target = match std::fs::rename(&dir, &aside) {
        Ok(()) => aside,
        Err(_) => dir,
    };
    if let Err(e) = std::fs::remove_dir_all(&target) {
        tracing::warn!(dir = %target.display(), error = %e, "training work folder not removed");
    }
}

/// Removes the work folders of runs that have ended (or no longer exist), and half-removed
/// ones. Runs that are queued or running keep theirs: a retried attempt resumes from it.
pub async fn sweep_ended_runs(ctx: &ApiContext) {
    let root = ctx.config.data_dir.join("training");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    let names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    for name in names {
        if name.starts_with(".removing-") {
            let _ = std::fs::remove_dir_all(root.join(&name));
            continue;
        }
        let status: Result<Option<(String,)>, _> =
            sqlx::query_as("SELECT status FROM training_runs WHERE id = $1")
                .bind(&name)
                .fetch_optional(ctx.db.pool())
                .await;
        let ended = match status {
            Ok(None) => true,
            Ok(Some((status,))) => {
                matches!(
                    status.as_str(),
                    queue::SUCCEEDED | queue::FAILED | queue::CANCELLED
                )
            }
            Err(_) => false,
        };
        if ended {
            tracing::info!(run = %name, "removing the work folder of an ended training run");
            let data_dir = ctx.config.data_dir.clone();
            let _ = tokio::task::spawn_blocking(move || remove_run_dir(&data_dir, &name)).await;
        }
    }
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

/// Builds the recipe at `path` (corpora where the recipe says) into `dir/data`.
fn prepare_recipe(path: &Path, dir: &Path) -> Result<PathBuf, JobFailure> {
    let loaded =
        LoadedRecipe::load(path, None).map_err(|e| failed("training_failed")(e.to_string()))?;
    let data = dir.join("data");
    orchestrion_dataset::build(&loaded, &data, &Silent)
        .map_err(|e| failed("training_failed")(e.to_string()))?;
    Ok(data)
}

/// What an earlier attempt of this job already recorded: the last step of each kind of
/// event, so a resumed attempt records only what is new.
#[derive(Debug, Default, Clone, Copy)]
struct Recorded {
    loss: Option<u64>,
    metrics: Option<u64>,
    checkpoint: Option<u64>,
}

impl Recorded {
    async fn read(ctx: &ApiContext, job_id: &str) -> Result<Recorded, JobFailure> {
        let last = |event: &'static str| {
            let db = ctx.db.clone();
            let job_id = job_id.to_string();
            async move {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT data FROM job_events WHERE job_id = $1 AND event = $2 \
                     ORDER BY seq DESC LIMIT 1",
                )
                .bind(&job_id)
                .bind(event)
                .fetch_optional(db.pool())
                .await
                .map_err(crate::http::error::Error::from)?;
                Ok::<_, JobFailure>(row.and_then(|(data,)| {
                    serde_json::from_str::<serde_json::Value>(&data)
                        .ok()?
                        .get("step")?
                        .as_u64()
                }))
            }
        };
        Ok(Recorded {
            loss: last("loss").await?,
            metrics: last("metrics").await?,
            checkpoint: last("checkpoint").await?,
        })
    }
}

/// Whether an event of `step` was recorded already (by an attempt that crashed).
fn seen(recorded: Option<u64>, step: u64) -> bool {
    recorded.is_some_and(|last| step <= last)
}

/// The steps of the sample files in a trainer folder.
fn local_sample_steps(trainer: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(trainer.join("samples")) else {
        return Vec::new();
    };
    let mut steps: Vec<u64> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("step-")?
                .strip_suffix("-0.mid")?
                .parse()
                .ok()
        })
        .collect();
    steps.sort_unstable();
    steps
}

/// Stores the checkpoint samples the trainer has written since the last call as blobs, then
/// announces each with a `checkpoint` event (so a link in an event always works, whichever
/// machine serves it). Steps whose file is not written yet, or whose blob could not be
/// stored, stay pending; the error of the last failed store is returned.
async fn store_samples(
    ctx: &ApiContext,
    claimed: &Claimed,
    run_id: &str,
    pending: &mut Vec<u64>,
    recorded: Recorded,
) -> Result<(), JobFailure> {
    let mut waiting = Vec::new();
    let mut failure = None;
    for step in std::mem::take(pending) {
        let path = sample_path(&ctx.config.data_dir, run_id, step);
        let Ok(bytes) = tokio::fs::read(&path).await else {
            waiting.push(step);
            continue;
        };
        if let Err(e) = ctx.blobs.put(&sample_key(run_id, step), bytes).await {
            waiting.push(step);
            failure = Some(JobFailure::from(crate::http::error::Error::from(e)));
            continue;
        }
        if !seen(recorded.checkpoint, step) {
            emit(
                ctx,
                claimed,
                "checkpoint",
                serde_json::json!({"step": step,
                    "sample_midi": format!("/api/training-runs/{run_id}/samples/{step}.mid")}),
            )
            .await;
        }
    }
    *pending = waiting;
    failure.map_or(Ok(()), Err)
}

/// Copies a finished run's model files from its checkpoint folder into the blob store.
async fn store_model(ctx: &ApiContext, run_id: &str, checkpoint: &Path) -> Result<(), JobFailure> {
    for file in MODEL_FILES {
        let bytes = tokio::fs::read(checkpoint.join(file))
            .await
            .map_err(|e| JobFailure::transient(format!("reading the checkpoint's {file}: {e}")))?;
        ctx.blobs
            .put(&format!("{}/{file}", model_prefix(run_id)), bytes)
            .await
            .map_err(crate::http::error::Error::from)?;
    }
    Ok(())
}

pub async fn run(
    ctx: &ApiContext,
    claimed: &Claimed,
    control: &Arc<JobControl>,
) -> Result<(), JobFailure> {
    // Folders of runs that ended while no worker watched (dead letter, crashes) go first.
    sweep_ended_runs(ctx).await;
    let payload: TrainPayload = serde_json::from_str(&claimed.job.payload).map_err(|e| {
        JobFailure::permanent("bad_payload", format!("unreadable job payload: {e}"))
    })?;
    let run_id = payload.training_run_id.clone();
    let outcome = train(ctx, claimed, control, &run_id).await;
    // The run ends here unless another attempt will take it up (a retry resumes from the
    // work folder; a lost lease means another worker owns it now).
    let ends = match &outcome {
        Ok(()) | Err(JobFailure::Cancelled) => true,
        Err(JobFailure::Failed { retry, .. }) => {
            !retry || claimed.attempt() >= claimed.job.max_attempts
        }
        Err(JobFailure::LeaseLost) => false,
    };
    if ends {
        let data_dir = ctx.config.data_dir.clone();
        let _ = tokio::task::spawn_blocking(move || remove_run_dir(&data_dir, &run_id)).await;
    }
    outcome
}

async fn train(
    ctx: &ApiContext,
    claimed: &Claimed,
    control: &Arc<JobControl>,
    run_id: &str,
) -> Result<(), JobFailure> {
    let run_id = run_id.to_string();
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
    let recipe = match &config.recipe {
        None => None,
        Some(name) => {
            let dirs = ctx.config.recipe_dirs();
            let found = find_recipe(&dirs, name);
            if found.is_none() {
                tracing::warn!(recipe = %name, searched = ?dirs, "recipe not found");
                return Err(JobFailure::permanent(
                    "recipe_unavailable",
                    format!("no recipe named '{name}' on this server"),
                ));
            }
            found
        }
    };
    let data_dir = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| JobFailure::transient(e.to_string()))?;
            match (zip, recipe) {
                (Some(zip), _) => prepare_archive(&zip, &roles, &dir, &limits),
                (None, Some(path)) => prepare_recipe(&path, &dir),
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

    // A resumed attempt: what the crashed one recorded is not recorded twice, and samples it
    // wrote but did not get to announce are stored now.
    let recorded = Recorded::read(ctx, &claimed.job.id).await?;
    let mut pending: Vec<u64> = local_sample_steps(&out)
        .into_iter()
        .filter(|&step| step > 0 && !seen(recorded.checkpoint, step))
        .collect();
    if recorded.loss.is_some() {
        tracing::info!(run = %run_id, recorded = ?recorded, "resuming: events already recorded are not repeated");
    }

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
            Report::Step(l) if seen(recorded.loss, l.step) => {
                last_step = l.step;
                latest["generator_loss"] = serde_json::json!(l.g_loss);
                latest["critic_loss"] = serde_json::json!(l.d_loss);
            }
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
            Report::Eval(e) if seen(recorded.metrics, e.step) => {
                latest["metrics"] = flat_metrics(&e.generated);
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
                    // Announced once its sample is stored (the trainer writes it next).
                    pending.push(e.step);
                }
            }
        }
        // While the trainer runs, a store that failed is tried again at the next report (an
        // early return here would leave the trainer thread running unwatched).
        let _ = store_samples(ctx, claimed, &run_id, &mut pending, recorded).await;
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
    store_samples(ctx, claimed, &run_id, &mut pending, recorded).await?;
    if stop.load(Ordering::SeqCst) {
        return Err(control.stop_reason().unwrap_or(JobFailure::Cancelled));
    }

    // The model's blobs are whole before the row names them.
    store_model(ctx, &run_id, &out.join("checkpoint")).await?;
    let checkpoint_key = model_prefix(&run_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_names_are_names_not_paths() {
        for ok in ["chorale", "my-jazz-2", "a"] {
            assert!(valid_recipe_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "x.toml",
            "Pop",
            "pop_",
            "/etc/passwd",
            "é",
        ] {
            assert!(!valid_recipe_name(bad), "{bad}");
        }
        assert!(!valid_recipe_name(&"a".repeat(65)));
    }

    #[test]
    fn the_first_folder_with_the_recipe_wins() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = ["first", "second", "third"]
            .iter()
            .map(|d| root.path().join(d))
            .collect();
        for d in &dirs[1..] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("pop.toml"), "name = \"pop\"").unwrap();
        }
        assert_eq!(
            find_recipe(&dirs, "pop"),
            Some(dirs[1].join("pop.toml")),
            "a missing folder is skipped; the earlier of two wins"
        );
        assert_eq!(find_recipe(&dirs, "rock"), None);
        // A hostile name is refused even where the file it points at exists.
        std::fs::write(root.path().join("secret.toml"), "").unwrap();
        assert_eq!(find_recipe(&dirs, "../secret"), None);
    }

    #[test]
    fn removing_a_run_folder_leaves_nothing() {
        let data = tempfile::tempdir().unwrap();
        let dir = trainer_dir(data.path(), "run-1").join("checkpoint");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), "{}").unwrap();
        remove_run_dir(data.path(), "run-1");
        let left: Vec<_> = std::fs::read_dir(data.path().join("training"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
        remove_run_dir(data.path(), "run-1"); // a second removal is a no-op
    }
}
