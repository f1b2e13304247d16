//! The learning test: a small model trained for about a minute on real Bach chorales must move
//! its output metrics toward the data's reference compared with its untrained self.

use orchestrion_dataset::{Dataset, LoadedRecipe, Silent};
use orchestrion_model::training::{TrainOptions, Trainer};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_minute_of_training_moves_metrics_toward_the_data() {
    let datasets = repo().join("../shared/datasets");
    if !datasets.join("jsb-chorales-music21").is_dir() {
        eprintln!("skipped: {} is absent", datasets.display());
        return;
    }
    let recipe = LoadedRecipe::load(&repo().join("recipes/chorale.toml"), Some(&datasets)).unwrap();
    let base = std::env::temp_dir().join(format!("orchestrion-learning-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let data_dir = base.join("data");
    let stats = orchestrion_dataset::build(&recipe, &data_dir, &Silent).unwrap();
    let dataset = Dataset::open(&data_dir).unwrap();
    let options = TrainOptions {
        steps: 150,
        batch: 16,
        lr: 1e-3,
        eval_every: 1000,
        eval_windows: 24,
        channels: 32,
        beat_channels: 48,
        critic_channels: 16,
        latent: 16,
        ..TrainOptions::default()
    };
    let mut trainer = Trainer::new(
        dataset,
        Some(stats.metrics),
        &base.join("run"),
        options,
        false,
    )
    .unwrap();
    let before = trainer.evaluate().unwrap();
    let started = std::time::Instant::now();
    trainer
        .run(&AtomicBool::new(false), &mut |_| {}, &mut |_| {})
        .unwrap();
    let after = trainer.evaluate().unwrap();
    eprintln!(
        "metric distance to the data: untrained {:.3}, after {} steps ({:.0} s) {:.3}",
        before.distance,
        trainer.step(),
        started.elapsed().as_secs_f64(),
        after.distance
    );
    assert!(
        after.distance < 0.7 * before.distance,
        "{} vs {}",
        after.distance,
        before.distance
    );
    let _ = std::fs::remove_dir_all(&base);
}
