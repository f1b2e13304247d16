//! `orchestrion worker`: a process that only runs jobs. Point any number of them, on any number
//! of machines, at the same database (`--database-url postgres://…`) and blob store
//! (`--blob-store s3://…`) as the `orchestrion serve --no-workers` API processes. A worker that
//! declares `--capabilities gpu` is preferred for training jobs. Its only HTTP surface is
//! `/healthz`, `/readyz` and `/metrics` on `--bind`, for probes and scraping.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use orchestrion_studio::Config;

use super::serve::{default_models_dir, init_logging, shutdown_signal};

/// Arguments of `orchestrion worker`.
#[derive(clap::Args)]
pub struct Args {
    /// Book-keeping database, shared with the API processes: `postgres://user:password@host/db`
    /// (default: the SQLite file in the data folder, for one machine).
    #[arg(long, env = "ORCHESTRION_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where blobs live, shared with the API processes: `s3://bucket[/prefix]` (endpoint,
    /// region and credentials from the AWS_* environment variables), a folder, or `local`.
    #[arg(long, env = "ORCHESTRION_BLOB_STORE", default_value = "local")]
    blob_store: orchestrion_studio::config::BlobStore,
    /// What this worker offers, comma-separated. `gpu`: training jobs prefer this worker
    /// (others take a training job only when no GPU worker is alive, or after it waited 30 s).
    #[arg(long, value_delimiter = ',', env = "ORCHESTRION_CAPABILITIES")]
    capabilities: Vec<String>,
    /// Jobs run at once (default: one per core).
    #[arg(long, env = "ORCHESTRION_CONCURRENCY")]
    concurrency: Option<usize>,
    /// Address of the ops endpoints (`/healthz`, `/readyz`, `/metrics`); port 0 picks one.
    #[arg(long, env = "ORCHESTRION_WORKER_BIND", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Folder for the local blob store and trained models (created if missing).
    #[arg(
        long,
        env = "ORCHESTRION_DATA_DIR",
        default_value = "./orchestrion-data"
    )]
    data_dir: PathBuf,
    /// Folder of genre models (default: `models/` here, or next to the binary).
    #[arg(long, env = "ORCHESTRION_MODELS_DIR")]
    models_dir: Option<PathBuf>,
    /// Seconds a job stays leased without a heartbeat (a dead worker's jobs return after this).
    #[arg(long, default_value_t = 30)]
    lease_secs: u64,
    /// Attempts before a job is failed for good.
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let mut config = Config::new(args.bind, args.data_dir);
    config.models_dir = args.models_dir.or_else(default_models_dir);
    config.blob_store = args.blob_store;
    config.database_url = args.database_url;
    config.capabilities = args
        .capabilities
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(n) = args.concurrency {
        anyhow::ensure!(n >= 1, "--concurrency must be at least 1");
        config.workers = n;
    }
    config.lease = Duration::from_secs(args.lease_secs.max(1));
    config.max_attempts = args.max_attempts;

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let worker = orchestrion_studio::start_worker(config).await?;
        eprintln!(
            "Orchestrion worker: {} jobs at once, ops endpoints on http://{}",
            worker.context().config.workers,
            worker.addr()
        );
        worker.run_until(shutdown_signal()).await?;
        Ok(())
    })
}
