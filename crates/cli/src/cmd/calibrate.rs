//! `orchestrion calibrate --model DIR --data data/NAME [--melodies N] [--seed S] [--dry-run]`:
//! choose each role's decoding thresholds and polyphony cap on the dataset's validation
//! melodies so the output matches the data's density, note lengths and polyphony, and write
//! them into `DIR/config.json` (atomically; the weights are not touched). The step after
//! training; see docs/models.md, "Decoding and calibration".

use anyhow::Context;
use orchestrion_dataset::{Dataset, load_stats};
use orchestrion_model::GenreModel;
use orchestrion_model::calibrate::{CalibrateOptions, calibrate, write_decoding};
use std::path::PathBuf;

/// Arguments of `orchestrion calibrate`.
#[derive(clap::Args)]
pub struct Args {
    /// The model folder whose config.json receives the decoding (e.g. runs/pop-001/checkpoint).
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset the model was trained on (its validation melodies and stats.json are used).
    #[arg(long)]
    pub data: PathBuf,
    /// Validation melodies (windows) to generate for.
    #[arg(long, default_value_t = 64)]
    pub melodies: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the result without writing config.json.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON instead of a Markdown table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = GenreModel::load(&args.model)?;
    let dataset = Dataset::open(&args.data)
        .with_context(|| format!("opening dataset {}", args.data.display()))?;
    let stats = load_stats(&args.data.join("stats.json"))?;
    let options = CalibrateOptions {
        melodies: args.melodies,
        seed: args.seed,
    };
    let calibration = calibrate(&model, &dataset, &stats.metrics, &options)?;
    if !args.dry_run {
        write_decoding(&args.model, &calibration.decoding)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&calibration)?);
    } else {
        print!("{}", calibration.markdown());
        println!(
            "\n{} validation windows, {:.1} s; {}",
            calibration.windows,
            calibration.millis / 1000.0,
            if args.dry_run {
                "dry run: config.json unchanged".to_owned()
            } else {
                format!("written to {}", args.model.join("config.json").display())
            }
        );
    }
    Ok(())
}
