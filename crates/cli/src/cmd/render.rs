//! `orchestrion render`: a MIDI file to a WAV mix (and stems) through orchestrion-render.

use anyhow::Context;
use orchestrion_music::{Limits, Song};
use orchestrion_render::{RenderOptions, Renderer, SoundFontChoice};
use std::path::PathBuf;

/// Arguments of `orchestrion render`.
#[derive(clap::Args)]
pub struct Args {
    /// The MIDI file to render.
    input: PathBuf,
    /// Where to write the mix (44.1 kHz stereo 16-bit WAV).
    #[arg(short, long)]
    output: PathBuf,
    /// SF2 SoundFont to use (else $ORCHESTRION_SOUNDFONT, then system paths; see docs/audio.md).
    #[arg(long)]
    soundfont: Option<PathBuf>,
    /// Use the built-in synth even when a SoundFont is installed.
    #[arg(long, conflicts_with = "soundfont")]
    builtin_synth: bool,
    /// Also write one WAV per track into this folder.
    #[arg(long)]
    stems: Option<PathBuf>,
    /// Humanize the performance (the default for audio).
    #[arg(long, conflicts_with = "no_humanize")]
    humanize: bool,
    /// Play the notes exactly as written.
    #[arg(long)]
    no_humanize: bool,
    /// Seed of the humanizer: the same seed gives the same performance.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Swing of off-beat eighths, 0.0 (straight) to 0.5; 0.33 is triplet swing.
    #[arg(long, default_value_t = 0.0)]
    swing: f32,
    /// Output sample rate in Hz.
    #[arg(long, default_value_t = 44_100)]
    sample_rate: u32,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let song = Song::read_file(&args.input, &Limits::default())
        .with_context(|| format!("reading {}", args.input.display()))?;
    let soundfont = match (&args.soundfont, args.builtin_synth) {
        (Some(path), _) => SoundFontChoice::File(path.clone()),
        (None, true) => SoundFontChoice::BuiltIn,
        (None, false) => SoundFontChoice::Auto,
    };
    let options = RenderOptions {
        soundfont,
        sample_rate: args.sample_rate,
        humanize: (!args.no_humanize).then_some(args.seed),
        swing: args.swing,
        ..RenderOptions::default()
    };
    let renderer = Renderer::new(options)?;
    if let Some(notice) = renderer.fallback_notice() {
        eprintln!("warning: {notice}");
    }
    // indicatif draws only when stderr is a terminal.
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template("rendering [{bar:40}] {percent:>3}% {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let report = renderer.render_files(
        &song,
        Some(&args.output),
        args.stems.as_deref(),
        &mut |fraction| bar.set_position((fraction * 1000.0) as u64),
    )?;
    bar.finish_and_clear();
    let source = match &report.soundfont {
        Some(path) => path.display().to_string(),
        None => "built-in synth".to_string(),
    };
    println!(
        "wrote {} ({:.1} s, {} Hz, {source})",
        args.output.display(),
        report.seconds,
        report.sample_rate
    );
    for stem in &report.stems {
        println!("wrote {}", stem.display());
    }
    Ok(())
}
