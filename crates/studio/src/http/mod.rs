//! The HTTP layer: one [`ApiContext`] shared by every handler, one file per resource, one error
//! type ([`error::Error`]). `router` assembles them with the cross-cutting layers: request ids,
//! tracing, the body limit, JSON errors for everything under `/api`, request metrics.

pub mod compositions;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod melodies;
pub mod models;
pub mod openapi;
pub mod ops;
pub mod session;
pub mod shares;
pub mod training;
pub mod web;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::sync::Semaphore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::db::Db;
use crate::engine::ModelRegistry;
use crate::jobs::Signals;
use crate::metrics::Metrics;

/// Everything a handler or a worker needs, cheap to clone.
#[derive(Clone)]
pub struct ApiContext {
    /// Validated settings (limits, auth mode, lease).
    pub config: Arc<Config>,
    /// Book-keeping.
    pub db: Db,
    /// Songs, MIDI, WAV, archives.
    pub blobs: Blobs,
    /// Loaded genre models.
    pub models: Arc<ModelRegistry>,
    /// Wake-ups between request handlers, workers and event streams.
    pub signals: Arc<Signals>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Caps CPU-heavy blocking work (generation, rendering) at one task per core.
    pub compute: Arc<Semaphore>,
    /// False while starting and once shutdown begins (`/readyz`).
    pub ready: Arc<AtomicBool>,
    /// The one audio renderer (SoundFont loaded at start) behind every WAV download.
    pub audio: Arc<crate::engine::Audio>,
}

/// The whole application.
pub fn router(ctx: ApiContext) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = ctx.config.limits.max_body_bytes;
    Router::new()
        .merge(session::router())
        .merge(melodies::router())
        .merge(models::router())
        .merge(compositions::router())
        .merge(shares::router())
        .merge(jobs::router())
        .merge(training::router())
        .merge(openapi::router())
        .merge(ops::router())
        .merge(web::router())
        .layer(middleware::from_fn_with_state(ctx.clone(), json_errors_and_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(ctx)
}

/// Gives every `/api` error the JSON error shape (the framework answers some, such as 405 or an
/// unmatched route, in plain text) and counts requests for `/metrics`.
async fn json_errors_and_metrics(
    State(ctx): State<ApiContext>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let class = if path.starts_with("/api/") {
        "api"
    } else if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") {
        "ops"
    } else {
        "web"
    };
    let response = next.run(req).await;
    let status = response.status();
    ctx.metrics.request(class, status.as_u16());
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if class == "api" && status.as_u16() >= 400 && !is_json {
        let (code, message) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such endpoint".to_string()),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "method not allowed here".to_string())
            }
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "request body is over the size limit".to_string(),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "unsupported content type".to_string(),
            ),
            s if s.is_server_error() => ("internal", "internal server error".to_string()),
            s => (
                "bad_request",
                s.canonical_reason().unwrap_or("bad request").to_string(),
            ),
        };
        let mut fixed = error::error_response(status, code, message);
        for name in ["x-request-id", "allow"] {
            if let Some(v) = response.headers().get(name) {
                fixed
                    .headers_mut()
                    .insert(HeaderName::from_static(name), v.clone());
            }
        }
        return fixed;
    }
    response
}
