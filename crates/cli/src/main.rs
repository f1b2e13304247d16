//! The `orchestrion` binary: parses arguments and hands each command to its library crate.
//!
//! Each subcommand lives in `cmd/<name>.rs` with its own `Args` and `run`; nothing about music,
//! models or HTTP is decided here.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

/// Orchestrion: an AI accompaniment studio. A melody in, a band arrangement out.
#[derive(Parser)]
#[command(name = "orchestrion", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what a MIDI file contains: tracks, roles, bars, meters, tempi, key.
    Inspect(cmd::inspect::Args),
    /// Build training data from folders of MIDI by a recipe.
    #[command(subcommand)]
    Dataset(cmd::dataset::DatasetCommand),
    /// Measure musical metrics of MIDI files, optionally against a dataset's reference.
    Eval(cmd::eval::Args),
    /// Train a genre model on a built dataset.
    Train(cmd::train::Args),
    /// Choose a trained model's per-role decoding thresholds from its dataset.
    Calibrate(cmd::calibrate::Args),
    /// Write a band arrangement around a melody.
    Generate(cmd::generate::Args),
    /// List the installed genre models.
    Models(cmd::models::Args),
    /// List the shipped sample melodies or write them as MIDI files.
    Samples(cmd::samples::Args),
    /// Render a MIDI file to WAV with a General MIDI SoundFont.
    Render(cmd::render::Args),
    /// Run the studio: HTTP API, web console and workers.
    Serve(cmd::serve::Args),
    /// Run jobs only: a worker process of a scaled-out studio.
    Worker(cmd::worker::Args),
    /// Bring the studio's database schema up to date and exit.
    Migrate(cmd::migrate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Dataset(command) => cmd::dataset::run(command),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
        Command::Generate(args) => cmd::generate::run(args),
        Command::Models(args) => cmd::models::run(args),
        Command::Samples(args) => cmd::samples::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Worker(args) => cmd::worker::run(args),
        Command::Migrate(args) => cmd::migrate::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
