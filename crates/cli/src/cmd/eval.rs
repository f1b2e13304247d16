//! `orchestrion eval PATH... [--reference data/NAME] [--json]`: the metrics crate's table for MIDI
//! files, and with a reference (a dataset's `stats.json`) each value beside the data's and their
//! ratio — how a model's output compares with what it was trained on.
//!
//! `orchestrion eval --model DIR --data data/NAME [--melodies N] [--max-bars B] [--json]`: a
//! model's quality report: it generates for the dataset's validation melodies and prints every
//! metric per role against the data, tonal distance for matched and shuffled melodies, melody
//! preservation, seams at window borders, and each target of the shipped-models issue as pass
//! or miss, in Markdown ready for a model card (logic in `orchestrion_model::quality`).
//!
//! Roles come from the music crate's detection (or the `orchestrion:role=` text our own writer
//! puts in every part). With a reference, songs are measured in windows of the dataset's
//! `window_bars` (from the `meta.json` beside `stats.json`), as the reference was, so per-window
//! quantities (the in-scale key, groove between neighbouring bars) mean the same on both sides.

use anyhow::{Context, bail};
use orchestrion_dataset::{Dataset, DatasetMeta, Stats, load_stats};
use orchestrion_metrics::{MetricsAccumulator, MetricsReport, compare_table, evaluate};
use orchestrion_model::GenreModel;
use orchestrion_model::quality::{QualityOptions, evaluate_model};
use orchestrion_music::{Grid, Limits, PianoRoll, PlaneSpec, Song, TrackRole};
use std::path::{Path, PathBuf};

/// Arguments of `orchestrion eval`.
#[derive(clap::Args)]
pub struct Args {
    /// MIDI files, or folders searched recursively for .mid files.
    #[arg(required_unless_present = "model")]
    pub paths: Vec<PathBuf>,
    /// Evaluate this model folder on the validation melodies of --data instead of MIDI files.
    #[arg(long, requires = "data", conflicts_with = "paths")]
    pub model: Option<PathBuf>,
    /// The dataset the model was trained on (with --model).
    #[arg(long, requires = "model")]
    pub data: Option<PathBuf>,
    /// Validation melodies to generate for (with --model).
    #[arg(long, default_value_t = 32)]
    pub melodies: usize,
    /// Longest validation melody in bars (with --model): several windows, so seams show.
    #[arg(long, default_value_t = 16)]
    pub max_bars: u32,
    /// Seed of the first melody's generation (with --model).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A dataset directory or its stats.json: print each value beside the data's, with the ratio.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Measure in windows of this many bars (default: the reference dataset's window, else the
    /// whole song as one roll).
    #[arg(long)]
    pub window_bars: Option<usize>,
    /// Grid steps per quarter note (default: the reference dataset's, else 4).
    #[arg(long)]
    pub steps_per_beat: Option<u32>,
    /// Print JSON (per-file reports, the average, and the reference when given).
    #[arg(long)]
    pub json: bool,
}

/// The lowest pitch and row count of every roll we measure (the model's 84-row roll).
const LOWEST_PITCH: u8 = 24;
const PITCHES: usize = 84;

