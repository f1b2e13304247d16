//! `orchestrion generate`: write a band arrangement around a melody with a genre model.

use anyhow::Context;
use orchestrion_model::{GenerateOptions, GenreModel};
use orchestrion_music::{Limits, Song, TrackRole};
use std::path::PathBuf;

/// Arguments of `orchestrion generate`.
#[derive(clap::Args)]
pub struct Args {
    /// A model folder (config.json + weights), e.g. models/pop.
    #[arg(long)]
    pub model: PathBuf,
    /// The melody (a MIDI file; its melody track, else its first pitched track).
    #[arg(long)]
    pub melody: PathBuf,
    /// Bars to write (default: as long as the melody).
    #[arg(long)]
    pub bars: Option<u32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Draw this many arrangements and keep the one the critic likes best.
    #[arg(long, default_value_t = 1)]
    pub candidates: u32,
    /// Swing of the written parts, 0.0 (straight) to 0.5; 0.33 is the triplet feel of jazz.
    /// Default: the model's own (the jazz model swings, the others play straight).
    #[arg(long)]
    pub swing: Option<f32>,
    /// Keep these parts (comma-separated roles, e.g. drums,bass) from --from.
    #[arg(long, value_delimiter = ',', requires = "from")]
    pub lock: Vec<String>,
    /// The earlier arrangement whose locked parts are kept.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Output MIDI file.
    #[arg(short, long)]
    pub output: PathBuf,
}

fn parse_role(name: &str) -> anyhow::Result<TrackRole> {
    let all = [
        TrackRole::Drums,
        TrackRole::Bass,
        TrackRole::Piano,
        TrackRole::Guitar,
        TrackRole::Strings,
        TrackRole::Pad,
        TrackRole::Brass,
        TrackRole::Reed,
        TrackRole::Other,
    ];
    all.into_iter()
        .find(|r| r.as_str() == name.trim().to_lowercase())
        .with_context(|| {
            format!("unknown role {name:?} (try drums, bass, piano, guitar, strings, pad)")
        })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model = GenreModel::load(&args.model)?;
    let melody = Song::read_file(&args.melody, &Limits::default())
        .with_context(|| format!("reading {}", args.melody.display()))?;
    let lock = match &args.from {
        Some(path) => {
            let previous = Song::read_file(path, &Limits::default())
                .with_context(|| format!("reading {}", path.display()))?;
            let roles = args
                .lock
                .iter()
                .map(|r| parse_role(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Some((previous, roles))
        }
        None => None,
    };
    let options = GenerateOptions {
        bars: args.bars,
        seed: args.seed,
        candidates: args.candidates,
        lock,
        swing: args.swing,
    };
    let generation = model.generate(&melody, &options)?;
    generation
        .song
        .write_file(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    for (seed, score) in &generation.candidates {
        println!("candidate seed {seed}: critic score {score:.3}");
    }
    println!(
        "wrote {} (model {} hash {}, seed {})",
        args.output.display(),
        model.info().name,
        generation.model_hash,
        generation.seed
    );
    Ok(())
}
