//! Training runs: a zip of MIDI files (or a shipped recipe) and hyper-parameters in, a job that
//! trains a genre model, an event stream of its losses and metrics, and publishing the result
//! as a model that compose can use.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::ApiContext;
use super::error::{Error, ErrorBody, ErrorDetail, Result};
use super::extract::{JsonBody, Page, PageQuery, PathParams, QueryParams};
use super::jobs::{Job, job_json, job_stream, last_event_id};
use crate::archive;
use crate::auth::AuthUser;
use crate::db::{new_id, now_ms, rfc3339};
use crate::engine::{LoadedModel, ModelRegistry, ModelSource};
use crate::jobs::queue::{self, NewJob};
use crate::jobs::train;
use crate::melody::parse_role;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/training-runs", get(list).post(create))
        .route("/api/training-runs/{id}", get(one))
        .route("/api/training-runs/{id}/events", get(events))
        .route("/api/training-runs/{id}/cancel", post(cancel))
        .route("/api/training-runs/{id}/publish", post(publish))
        .route("/api/training-runs/{id}/samples/{file}", get(sample))
}

/// Hyper-parameters of a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrainingConfig {
    /// 1-40 characters of `a-z`, `0-9`, `-`.
    pub name: String,
    /// Roles to generate (not `melody`).
    pub roles: Vec<String>,
    /// 1-100000.
    pub steps: u32,
    /// In (0, 0.1].
    pub learning_rate: f64,
    /// Critic updates per generator update, 1-10.
    pub critic_updates: u32,
    /// A shipped recipe to train from instead of an archive.
    #[serde(default)]
    pub recipe: Option<String>,
}

/// A training run.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingRun {
    pub id: String,
    pub name: String,
    pub status: String,
    /// `archive` or `recipe`.
    pub source: String,
    pub config: TrainingConfig,
    pub step: i64,
    pub total_steps: i64,
    #[schema(value_type = Option<Object>)]
    pub latest: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub reference: Option<serde_json::Value>,
    pub published_model: Option<String>,
    pub error: Option<ErrorDetail>,
    pub job_id: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// The answer to `POST /api/training-runs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingAccepted {
    pub training_run: TrainingRun,
    pub job: Job,
}

/// `POST /api/training-runs/{id}/publish`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PublishRequest {
    pub name: String,
}

#[derive(Debug, FromRow)]
pub struct RunRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub source: String,
    pub config: String,
    pub status: String,
    pub step: i64,
    pub total_steps: i64,
    pub latest: Option<String>,
    pub reference: Option<String>,
    pub published_model: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub job_id: String,
    pub archive_key: Option<String>,
    pub checkpoint_key: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl RunRow {
    fn to_json(&self) -> Result<TrainingRun> {
        Ok(TrainingRun {
            id: self.id.clone(),
            name: self.name.clone(),
            status: self.status.clone(),
            source: self.source.clone(),
            config: serde_json::from_str(&self.config)?,
            step: self.step,
            total_steps: self.total_steps,
            latest: self
                .latest
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            reference: self
                .reference
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            published_model: self.published_model.clone(),
            error: self.error_code.as_ref().map(|code| ErrorDetail {
                code: code.clone(),
                message: self.error_message.clone().unwrap_or_default(),
            }),
            job_id: self.job_id.clone(),
            created_at: rfc3339(self.created_at),
            finished_at: self.finished_at.map(rfc3339),
        })
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "'{name}' is not a model name: 1-40 of a-z, 0-9, '-'"
        )))
    }
}

fn check_config(c: &TrainingConfig) -> Result<()> {
    check_name(&c.name)?;
    if c.roles.is_empty() {
        return Err(Error::Validation("pick at least one role to train".into()));
    }
    for r in &c.roles {
        if parse_role(r)? == orchestrion_music::TrackRole::Melody {
            return Err(Error::Validation(
                "the melody is the input; it is not a role to train".into(),
            ));
        }
    }
    if !(1..=100_000).contains(&c.steps) {
        return Err(Error::Validation("steps must be 1-100000".into()));
    }
    if !(c.learning_rate > 0.0 && c.learning_rate <= 0.1) {
        return Err(Error::Validation(
            "learning_rate must be in (0, 0.1]".into(),
        ));
    }
    if !(1..=10).contains(&c.critic_updates) {
        return Err(Error::Validation("critic_updates must be 1-10".into()));
    }
    Ok(())
}

