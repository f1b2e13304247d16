//! `orchestrion dataset build RECIPE -o DIR`: turns folders of MIDI into training data by a
//! recipe. The work is in `orchestrion_dataset`; this file draws progress and prints a summary.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use orchestrion_dataset::{LoadedRecipe, Progress, Stats};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Dataset subcommands.
#[derive(clap::Subcommand)]
pub enum DatasetCommand {
    /// Build shards, meta.json and stats.json from a recipe.
    Build(BuildArgs),
    /// Print the counts and reference metrics of a built dataset's stats.json.
    Info {
        /// A dataset directory (or its stats.json).
        path: PathBuf,
        /// Print Markdown (the counts line and the metric table), as in docs/datasets.md.
        #[arg(long)]
        markdown: bool,
    },
}

/// Arguments of `orchestrion dataset build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// The recipe, e.g. recipes/pop.toml.
    pub recipe: PathBuf,
    /// Output directory (replaced atomically when it exists), e.g. data/pop/.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Where the corpora are (overrides the recipe's source.datasets_dir).
    #[arg(long, env = "ORCHESTRION_DATASETS_DIR")]
    pub datasets_dir: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print no warnings for skipped files (they are still counted in stats.json).
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(command: DatasetCommand) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Build(args) => build(args),
        DatasetCommand::Info { path, markdown } => {
            let path = if path.is_dir() {
                path.join("stats.json")
            } else {
                path
            };
            let stats = orchestrion_dataset::load_stats(&path)?;
            if markdown {
                println!("{}\n", stats.markdown_counts());
                print!("{}", stats.markdown_table());
            } else {
                print_summary(&stats);
            }
            Ok(())
        }
    }
}

/// Draws an indicatif bar on a terminal (indicatif hides it otherwise) and prints warnings
/// above it.
struct Bar {
    bar: ProgressBar,
    quiet: bool,
    warnings: AtomicUsize,
}

impl Progress for Bar {
    fn start(&self, files: usize) {
        self.bar.set_length(files as u64);
    }
    fn file_done(&self) {
        self.bar.inc(1);
    }
    fn warn(&self, message: &str) {
        self.warnings.fetch_add(1, Ordering::Relaxed);
        if !self.quiet {
            self.bar.suspend(|| eprintln!("warning: {message}"));
        }
    }
    fn phase(&self, name: &str) {
        self.bar.set_message(name.to_string());
    }
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let recipe = LoadedRecipe::load(&args.recipe, args.datasets_dir.as_deref())?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} {msg:>8} [{bar:40}] {pos}/{len} files {elapsed}")
            .context("progress template")?
            .progress_chars("=> "),
    );
    bar.set_message("reading");
    let progress = Bar {
        bar,
        quiet: args.quiet,
        warnings: AtomicUsize::new(0),
    };
    let started = Instant::now();
    let stats =
        orchestrion_dataset::build_with_threads(&recipe, &args.out, &progress, args.threads)
            .with_context(|| format!("building {}", args.recipe.display()))?;
    progress.bar.finish_and_clear();
    print_summary(&stats);
    println!(
        "wrote {} in {:.1} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn print_summary(stats: &Stats) {
    println!(
        "dataset {} (recipe {}): {} files found, {} excluded, {} skipped, {} used",
        stats.name,
        stats.recipe_hash,
        stats.files.found,
        stats.files.excluded,
        stats.files.skipped,
        stats.files.used
    );
    println!(
        "songs: {} train, {} validation; windows: {} train, {} validation ({} before filters)",
        stats.songs.train,
        stats.songs.validation,
        stats.windows.train,
        stats.windows.validation,
        stats.windows.before_filters
    );
    let notes: Vec<String> = stats
        .notes_per_role
        .iter()
        .map(|(role, n)| format!("{role} {n}"))
        .collect();
    println!("notes: {}", notes.join(", "));
    for (reason, count) in &stats.skipped_by_reason {
        println!("skipped ({reason}): {count}");
    }
    println!("\nreference metrics (averaged over every window):");
    println!("{}", stats.metrics);
}
