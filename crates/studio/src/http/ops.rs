//! Operations endpoints: liveness, readiness, Prometheus metrics.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiContext;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Readiness details.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ok`, or `unreachable: <backend>: <why>`.
    pub database: String,
    /// `ok`, or `unreachable: <where>: <why>` (the bucket or folder the blobs live in).
    pub blob_store: String,
    pub models: usize,
    pub workers: usize,
}

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "The process serves", content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Ready), (status = 503, body = Ready)))]
async fn readyz(State(ctx): State<ApiContext>) -> Response {
    let (db, blobs) = tokio::join!(ctx.db.check(), ctx.blobs.ping());
    let ready = ctx.ready.load(Ordering::Relaxed) && db.is_ok() && blobs.is_ok();
    let body = Ready {
        database: match db {
            Ok(()) => "ok".into(),
            Err(why) => format!("unreachable: {}: {why}", ctx.db.backend().name()),
        },
        blob_store: match blobs {
            Ok(()) => "ok".into(),
            Err(why) => format!("unreachable: {}: {why}", ctx.blobs.location()),
        },
        models: ctx.models.len(),
        workers: ctx.config.workers,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(ctx): State<ApiContext>) -> Response {
    let depth = crate::jobs::queue::depth(&ctx.db).await.unwrap_or_default();
    let mut text = ctx.metrics.render(&depth, ctx.models.len());
    if let Ok((all, gpu)) = crate::jobs::queue::live_workers(&ctx.db).await {
        text.push_str(&format!(
            "# HELP orchestrion_workers_alive Worker processes seen in the last 15 s, by GPU capability.\n\
             # TYPE orchestrion_workers_alive gauge\n\
             orchestrion_workers_alive{{gpu=\"false\"}} {}\n\
             orchestrion_workers_alive{{gpu=\"true\"}} {gpu}\n",
            all - gpu
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
