//! `orchestrion samples`: the sample melodies shipped with the studio, listed or written as MIDI
//! files, so that `generate` can be tried without a MIDI file of one's own.

use anyhow::{Context, bail};
use orchestrion_studio::samples;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Write every sample (or the one named by --id) as `<id>.mid` into this folder
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Only this sample (an id from the list)
    #[arg(long)]
    id: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let chosen: Vec<_> = match &args.id {
        Some(id) => match samples::find(id) {
            Some(sample) => vec![sample],
            None => {
                let ids: Vec<_> = samples::all().iter().map(|s| s.id).collect();
                bail!("no sample '{id}'; the samples are: {}", ids.join(", "))
            }
        },
        None => samples::all(),
    };
    let Some(out) = args.out else {
        println!(
            "{:<14} {:<30} {:>5} {:>5} {:>4}",
            "id", "name", "meter", "bpm", "bars"
        );
        for s in &chosen {
            let meter = format!("{}/{}", s.meter.numerator, s.meter.denominator);
            println!(
                "{:<14} {:<30} {:>5} {:>5} {:>4}",
                s.id, s.name, meter, s.tempo_bpm, s.bars
            );
        }
        return Ok(());
    };
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for s in &chosen {
        let path = out.join(format!("{}.mid", s.id));
        s.to_song()
            .write_file(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
