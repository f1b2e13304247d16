//! `orchestrion serve`: run the studio (HTTP API, web console, in-process workers) on the
//! embedded default — a SQLite file and a blob folder under `--data-dir`, models from
//! `--models-dir` — or scaled out: `--database-url postgres://…`, `--blob-store s3://…` and
//! `--no-workers` (API only; `orchestrion worker` processes run the jobs). `--add-user NAME`
//! creates an API token instead of serving.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use orchestrion_studio::{AuthMode, Config};

/// How requests are authenticated.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AuthArg {
    /// One local user, no credentials (loopback addresses only).
    Local,
    /// Users with API tokens (Bearer) and console sessions.
    Token,
}

/// Arguments of `orchestrion serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on. Anything but loopback requires `--auth token`.
    #[arg(long, env = "ORCHESTRION_BIND", default_value = "127.0.0.1:7878")]
    bind: SocketAddr,
    /// Folder of the database and blobs (created if missing).
    #[arg(
        long,
        env = "ORCHESTRION_DATA_DIR",
        default_value = "./orchestrion-data"
    )]
    data_dir: PathBuf,
    /// Where blobs live: `s3://bucket[/prefix]` on any S3-compatible server (endpoint, region and
    /// credentials from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY),
    /// a folder, or `local` for `blobs/` in the data folder.
    #[arg(long, env = "ORCHESTRION_BLOB_STORE", default_value = "local")]
    blob_store: orchestrion_studio::config::BlobStore,
    /// Book-keeping database: `postgres://user:password@host/db` for the scaled-out service
    /// (default: the SQLite file in the data folder).
    #[arg(long, env = "ORCHESTRION_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Folder of genre models (default: `models/` here, or next to the binary).
    #[arg(long, env = "ORCHESTRION_MODELS_DIR")]
    models_dir: Option<PathBuf>,
    /// In-process workers (default: one per core; 0 = API only).
    #[arg(long, env = "ORCHESTRION_WORKERS")]
    workers: Option<usize>,
    /// Serve the API only; `orchestrion worker` processes run the jobs (same as --workers 0).
    #[arg(long, conflicts_with = "workers")]
    no_workers: bool,
    /// Capabilities of the in-process workers, comma-separated (e.g. `gpu`).
    #[arg(long, value_delimiter = ',', env = "ORCHESTRION_CAPABILITIES")]
    capabilities: Vec<String>,
    /// Authentication (default: local on loopback, token elsewhere).
    #[arg(long, value_enum, env = "ORCHESTRION_AUTH")]
    auth: Option<AuthArg>,
    /// Create user NAME (if new) and print a new API token for it, then exit.
    #[arg(long, value_name = "NAME")]
    add_user: Option<String>,
    /// Seconds a job stays leased without a heartbeat (a dead worker's jobs return after this).
    #[arg(long, default_value_t = 30)]
    lease_secs: u64,
    /// Most queued + running jobs per user.
    #[arg(long, default_value_t = 4)]
    max_jobs_per_user: u32,
    /// Attempts before a job is failed for good.
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    log_json: bool,
    /// SF2 SoundFont for WAV downloads (else $ORCHESTRION_SOUNDFONT, then system paths; see
    /// docs/audio.md). Loaded once at start.
    #[arg(long)]
    soundfont: Option<PathBuf>,
    /// Folder searched first for the recipe a training run names (then <data-dir>/recipes,
    /// ./recipes, recipes/ beside the binary; see docs/api.md).
    #[arg(long, env = "ORCHESTRION_RECIPES_DIR")]
    recipes_dir: Option<PathBuf>,
}

/// The models folder when none is given: `./models`, else `models/` beside the binary or up to
/// three folders above it (a `target/debug` build inside the repository).
pub(crate) fn default_models_dir() -> Option<PathBuf> {
    let here = PathBuf::from("models");
    if here.is_dir() {
        return Some(here);
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .map(|d| d.join("models"))
        .find(|d| d.is_dir())
}

pub(crate) fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let mut config = Config::new(args.bind, args.data_dir);
    config.models_dir = args.models_dir.or_else(default_models_dir);
    config.blob_store = args.blob_store;
    config.database_url = args.database_url;
    config.capabilities = args.capabilities;
    if let Some(path) = args.soundfont {
        config.soundfont = orchestrion_render::SoundFontChoice::File(path);
    }
    config.recipes_dir = args.recipes_dir;
    if let Some(n) = args.workers {
        config.workers = n;
    }
    if args.no_workers {
        config.workers = 0;
    }
    if let Some(auth) = args.auth {
        config.auth = match auth {
            AuthArg::Local => AuthMode::Local,
            AuthArg::Token => AuthMode::Token,
        };
    }
    config.lease = Duration::from_secs(args.lease_secs.max(1));
    config.limits.max_jobs_per_user = args.max_jobs_per_user.max(1);
    config.max_attempts = args.max_attempts;

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        if let Some(name) = args.add_user {
            let db = orchestrion_studio::open_database(&config).await?;
            let (id, token) = orchestrion_studio::auth::add_user(&db, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            db.close().await;
            eprintln!("user '{name}' ({id}): new API token (shown once, keep it):");
            println!("{token}");
            return Ok(());
        }
        let server = orchestrion_studio::start(config).await?;
        eprintln!("Orchestrion studio on http://{}", server.addr());
        server.run_until(shutdown_signal()).await?;
        Ok(())
    })
}
