//! The one error type of the service: every failure a handler can meet becomes one of these, and
//! each turns into the JSON shape `{"error": {"code", "message"}}` with the right status.
//!
//! Internal failures (database, blob store, bugs) are logged with their details and answered
//! with a generic message, so nothing about the server's insides reaches a client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A failed request, by what the client should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed input: bad JSON, a missing multipart field, a bad query parameter.
    #[error("{0}")]
    BadRequest(String),
    /// An uploaded MIDI file that cannot be read.
    #[error("{0}")]
    InvalidMidi(String),
    /// A zip archive that cannot be read or holds unsafe paths.
    #[error("{0}")]
    InvalidArchive(String),
    /// No or bad credentials.
    #[error("authentication required")]
    Unauthorized,
    /// No such resource, or one that belongs to someone else (the two must look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The resource exists but its result is not there yet.
    #[error("{0}")]
    NotReady(String),
    /// The request contradicts the state of a resource.
    #[error("{0}")]
    Conflict(String),
    /// Over one of the size limits.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A body that is neither of the accepted content types.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but out of range.
    #[error("{0}")]
    Validation(String),
    /// The user already has the maximum number of unfinished jobs.
    #[error("you already have {0} unfinished jobs; wait for one to finish")]
    TooManyJobs(u32),
    /// Shutting down, the database unreachable, or a feature not available in this build.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: a bug or an I/O failure. The message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: `code` for programs, `message` for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::InvalidMidi(_) | Error::InvalidArchive(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::NotReady(_) | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyJobs(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code (documented in docs/api.md).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::InvalidMidi(_) => "invalid_midi",
            Error::InvalidArchive(_) => "invalid_archive",
            Error::Unauthorized => "unauthorized",
            Error::NotFound(_) => "not_found",
            Error::NotReady(_) => "not_ready",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::Validation(_) => "validation",
            Error::TooManyJobs(_) => "too_many_jobs",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The message a client may see.
    fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "internal server error".to_string(),
            other => other.to_string(),
        }
    }
}

/// Builds the JSON error response for a status without an [`Error`] behind it (framework
/// rejections such as 405), so every error has the same shape.
pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_string(),
            message,
        },
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        error_response(self.status_code(), self.code(), self.public_message())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                Error::Unavailable("the database is not available".into())
            }
            other => Error::Internal(format!("database: {other}")),
        }
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        Error::Internal(format!("blob store: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("json: {e}"))
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("blocking task: {e}"))
    }
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::MissingJsonContentType(_) => Error::UnsupportedMediaType(
                "expected a JSON body (Content-Type: application/json)".into(),
            ),
            J::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Error::PayloadTooLarge("request body is over the size limit".into())
            }
            J::JsonDataError(e) => Error::Validation(e.body_text()),
            other => Error::BadRequest(other.body_text()),
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for Error {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        Error::BadRequest(r.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for Error {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        Error::BadRequest(r.body_text())
    }
}

impl From<axum::extract::multipart::MultipartError> for Error {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge("request body is over the size limit".into())
        } else {
            Error::BadRequest(format!("bad multipart body: {}", e.body_text()))
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for Error {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        Error::UnsupportedMediaType(r.body_text())
    }
}

/// Result of a handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_are_not_sent() {
        let e = Error::Internal("secret path /var/db".into());
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.public_message(), "internal server error");
    }

    #[test]
    fn each_kind_has_its_status() {
        assert_eq!(Error::NotFound("x").status_code(), StatusCode::NOT_FOUND);
        assert_eq!(
            Error::TooManyJobs(4).status_code(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(Error::Validation("bars".into()).code(), "validation");
    }
}
