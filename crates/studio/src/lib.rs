//! The Orchestrion studio: the service behind the web console and the HTTP API. It keeps the
//! book (users, melodies, compositions, jobs, share links, training runs) in SQL, large objects
//! in a blob store, runs compositions and training as jobs on in-process workers, and serves the
//! embedded console.
//!
//! # Layout
//! - [`server`]: start-up and graceful shutdown of a whole server (API and in-process workers,
//!   API only, or a worker process with only the ops endpoints).
//! - [`config`]: settings and limits, validated (no unauthenticated non-loopback server).
//! - [`http`]: the router, one file per resource, the one error type (`http/error.rs`).
//! - [`jobs`]: the queue (`jobs/queue.rs`: claim, heartbeat, fenced completion, dead letter)
//!   and the workers that run compose and training jobs.
//! - [`db`], [`blobs`]: book-keeping (SQLite file or Postgres, one portable SQL code path) and
//!   blob storage.
//! - [`auth`]: local user, API tokens, console sessions.
//! - [`engine`]: the seam to the music, model and render crates.
//! - [`melody`], [`samples`], [`archive`]: melodies in and out, shipped samples, zip uploads.
//!
//! The HTTP contract is in `docs/api.md`; the OpenAPI document is served at `/api/openapi.json`.

pub mod archive;
pub mod auth;
pub mod blobs;
pub mod config;
pub mod db;
pub mod engine;
pub mod http;
pub mod jobs;
pub mod melody;
pub mod metrics;
pub mod samples;
pub mod server;

pub use config::{AuthMode, Config, Limits};
pub use server::{RunningServer, StartError, migrate_database, open_database, start, start_worker};
