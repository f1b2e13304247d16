//! Benchmark: our renderer against FluidSynth (`fluidsynth -F`) on the same 4-track MIDI file
//! and the same SoundFont, in the same run, several repetitions each (interleaved, so both see
//! the same machine load). Prints the median seconds, × real time, the ratio to FluidSynth and
//! CPU seconds, plus rows that show where our time goes (forced lanes, effects off, stems).
//!
//! `cargo bench -p orchestrion-render --bench render_vs_fluidsynth [-- BARS [REPETITIONS]]`

#[path = "../tests/common/mod.rs"]
mod common;

use orchestrion_render::{RenderOptions, Renderer, SoundFontChoice};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const FONT: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

/// Renders the benchmark file to the WAV path given; says how many synths ran in parallel.
type RenderRun = Box<dyn Fn(&Path) -> Result<usize, String>>;

/// One way of rendering the benchmark file, timed from loading the SoundFont to the closed file
/// (FluidSynth's time includes its own loading too).
struct Contender {
    name: &'static str,
    run: RenderRun,
    /// Whether its CPU time is a child process's (FluidSynth) or this process's (ours).
    child: bool,
    seconds: Vec<f64>,
    cpu_seconds: Vec<f64>,
    lanes: usize,
}

/// CPU seconds (user + system) of this process's threads, or of its waited-for children, from
/// /proc/self/stat (in clock ticks of 1/100 s).
fn cpu_seconds(children: bool) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses: state is field 3 of stat(5).
    let fields: Vec<f64> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0.0))
        .collect();
    let (user, system) = if children { (13, 14) } else { (11, 12) };
    (fields.get(user).unwrap_or(&0.0) + fields.get(system).unwrap_or(&0.0)) / 100.0
}

/// Our renderer on a pool of `threads`; `lanes` 0 lets it choose how many synths to run.
fn ours(
    name: &'static str,
    midi: &Path,
    threads: usize,
    lanes: usize,
    effects: bool,
    stems: bool,
) -> Contender {
    let midi = midi.to_path_buf();
    let run = move |out: &Path| -> Result<usize, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|err| err.to_string())?;
        pool.install(|| {
            let song =
                orchestrion_music::Song::read_file(&midi, &orchestrion_music::Limits::default())
                    .map_err(|err| err.to_string())?;
            let renderer = Renderer::new(RenderOptions {
                soundfont: SoundFontChoice::File(PathBuf::from(FONT)),
                humanize: None,
                threads: lanes,
                effects,
                ..RenderOptions::default()
            })
            .map_err(|err| err.to_string())?;
            let stems_dir = out.with_extension("stems");
            let report = renderer
                .render_files(
                    &song,
                    Some(out),
                    stems.then_some(stems_dir.as_path()),
                    &mut |_| {},
                )
                .map_err(|err| err.to_string())?;
            Ok(report.lanes)
        })
    };
    Contender {
        name,
        run: Box::new(run),
        child: false,
        seconds: Vec::new(),
        cpu_seconds: Vec::new(),
        lanes: 0,
    }
}

fn fluidsynth(midi: &Path) -> Contender {
    let midi = midi.to_path_buf();
    let run = move |out: &Path| -> Result<usize, String> {
        let status = Command::new("fluidsynth")
            .args(["-ni", "-q", "-T", "wav", "-r", "44100", "-F"])
            .arg(out)
            .arg(FONT)
            .arg(&midi)
            .status()
            .map_err(|err| format!("{err} (apt-get install fluidsynth)"))?;
        if status.success() {
            Ok(1)
        } else {
            Err(format!("fluidsynth exited with {status}"))
        }
    };
    Contender {
        name: "fluidsynth -F (1 thread)",
        run: Box::new(run),
        child: true,
        seconds: Vec::new(),
        cpu_seconds: Vec::new(),
        lanes: 0,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let bars = numbers.first().copied().unwrap_or(64);
    let repetitions = numbers.get(1).copied().unwrap_or(5).max(1) as usize;
    if !Path::new(FONT).is_file() {
        eprintln!("skipping: {FONT} missing (apt-get install fluid-soundfont-gm)");
        return;
    }
    let mut song = common::band_song(bars);
    song.tracks.truncate(4); // melody, bass, piano, drums
    let dir = tempfile::tempdir().expect("temp dir");
    let midi = dir.path().join("bench.mid");
    song.write_file(&midi).expect("write MIDI");
    let seconds = orchestrion_music::Song::read_file(&midi, &orchestrion_music::Limits::default())
        .expect("read MIDI back")
        .duration_seconds();

    let mut contenders = vec![
        fluidsynth(&midi),
        ours(
            "orchestrion-render, default (2 threads)",
            &midi,
            2,
            0,
            true,
            false,
        ),
        ours(
            "orchestrion-render, 2 lanes forced (2 threads)",
            &midi,
            2,
            2,
            true,
            false,
        ),
        ours(
            "orchestrion-render, reverb/chorus off (2 threads)",
            &midi,
            2,
            0,
            false,
            false,
        ),
        ours(
            "orchestrion-render, mix + 4 stems (2 threads)",
            &midi,
            2,
            0,
            true,
            true,
        ),
    ];
    for repetition in 0..repetitions {
        for (index, contender) in contenders.iter_mut().enumerate() {
            let out = dir.path().join(format!("out-{index}.wav"));
            let cpu_start = cpu_seconds(contender.child);
            let start = Instant::now();
            match (contender.run)(&out) {
                Ok(lanes) => contender.lanes = lanes,
                Err(err) => {
                    eprintln!("{}: {err}", contender.name);
                    continue;
                }
            }
            contender.seconds.push(start.elapsed().as_secs_f64());
            contender
                .cpu_seconds
                .push(cpu_seconds(contender.child) - cpu_start);
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_dir_all(out.with_extension("stems"));
        }
        eprintln!("repetition {} of {repetitions} done", repetition + 1);
    }

    println!(
        "4-track song ({bars} bars, {seconds:.1} s of music), FluidR3_GM.sf2, 44.1 kHz stereo WAV, \
         median of {repetitions} runs, SoundFont load included"
    );
    println!(
        "| renderer | synths | median s | min–max s | × real time | time ÷ fluidsynth's | median CPU s | music s ÷ CPU s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let reference = contenders
        .first()
        .filter(|fluid| !fluid.seconds.is_empty())
        .map(|fluid| median(&fluid.seconds));
    for contender in &contenders {
        if contender.seconds.is_empty() {
            println!("| {} | | not run | | | | | |", contender.name);
            continue;
        }
        let p50 = median(&contender.seconds);
        let min = contender.seconds.iter().copied().fold(f64::MAX, f64::min);
        let max = contender.seconds.iter().copied().fold(0.0, f64::max);
        let ratio = reference.map_or("n/a".to_string(), |fluid| format!("{:.2}", p50 / fluid));
        // Real time per CPU second: what one dedicated core would give, whatever the load.
        let cpu = median(&contender.cpu_seconds);
        println!(
            "| {} | {} | {p50:.3} | {min:.3}–{max:.3} | {:.0}× | {ratio} | {cpu:.2} | {:.0}× |",
            contender.name,
            contender.lanes,
            seconds / p50,
            seconds / cpu
        );
    }
}