async fn find(ctx: &ApiContext, user: &AuthUser, id: &str) -> Result<RunRow> {
    sqlx::query_as("SELECT * FROM training_runs WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(&user.id)
        .fetch_optional(ctx.db.pool())
        .await?
        .ok_or(Error::NotFound("training run"))
}

#[utoipa::path(post, path = "/api/training-runs", tag = "training",
    request_body(content(
        (TrainingConfig = "application/json"),
        (Object = "multipart/form-data")),
        description = "JSON config naming a shipped `recipe`; or multipart with an `archive` part (.zip of MIDI files) and a `config` part (JSON text)"),
    responses((status = 202, body = TrainingAccepted),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create(State(ctx): State<ApiContext>, user: AuthUser, req: Request) -> Result<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let id = new_id();
    let (config, source, archive_key) = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &ctx).await?;
        let mut zip_bytes = None;
        let mut config = None;
        while let Some(field) = multipart.next_field().await? {
            match field.name() {
                Some("archive") => zip_bytes = Some(field.bytes().await?),
                Some("config") => {
                    let text = field.text().await?;
                    config = Some(
                        serde_json::from_str::<TrainingConfig>(&text)
                            .map_err(|e| Error::Validation(format!("config: {e}")))?,
                    );
                }
                _ => {}
            }
        }
        let zip_bytes = zip_bytes.ok_or_else(|| {
            Error::BadRequest("the upload needs an 'archive' part (a .zip)".into())
        })?;
        let config = config
            .ok_or_else(|| Error::BadRequest("the upload needs a 'config' part (JSON)".into()))?;
        check_config(&config)?;
        let limits = ctx.config.limits.clone();
        let check = zip_bytes.clone();
        tokio::task::spawn_blocking(move || archive::read_midi_zip(&check, &limits)).await??;
        let key = format!("training/{id}/data.zip");
        ctx.blobs.put(&key, zip_bytes.to_vec()).await?;
        (config, "archive", Some(key))
    } else if content_type.starts_with("application/json") {
        let JsonBody(config) = JsonBody::<TrainingConfig>::from_request(req, &ctx).await?;
        check_config(&config)?;
        let Some(recipe) = &config.recipe else {
            return Err(Error::Validation(
                "name a shipped recipe, or upload an archive".into(),
            ));
        };
        if !train::valid_recipe_name(recipe) {
            return Err(Error::Validation(
                "a recipe is named by 1-64 of a-z, 0-9, '-' (a name, not a path)".into(),
            ));
        }
        let dirs = ctx.config.recipe_dirs();
        if train::find_recipe(&dirs, recipe).is_none() {
            tracing::info!(%recipe, searched = ?dirs, "recipe not found");
            return Err(Error::Validation(format!(
                "no recipe named '{recipe}' on this server"
            )));
        }
        (config, "recipe", None)
    } else {
        return Err(Error::UnsupportedMediaType(
            "send application/json (a recipe) or multipart/form-data (an archive and a config)"
                .into(),
        ));
    };

    let mut tx = ctx.db.begin().await?;
    let job = queue::enqueue(
        &mut tx,
        NewJob {
            queue: queue::TRAIN,
            payload: serde_json::json!({"training_run_id": id}),
            owner_id: &user.id,
            resource_type: "training_run",
            resource_id: &id,
            max_attempts: ctx.config.max_attempts,
        },
        ctx.config.limits.max_jobs_per_user,
    )
    .await?;
    let row: RunRow = sqlx::query_as(
        "INSERT INTO training_runs (id, owner_id, name, source, config, status, step, total_steps, job_id, \
                                    archive_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $9) RETURNING *",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&config.name)
    .bind(source)
    .bind(serde_json::to_string(&config)?)
    .bind(i64::from(config.steps))
    .bind(&job.id)
    .bind(archive_key)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    ctx.signals.new_job.notify_one();
    let body = TrainingAccepted {
        training_run: row.to_json()?,
        job: job_json(&job),
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/training-runs/{id}"))],
        axum::Json(body),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/training-runs", tag = "training", params(PageQuery),
    responses((status = 200, body = Page<TrainingRun>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<axum::Json<Page<TrainingRun>>> {
    let rows: Page<RunRow> = page
        .fetch_owned(
            ctx.db.pool(),
            &user.id,
            "SELECT * FROM training_runs WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
            "SELECT COUNT(*) FROM training_runs WHERE owner_id = $1",
        )
        .await?;
    Ok(axum::Json(rows.try_map(|r| r.to_json())?))
}

#[utoipa::path(get, path = "/api/training-runs/{id}", tag = "training",
    params(("id" = String, Path, description = "Training run id")),
    responses((status = 200, body = TrainingRun), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn one(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<TrainingRun>> {
    Ok(axum::Json(find(&ctx, &user, &id).await?.to_json()?))
}

#[utoipa::path(get, path = "/api/training-runs/{id}/events", tag = "training",
    params(("id" = String, Path, description = "Training run id")),
    responses((status = 200, description = "Server-Sent Events: progress, loss, metrics, checkpoint, then done", content_type = "text/event-stream"),
              (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn events(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let run = find(&ctx, &user, &id).await?;
    let run_id = run.id.clone();
    let owner = user.clone();
    let stream = job_stream(
        ctx,
        run.job_id,
        user.id,
        last_event_id(&headers),
        move |ctx, _job| {
            let run_id = run_id.clone();
            let owner = owner.clone();
            async move {
                match find(&ctx, &owner, &run_id).await.and_then(|r| r.to_json()) {
                    Ok(run) => serde_json::to_value(run).unwrap_or_default(),
                    Err(_) => serde_json::Value::Null,
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(std::time::Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response())
}

#[utoipa::path(post, path = "/api/training-runs/{id}/cancel", tag = "training",
    params(("id" = String, Path, description = "Training run id")),
    responses((status = 202, body = TrainingRun), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn cancel(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let run = find(&ctx, &user, &id).await?;
    let job = queue::request_cancel(&ctx.db, &run.job_id, &user.id).await?;
    ctx.signals.changed(&run.job_id);
    if job.status == queue::CANCELLED {
        // Cancelled while queued: no worker will run it, so its work folder (from an attempt
        // that crashed) goes now. A running job's worker removes its own when it stops.
        let (data_dir, run_id) = (ctx.config.data_dir.clone(), run.id.clone());
        let _ =
            tokio::task::spawn_blocking(move || train::remove_run_dir(&data_dir, &run_id)).await;
    }
    let run = find(&ctx, &user, &id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(run.to_json()?)).into_response())
}

#[utoipa::path(post, path = "/api/training-runs/{id}/publish", tag = "training", request_body = PublishRequest,
    params(("id" = String, Path, description = "Training run id")),
    responses((status = 201, body = super::models::Model), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn publish(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<PublishRequest>,
) -> Result<Response> {
    check_name(&req.name)?;
    let run = find(&ctx, &user, &id).await?;
    if run.status != queue::SUCCEEDED || run.checkpoint_key.is_none() {
        return Err(Error::Conflict(
            "only a finished training run can be published".into(),
        ));
    }
    if ctx.models.get(&req.name).is_some() {
        return Err(Error::Conflict(format!(
            "a model named '{}' exists already",
            req.name
        )));
    }
    let files = model_files(&ctx, run.checkpoint_key.as_deref().unwrap_or_default()).await?;
    let models_dir = ctx.config.data_dir.join("models");
    let name = req.name.clone();
    let latest = run.latest.clone();
    let run_name = run.name.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        publish_model(&files, &models_dir, &name, &run_name, latest)
    })
    .await
    .map_err(|e| Error::Internal(format!("publishing thread: {e}")))??;
    let model = super::models::model_json(&loaded, false);
    ctx.models.insert(loaded);
    sqlx::query("UPDATE training_runs SET published_model = $1 WHERE id = $2")
        .bind(&req.name)
        .bind(&run.id)
        .execute(ctx.db.pool())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(model)).into_response())
}

/// The model files of a finished run, by file name: from the blob store (`checkpoint_key` is
/// the blob prefix), or, for runs finished before models were stored as blobs, from the
/// checkpoint folder the key names under the data folder.
async fn model_files(ctx: &ApiContext, checkpoint_key: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let legacy = ctx.config.data_dir.join(checkpoint_key);
    for file in train::MODEL_FILES {
        let bytes = match ctx.blobs.get(&format!("{checkpoint_key}/{file}")).await {
            Ok(bytes) => bytes.to_vec(),
            Err(object_store::Error::NotFound { .. }) if legacy.is_dir() => {
                tokio::fs::read(legacy.join(file))
                    .await
                    .map_err(|e| Error::Internal(format!("reading the run's {file}: {e}")))?
            }
            Err(e) => return Err(e.into()),
        };
        files.push((file.to_string(), bytes));
    }
    Ok(files)
}

/// Writes a finished run's model files into `models_dir/name` (a complete folder renamed into
/// place, so a crash leaves either the whole model or none), renamed to `name`, with a model
/// card and the run's last metrics, and loads it.
fn publish_model(
    files: &[(String, Vec<u8>)],
    models_dir: &std::path::Path,
    name: &str,
    run_name: &str,
    latest: Option<String>,
) -> Result<LoadedModel> {
    use orchestrion_model::store;
    let target = models_dir.join(name);
    if target.exists() {
        return Err(Error::Conflict(format!(
            "a model named '{name}' exists already"
        )));
    }
    let tmp = models_dir.join(format!(".{name}.{}.tmp", new_id()));
    let io = |e: std::io::Error| Error::Internal(format!("publishing the model: {e}"));
    std::fs::create_dir_all(&tmp).map_err(io)?;
    let result = (|| {
        for (file, bytes) in files {
            std::fs::write(tmp.join(file), bytes).map_err(io)?;
        }
        let mut config = store::read_config(&tmp)
            .map_err(|e| Error::Internal(format!("reading the checkpoint: {e}")))?;
        config.name = name.to_string();
        let json = serde_json::to_vec_pretty(&config)?;
        store::write_atomic(&tmp.join(store::CONFIG), &json)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let metrics = latest
            .as_deref()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| v.get("metrics").cloned())
            .unwrap_or(serde_json::Value::Null);
        std::fs::write(
            tmp.join("metrics.json"),
            serde_json::to_vec_pretty(&metrics)?,
        )
        .map_err(io)?;
        let roles: Vec<String> = config
            .roles
            .iter()
            .skip(1)
            .map(|r| crate::melody::role_name(*r))
            .collect();
        let card = format!(
            "# {name}\n\nTrained on this server from the training run '{run_name}': {}.\n",
            roles.join(", ")
        );
        std::fs::write(tmp.join(store::CARD), card).map_err(io)?;
        std::fs::rename(&tmp, &target).map_err(io)?;
        ModelRegistry::load_model(&target, ModelSource::Trained)
            .map_err(|e| Error::Internal(format!("loading the published model: {e}")))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

#[utoipa::path(get, path = "/api/training-runs/{id}/samples/{file}", tag = "training",
    params(("id" = String, Path, description = "Training run id"),
           ("file" = String, Path, description = "`<step>.mid`")),
    responses((status = 200, description = "The checkpoint's sample", content_type = "audio/midi"),
              (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn sample(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams((id, file)): PathParams<(String, String)>,
) -> Result<Response> {
    let run = find(&ctx, &user, &id).await?;
    let step: u64 = file
        .strip_suffix(".mid")
        .and_then(|s| s.parse().ok())
        .ok_or(Error::NotFound("sample"))?;
    let bytes = match ctx.blobs.get(&train::sample_key(&run.id, step)).await {
        Ok(bytes) => bytes.to_vec(),
        // Runs from before samples were stored as blobs kept them in their work folder.
        Err(object_store::Error::NotFound { .. }) => {
            let path = train::sample_path(&ctx.config.data_dir, &run.id, step);
            tokio::fs::read(&path)
                .await
                .map_err(|_| Error::NotFound("sample"))?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(([(header::CONTENT_TYPE, "audio/midi")], bytes).into_response())
}