pub fn run(args: Args) -> anyhow::Result<()> {
    if let (Some(model), Some(data)) = (&args.model, &args.data) {
        return run_model(model, data, &args);
    }
    let reference = args.reference.as_deref().map(load_reference).transpose()?;
    let meta = reference.as_ref().and_then(|(_, meta)| meta.as_ref());
    let window_bars = args
        .window_bars
        .or(meta.map(|m| m.window_bars as usize))
        .filter(|&bars| bars > 0);
    let steps_per_beat = args
        .steps_per_beat
        .or(meta.map(|m| m.steps_per_beat))
        .unwrap_or(4);

    let files = midi_files(&args.paths)?;
    if files.is_empty() {
        bail!("no MIDI files found in the given paths");
    }
    let mut per_file = Vec::new();
    let mut total = MetricsAccumulator::new();
    let mut failed = 0;
    for file in &files {
        match measure_file(file, steps_per_beat, window_bars) {
            Ok(report) => {
                total.add(&report);
                per_file.push((file.clone(), report));
            }
            Err(err) => {
                failed += 1;
                eprintln!("warning: skipped {}: {err:#}", file.display());
            }
        }
    }
    if per_file.is_empty() {
        bail!("none of the {} files could be measured", files.len());
    }
    let average = total.finish();

    if args.json {
        let files_json: Vec<_> = per_file
            .iter()
            .map(|(path, report)| {
                serde_json::json!({ "path": path.display().to_string(), "metrics": report })
            })
            .collect();
        let output = serde_json::json!({
            "files": files_json,
            "failed": failed,
            "window_bars": window_bars,
            "steps_per_beat": steps_per_beat,
            "average": average,
            "reference": reference.as_ref().map(|(stats, _)| &stats.metrics),
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(());
    }
    println!(
        "{} file(s) measured{}, {} roll(s) of {}",
        per_file.len(),
        if failed > 0 {
            format!(" ({failed} skipped)")
        } else {
            String::new()
        },
        average.rolls,
        window_bars.map_or("whole songs".to_string(), |b| format!("{b} bars")),
    );
    match &reference {
        Some((stats, _)) => {
            println!(
                "reference: dataset {} (recipe {}), {} windows\n",
                stats.name, stats.recipe_hash, stats.metrics.rolls
            );
            print!("{}", compare_table(&average, &stats.metrics));
        }
        None => print!("\n{average}"),
    }
    Ok(())
}

/// The reference stats and, when it sits beside them, the dataset's meta.
fn load_reference(path: &Path) -> anyhow::Result<(Stats, Option<DatasetMeta>)> {
    let stats_path = if path.is_dir() {
        path.join("stats.json")
    } else {
        path.to_path_buf()
    };
    let stats = load_stats(&stats_path)?;
    let meta_path = stats_path.with_file_name("meta.json");
    let meta = match std::fs::read_to_string(&meta_path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .with_context(|| format!("reading {}", meta_path.display()))?,
        ),
        Err(_) => None,
    };
    Ok((stats, meta))
}

/// Every role present in the song, in `TrackRole` order, one plane each.
fn roll_of(song: &Song, steps_per_beat: u32) -> anyhow::Result<PianoRoll> {
    let mut roles: Vec<TrackRole> = song.tracks.iter().map(|t| t.role).collect();
    roles.sort();
    roles.dedup();
    let planes = PlaneSpec::by_role(song, &roles);
    Ok(PianoRoll::from_song(
        song,
        Grid::new(steps_per_beat),
        &planes,
        LOWEST_PITCH,
        PITCHES,
    )?)
}

fn measure_file(
    path: &Path,
    steps_per_beat: u32,
    window_bars: Option<usize>,
) -> anyhow::Result<MetricsReport> {
    let song = Song::read_file(path, &Limits::default())?;
    if song.tracks.is_empty() {
        bail!("no notes");
    }
    let roll = roll_of(&song, steps_per_beat)?;
    let mut accumulator = MetricsAccumulator::new();
    match window_bars {
        None => accumulator.add(&evaluate(&roll)?),
        Some(bars) => {
            let total = roll.bar_steps.len();
            let mut first = 0;
            while first < total {
                let window = roll.slice_bars(first..(first + bars).min(total));
                accumulator.add(&evaluate(&window)?);
                first += bars;
            }
        }
    }
    Ok(accumulator.finish())
}

fn midi_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            bail!("{} does not exist", path.display());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// `--model DIR --data data/NAME`: generate on the validation melodies and report.
fn run_model(model_dir: &Path, data: &Path, args: &Args) -> anyhow::Result<()> {
    let model = GenreModel::load(model_dir)?;
    let dataset =
        Dataset::open(data).with_context(|| format!("opening dataset {}", data.display()))?;
    let stats = load_stats(&data.join("stats.json"))?;
    let options = QualityOptions {
        melodies: args.melodies,
        max_bars: args.max_bars,
        seed: args.seed,
    };
    let report = evaluate_model(&model, &dataset, &stats.metrics, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.markdown());
        eprintln!("({:.1} s)", report.millis / 1000.0);
    }
    Ok(())
}
