//! `orchestrion models`: list the installed genre models, wherever they are installed.

use orchestrion_model::list_models;
use std::path::PathBuf;

/// Arguments of `orchestrion models`.
#[derive(clap::Args)]
pub struct Args {
    /// Look here instead of the default places.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where models are looked for: `models/` next to the binary, the data dir's `models/`, and
/// the current directory's `models/`.
fn default_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
    {
        dirs.push(exe_dir.join("models"));
    }
    dirs.push(PathBuf::from("orchestrion-data/models"));
    dirs.push(PathBuf::from("models"));
    dirs
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dirs = match args.models_dir {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "no such folder: {}", dir.display());
            vec![dir]
        }
        None => default_dirs(),
    };
    let mut found = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for dir in &dirs {
        for entry in list_models(dir) {
            match entry {
                Ok(info) => {
                    let key = info.dir.canonicalize().unwrap_or(info.dir.clone());
                    if seen.insert(key) {
                        found.push(info);
                    }
                }
                Err(err) => eprintln!("warning: {err}"),
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    if found.is_empty() {
        let places: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        println!("no models installed (looked in {})", places.join(", "));
        return Ok(());
    }
    println!(
        "{:<12} {:<34} {:<12} {:<18} summary",
        "name", "roles", "meters", "hash"
    );
    for info in found {
        let roles: Vec<&str> = info.roles.iter().map(|r| r.as_str()).collect();
        let meters: Vec<String> = info
            .meters
            .iter()
            .map(|(n, d)| format!("{n}/{d}"))
            .collect();
        println!(
            "{:<12} {:<34} {:<12} {:<18} {}",
            info.name,
            roles.join(","),
            meters.join(","),
            info.hash,
            info.card_summary.as_deref().unwrap_or("(no model card)")
        );
    }
    Ok(())
}
