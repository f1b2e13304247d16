//! Start-up and shutdown of a whole studio server (mini-redis style): open the database and the
//! blob store, load the models, bind, start the workers, serve; on a shutdown signal stop taking
//! requests and jobs, let running jobs finish or release them, close the pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::auth;
use crate::blobs::Blobs;
use crate::config::{AuthMode, Config};
use crate::db::{Backend, Db, redact_url};
use crate::engine::{ModelRegistry, ModelSource};
use crate::http::{self, ApiContext};
use crate::jobs::{self, Signals};
use crate::metrics::Metrics;

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database {url}: {cause}")]
    DatabaseAt { url: String, cause: sqlx::Error },
    #[error("blob store: {0}")]
    Blobs(#[from] object_store::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// A server that is up: its address, and the handles that stop it.
pub struct RunningServer {
    /// The bound address (the real port when the configuration asked for port 0).
    addr: SocketAddr,
    /// Shared with handlers and workers; used here to signal shutdown.
    ctx: ApiContext,
    /// The HTTP server task.
    serve: JoinHandle<std::io::Result<()>>,
    /// The worker tasks; shutdown waits for each.
    workers: Vec<JoinHandle<()>>,
}

/// Opens the database of `config` (running migrations) and makes sure the local user exists.
pub async fn open_database(config: &Config) -> Result<Db, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let url = config.database_url();
    let db = Db::open(&url)
        .await
        .map_err(|cause| StartError::DatabaseAt {
            url: redact_url(&url),
            cause,
        })?;
    auth::ensure_local_user(&db).await?;
    Ok(db)
}

/// Brings the database of `config` up to date (`orchestrion migrate`) and closes it. Returns
/// the backend and the redacted URL, for the report.
pub async fn migrate_database(config: &Config) -> Result<(Backend, String), StartError> {
    let db = open_database(config).await?;
    let backend = db.backend();
    db.close().await;
    Ok((backend, redact_url(&config.database_url())))
}

/// Starts a worker process (`orchestrion worker`): `config.workers` workers on the queue and,
/// on `config.bind`, only the operations endpoints (`/healthz`, `/readyz`, `/metrics`) for
/// probes and scraping. No API, so no users or auth are involved.
pub async fn start_worker(mut config: Config) -> Result<RunningServer, StartError> {
    if config.workers == 0 {
        return Err(StartError::Config(
            "a worker process needs at least one worker (--concurrency)".into(),
        ));
    }
    // The ops endpoints reveal no user data, so they need no auth on any address.
    config.auth = AuthMode::Token;
    start_process(config, false).await
}

/// Starts a server; it serves until [`RunningServer::shutdown`]. With `config.workers == 0` it
/// serves the API only and other processes (`orchestrion worker`) run the jobs.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    start_process(config, true).await
}

/// The start-up shared by API servers and worker processes; `api` picks what is served.
async fn start_process(config: Config, api: bool) -> Result<RunningServer, StartError> {
    config.validate().map_err(StartError::Config)?;
    let db = open_database(&config).await?;
    tracing::info!(database = db.backend().name(), "database ready");
    if api && config.auth == AuthMode::Token && auth::token_user_count(&db).await? == 0 {
        return Err(StartError::Config(
            "token auth is on but no user has a token: add one with `orchestrion serve --add-user NAME`".into(),
        ));
    }
    let blobs = Blobs::open(&config.blob_store, &config.data_dir)?;
    match blobs.ping().await {
        Ok(()) => tracing::info!(blobs = blobs.location(), "blob store"),
        // Not fatal: the store may come up later; `/readyz` answers 503 until it does.
        Err(why) => tracing::warn!(blobs = blobs.location(), %why, "blob store unreachable"),
    }

    let models = Arc::new(ModelRegistry::default());
    {
        let models = models.clone();
        let shipped = config.models_dir.clone();
        let trained = config.data_dir.join("models");
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = shipped {
                models.load_dir(&dir, ModelSource::Shipped);
            }
            if trained.is_dir() {
                models.load_dir(&trained, ModelSource::Trained);
            }
        })
        .await
        .map_err(|e| StartError::Other(format!("loading models: {e}")))?;
    }
    if models.is_empty() {
        tracing::warn!("no genre models loaded: compositions will fail until one is available");
    }

    // WAV downloads share one renderer, its SoundFont parsed once, here; a worker process
    // serves no audio, so it loads no SoundFont.
    let soundfont = if api {
        config.soundfont.clone()
    } else {
        orchestrion_render::SoundFontChoice::BuiltIn
    };
    let audio = tokio::task::spawn_blocking(move || crate::engine::Audio::load(soundfont))
        .await
        .map_err(|e| StartError::Other(format!("loading the SoundFont: {e}")))?
        .map_err(StartError::Config)?;

    let compute = config.workers.max(1);
    let ctx = ApiContext {
        audio: Arc::new(audio),
        config: Arc::new(config),
        db,
        blobs,
        models,
        signals: Arc::new(Signals::default()),
        metrics: Arc::new(Metrics::default()),
        compute: Arc::new(Semaphore::new(compute)),
        ready: Arc::new(AtomicBool::new(false)),
    };
    let listener = TcpListener::bind(ctx.config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: ctx.config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: ctx.config.bind,
        source,
    })?;

    let workers = jobs::spawn_workers(&ctx, ctx.config.workers);
    let app = if api {
        http::router(ctx.clone())
    } else {
        http::ops::router().with_state(ctx.clone())
    };
    let mut stop = ctx.signals.shutdown.subscribe();
    let serve = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    ctx.ready.store(true, Ordering::Relaxed);
    if api {
        tracing::info!(%addr, auth = ?ctx.config.auth, workers = ctx.config.workers, models = ctx.models.len(), "serving");
    } else {
        tracing::info!(%addr, workers = ctx.config.workers, capabilities = ?ctx.config.capabilities, models = ctx.models.len(), "working");
    }
    Ok(RunningServer {
        addr,
        ctx,
        serve,
        workers,
    })
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared context (tests use it to reach the database directly).
    pub fn context(&self) -> &ApiContext {
        &self.ctx
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), StartError> {
        signal.await;
        self.shutdown().await
    }

    /// Stops taking requests and jobs, waits for running jobs (up to the grace period, then
    /// releases their leases), and closes the database.
    pub async fn shutdown(self) -> Result<(), StartError> {
        tracing::info!("shutting down");
        self.ctx.ready.store(false, Ordering::Relaxed);
        let _ = self.ctx.signals.shutdown.send(true);
        for w in self.workers {
            let _ = w.await;
        }
        let served = self.serve.await;
        self.ctx.db.close().await;
        tracing::info!("stopped");
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StartError::Other(format!("server: {e}"))),
            Err(e) => Err(StartError::Other(format!("server task: {e}"))),
        }
    }
}
