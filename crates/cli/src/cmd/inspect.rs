//! `orchestrion inspect`: what a MIDI file holds (tracks, roles, programs, bars, meters, tempi,
//! key estimate, pitch range), as a table or as the stable JSON of `docs/inspect.md`.

use anyhow::Context;
use orchestrion_music::{Limits, Song, SongSummary};
use std::path::PathBuf;

/// Arguments of `orchestrion inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The MIDI file (.mid, .midi, or RIFF-wrapped .rmi).
    pub file: PathBuf,
    /// Print the stable JSON summary (see docs/inspect.md) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The reader's limits on hostile or absurd files; any command that reads MIDI can flatten these.
#[derive(clap::Args, Debug, Clone)]
pub struct LimitArgs {
    /// Largest MIDI file to read, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = Limits::DEFAULT_MAX_FILE_BYTES as f64 / MIB)]
    pub max_file_mib: f64,
    /// Most tracks in one MIDI file.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_TRACKS)]
    pub max_tracks: usize,
    /// Most notes in one MIDI file.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT_MAX_NOTES)]
    pub max_notes: usize,
    /// Longest piece, in minutes of playing time.
    #[arg(long, value_name = "MINUTES", default_value_t = Limits::DEFAULT_MAX_SECONDS / 60.0)]
    pub max_minutes: f64,
}

const MIB: f64 = 1024.0 * 1024.0;

impl LimitArgs {
    /// The limits these flags ask for; negative or NaN values are refused.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        for (flag, value) in [
            ("--max-file-mib", self.max_file_mib),
            ("--max-minutes", self.max_minutes),
        ] {
            anyhow::ensure!(
                value >= 0.0,
                "{flag} must be a number of at least 0, got {value}"
            );
        }
        Ok(Limits {
            // `as` saturates, so a huge value means "no limit" rather than wrapping.
            max_file_bytes: (self.max_file_mib * MIB) as u64,
            max_tracks: self.max_tracks,
            max_notes: self.max_notes,
            max_seconds: self.max_minutes * 60.0,
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let limits = args.limits.limits()?;
    let song = Song::read_file(&args.file, &limits)
        .with_context(|| format!("cannot inspect {}", args.file.display()))?;
    let summary = SongSummary::of(&song);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("file            {}", args.file.display());
        print!("{summary}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn limit_flags_default_to_the_library_defaults_and_map_to_limits() {
        let defaults = Cli::parse_from(["x"]).limits.limits().unwrap();
        assert_eq!(defaults, Limits::default());
        let raised = Cli::parse_from(["x", "--max-file-mib", "0.5", "--max-minutes", "2"])
            .limits
            .limits()
            .unwrap();
        assert_eq!(raised.max_file_bytes, 512 * 1024);
        assert_eq!(raised.max_seconds, 120.0);
        assert!(
            Cli::parse_from(["x", "--max-minutes=-1"])
                .limits
                .limits()
                .is_err()
        );
    }
}
