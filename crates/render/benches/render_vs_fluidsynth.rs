//! Benchmark: our renderer against FluidSynth (`fluidsynth -F`) on the same 4-track MIDI file
//! and the same SoundFont, in the same run. Prints seconds, × real time and the ratio.
//!
//! `cargo bench -p orchestrion-render --bench render_vs_fluidsynth [-- BARS]`

#[path = "../tests/common/mod.rs"]
mod common;

use orchestrion_render::{RenderOptions, Renderer, SoundFontChoice};
use std::process::Command;
use std::time::Instant;

fn main() {
    let bars: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(64);
    let font = std::path::PathBuf::from("/usr/share/sounds/sf2/FluidR3_GM.sf2");
    if !font.is_file() {
        eprintln!(
            "skipping: {} missing (apt-get install fluid-soundfont-gm)",
            font.display()
        );
        return;
    }
    let mut song = common::band_song(bars);
    song.tracks.truncate(4); // melody, bass, piano, drums
    let dir = tempfile::tempdir().expect("temp dir");
    let midi = dir.path().join("bench.mid");
    song.write_file(&midi).expect("write MIDI");
    let song = orchestrion_music::Song::read_file(&midi, &orchestrion_music::Limits::default())
        .expect("read MIDI back");
    let seconds = song.duration_seconds();

    let load = Instant::now();
    let renderer = Renderer::new(RenderOptions {
        soundfont: SoundFontChoice::File(font.clone()),
        humanize: None,
        ..RenderOptions::default()
    })
    .expect("renderer");
    let load_s = load.elapsed().as_secs_f64();
    let ours = Instant::now();
    let ours_wav = dir.path().join("ours.wav");
    renderer
        .render_to_file(&song, &ours_wav, &mut |_| {})
        .expect("render");
    let ours_s = ours.elapsed().as_secs_f64() + load_s;

    let fluid_wav = dir.path().join("fluid.wav");
    let fluid = Instant::now();
    let status = Command::new("fluidsynth")
        .args(["-ni", "-q", "-F"])
        .arg(&fluid_wav)
        .args(["-r", "44100"])
        .arg(&font)
        .arg(&midi)
        .status();
    let fluid_s = fluid.elapsed().as_secs_f64();
    let fluid_ok = matches!(status, Ok(s) if s.success());

    println!(
        "4-track song, {bars} bars, {seconds:.1} s of music, {} rayon threads, FluidR3_GM.sf2",
        rayon::current_num_threads()
    );
    println!("| renderer | seconds (incl. SoundFont load) | × real time | ratio to fluidsynth |");
    println!("|---|---|---|---|");
    let ratio = |s: f64| {
        if fluid_ok {
            format!("{:.2}", s / fluid_s)
        } else {
            "n/a".into()
        }
    };
    println!(
        "| orchestrion-render | {ours_s:.2} (load {load_s:.2}) | {:.0}× | {} |",
        seconds / ours_s,
        ratio(ours_s)
    );
    if fluid_ok {
        println!(
            "| fluidsynth -F | {fluid_s:.2} | {:.0}× | 1.00 |",
            seconds / fluid_s
        );
    } else {
        println!("| fluidsynth -F | not run: {status:?} (apt-get install fluidsynth) | | |");
    }
}
