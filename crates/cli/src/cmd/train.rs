//! `orchestrion train`: train a genre model on a built dataset, with a progress bar, a
//! checkpoint every `--eval-every` steps and a clean stop on Ctrl-C (checkpoint, exit status 0;
//! a second Ctrl-C exits at once with 130). The loop lives in
//! `orchestrion_model::training`.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use orchestrion_model::training::{TrainOptions, Trainer};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Arguments of `orchestrion train`.
#[derive(clap::Args)]
pub struct Args {
    /// A dataset directory built by `orchestrion dataset build` (e.g. data/pop).
    #[arg(long)]
    pub data: PathBuf,
    /// The run directory: checkpoint/, events.jsonl, samples/ (e.g. runs/pop-001).
    #[arg(long)]
    pub out: PathBuf,
    /// Total generator steps (a resumed run may raise it).
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam learning rate of both networks.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Critic updates per generator update.
    #[arg(long, default_value_t = 1)]
    pub critic_updates: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Checkpoint, metrics and sample MIDI every this many steps.
    #[arg(long, default_value_t = 200)]
    pub eval_every: u64,
    /// Weight of the reconstruction term (0 = pure GAN).
    #[arg(long, default_value_t = 1.0)]
    pub recon_weight: f32,
    /// Generator channels at step resolution.
    #[arg(long, default_value_t = 64)]
    pub channels: usize,
    /// Swing the model's parts get when written out: 0.0 straight to 0.5; 0.33 is the triplet
    /// feel of jazz. Stored in the model's config.json; training itself ignores it.
    #[arg(long, default_value_t = 0.0)]
    pub swing: f32,
    /// Start from this trained model's weights (a model folder, e.g. models/pop) instead of
    /// random ones: the roles both models have keep what they learned, new roles start fresh.
    #[arg(long, conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dataset = orchestrion_dataset::Dataset::open(&args.data)
        .with_context(|| format!("opening dataset {}", args.data.display()))?;
    let reference = orchestrion_dataset::load_stats(&args.data.join("stats.json"))
        .ok()
        .map(|s| s.metrics);
    let options = TrainOptions {
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        critic_updates: args.critic_updates,
        seed: args.seed,
        eval_every: args.eval_every,
        recon_weight: args.recon_weight,
        channels: args.channels,
        swing: args.swing,
        init_from: args.init_from,
        ..TrainOptions::default()
    };
    let mut trainer = Trainer::new(dataset, reference, &args.out, options, args.resume)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone());
    let bar = ProgressBar::new(trainer.options.steps);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {per_sec}  ETA {eta}  {msg}")
            .expect("valid template"),
    );
    bar.set_position(trainer.step());
    let mut on_step = |l: &orchestrion_model::training::StepLosses| {
        bar.set_position(l.step);
        bar.set_message(format!(
            "G {:.3} (rec {:.3})  D {:.3}  {:.0} ms",
            l.g_loss, l.recon, l.d_loss, l.millis
        ));
    };
    let mut on_eval = |e: &orchestrion_model::training::Evaluation| {
        bar.println(format!(
            "step {}: metric distance to the data {:.3}",
            e.step, e.distance
        ));
    };
    trainer.run(&stop, &mut on_step, &mut on_eval)?;
    bar.finish();
    if stop.load(Ordering::SeqCst) {
        eprintln!(
            "stopped at step {}; checkpoint written. Continue with --resume.",
            trainer.step()
        );
    }
    println!("checkpoint: {}", args.out.join("checkpoint").display());
    Ok(())
}

/// Set `stop` on Ctrl-C, so the loop finishes its step, writes a checkpoint and the command
/// exits with status 0. A second Ctrl-C exits at once with status 130 (the last checkpoint on
/// disk stays valid: checkpoints are renamed into place whole).
fn watch_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
            eprintln!("\nCtrl-C: finishing the step and writing a checkpoint…");
            stop.store(true, Ordering::SeqCst);
            if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
                eprintln!("\nsecond Ctrl-C: exiting without a new checkpoint");
                std::process::exit(130);
            }
        }
    });
}
