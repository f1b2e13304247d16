//! The web console, embedded in the binary from the repository's `web/` folder: `/` is
//! `index.html`, `/s/{token}` is the read-only share page, other paths are files of `web/`.

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use super::ApiContext;

/// The console's files (browser tests under `web/tests` stay out of the binary).
#[derive(RustEmbed)]
#[folder = "../../web/"]
#[exclude = "tests/*"]
#[exclude = "node_modules/*"]
struct WebAssets;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/", get(index))
        .route("/s/{token}", get(share_page))
        .fallback(get(asset))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "mid" | "midi" => "audio/midi",
        "wav" => "audio/wav",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Response {
    match WebAssets::get(path) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, content_type(path)),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn index() -> Response {
    serve("index.html")
}

async fn share_page() -> Response {
    serve("share.html")
}

async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") {
        return super::error::error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint".into(),
        );
    }
    if path.split('/').any(|p| p == "..") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    serve(path)
}
