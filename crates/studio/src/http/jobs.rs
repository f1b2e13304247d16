//! Jobs as clients see them: state, cancel, and a Server-Sent Events stream that replays what
//! happened and then follows the job live until it ends.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

use super::ApiContext;
use super::error::{ErrorBody, ErrorDetail, Result};
use super::extract::PathParams;
use crate::auth::AuthUser;
use crate::db::rfc3339;
use crate::jobs::queue::{self, JobRow};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/api/jobs/{id}", get(one))
        .route("/api/jobs/{id}/events", get(events))
        .route("/api/jobs/{id}/cancel", post(cancel))
}

/// What a job carries out.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobResource {
    /// `composition` or `training_run`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A job.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// `compose` or `train`.
    pub kind: String,
    /// queued | running | succeeded | failed | cancelled
    pub status: String,
    pub stage: String,
    pub progress: f64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub cancel_requested: bool,
    pub error: Option<ErrorDetail>,
    pub resource: JobResource,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// The API view of a job row. A failure on an attempt that will be retried is not an error yet.
pub fn job_json(row: &JobRow) -> Job {
    Job {
        id: row.id.clone(),
        kind: row.queue.clone(),
        status: row.status.clone(),
        stage: row.stage.clone(),
        progress: row.progress,
        attempts: row.attempts,
        max_attempts: row.max_attempts,
        cancel_requested: row.cancel_requested != 0,
        error: (row.status == queue::FAILED).then(|| ErrorDetail {
            code: row
                .last_error_code
                .clone()
                .unwrap_or_else(|| "failed".into()),
            message: row.last_error.clone().unwrap_or_default(),
        }),
        resource: JobResource {
            kind: row.resource_type.clone(),
            id: row.resource_id.clone(),
        },
        created_at: rfc3339(row.created_at),
        started_at: row.started_at.map(rfc3339),
        finished_at: row.finished_at.map(rfc3339),
    }
}

fn is_final(status: &str) -> bool {
    matches!(status, queue::SUCCEEDED | queue::FAILED | queue::CANCELLED)
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn one(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<Job>> {
    Ok(axum::Json(job_json(
        &queue::get(&ctx.db, &id, &user.id).await?,
    )))
}

#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 202, body = Job), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn cancel(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let row = queue::request_cancel(&ctx.db, &id, &user.id).await?;
    ctx.signals.changed(&row.id);
    Ok((StatusCode::ACCEPTED, axum::Json(job_json(&row))).into_response())
}

/// The id after which a reconnecting client wants events.
pub fn last_event_id(headers: &HeaderMap) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// How often a stream re-reads the database without a wake-up (jobs run by other processes).
const STREAM_POLL: Duration = Duration::from_secs(1);

/// The event stream of a job: stored events after `after`, a `progress` event whenever the
/// job's state changes, and a final `done` event with `done_data(job)`.
pub fn job_stream<F, Fut>(
    ctx: ApiContext,
    job_id: String,
    owner_id: String,
    mut after: i64,
    done_data: F,
) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: Fn(ApiContext, JobRow) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = serde_json::Value> + Send,
{
    async_stream_lite(move |tx| async move {
        let mut wake = ctx.signals.job_changed.subscribe();
        let mut shutdown = ctx.signals.shutdown.subscribe();
        let mut last_progress: Option<(String, String, i64)> = None;
        loop {
            // Stored events first (loss points, checkpoints...).
            let Ok(stored) = queue::events_after(&ctx.db, &job_id, after).await else {
                break;
            };
            for (seq, event, data) in stored {
                after = seq;
                if event == "status" {
                    continue;
                }
                let e = Event::default().id(seq.to_string()).event(event).data(data);
                if tx.send(e).await.is_err() {
                    return;
                }
            }
            let Ok(row) = queue::get(&ctx.db, &job_id, &owner_id).await else {
                break;
            };
            let state = (
                row.status.clone(),
                row.stage.clone(),
                (row.progress * 1000.0) as i64,
            );
            if last_progress.as_ref() != Some(&state) {
                let data = serde_json::json!({
                    "job_id": row.id, "status": row.status, "stage": row.stage, "progress": row.progress,
                });
                if tx
                    .send(Event::default().event("progress").data(data.to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                last_progress = Some(state);
            }
            if is_final(&row.status) {
                let data = done_data(ctx.clone(), row).await;
                let _ = tx
                    .send(Event::default().event("done").data(data.to_string()))
                    .await;
                return;
            }
            // Wait for this job to change, or poll again.
            let deadline = tokio::time::sleep(STREAM_POLL);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = &mut deadline => break,
                    got = wake.recv() => match got {
                        Ok(id) if id == job_id => break,
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        }
    })
}

/// A stream fed by a task through a channel (keeps the stream logic plain async code).
fn async_stream_lite<F, Fut>(body: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(body(tx));
    futures_util::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}

#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "Server-Sent Events: `progress` events, then one `done` event with the final job", content_type = "text/event-stream"),
              (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn events(
    State(ctx): State<ApiContext>,
    user: AuthUser,
    headers: HeaderMap,
    PathParams(id): PathParams<String>,
) -> Result<Response> {
    let row = queue::get(&ctx.db, &id, &user.id).await?;
    let stream = job_stream(
        ctx,
        row.id,
        user.id,
        last_event_id(&headers),
        |_, row| async move { serde_json::to_value(job_json(&row)).unwrap_or_default() },
    );
    Ok(Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response())
}
