//! `orchestrion migrate`: bring the book-keeping database's schema up to date and exit. `serve`
//! and `worker` migrate on start as well (safe from several processes at once); this command is
//! for deployments that run schema changes as their own step before rolling out new processes.

use std::path::PathBuf;

use anyhow::Context;
use orchestrion_studio::Config;

/// Arguments of `orchestrion migrate`.
#[derive(clap::Args)]
pub struct Args {
    /// The database: `postgres://user:password@host/db` (default: the SQLite file in the data
    /// folder).
    #[arg(long, env = "ORCHESTRION_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Folder of the embedded SQLite database (used when no --database-url is given).
    #[arg(
        long,
        env = "ORCHESTRION_DATA_DIR",
        default_value = "./orchestrion-data"
    )]
    data_dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::new(([127, 0, 0, 1], 0).into(), args.data_dir);
    config.database_url = args.database_url;
    config.validate().map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (backend, url) = runtime.block_on(orchestrion_studio::migrate_database(&config))?;
    eprintln!("database {url} ({}) is up to date", backend.name());
    Ok(())
}
