//! Benchmark: every metric on 1,000 windows of real music, against muspy (Python) computing its
//! six metrics on the same windows in the same run. The target is < 1 s for 1,000 windows.
//!
//! Windows are 4 bars at 4 steps per beat, pitch rows MIDI 24–107, six roles (melody, drums,
//! bass, piano, guitar, strings), cut from pop909 and freedoom-rock songs in sorted order (hop 4
//! bars) until 1,000 are collected. Run: `cargo bench -p orchestrion-metrics --bench metrics`.

use orchestrion_metrics::{MetricsAccumulator, evaluate};
use orchestrion_music::{Grid, Limits, PianoRoll, PlaneSpec, Song, TrackRole};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WINDOWS: usize = 1000;
const WINDOW_BARS: usize = 4;
const RUNS: usize = 7;
const ROLES: [TrackRole; 6] = [
    TrackRole::Melody,
    TrackRole::Drums,
    TrackRole::Bass,
    TrackRole::Piano,
    TrackRole::Guitar,
    TrackRole::Strings,
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn midi_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("mid")))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Windows taken alternately from the two corpora, so both pop (no drums) and rock band
/// arrangements (drums, bass, guitar) are in the mix.
fn load_windows(datasets: &Path) -> Vec<PianoRoll> {
    let corpora = [
        midi_files(&datasets.join("pop909/midi")),
        midi_files(&datasets.join("freedoom-rock-midi/midi")),
    ];
    let mut windows = Vec::with_capacity(WINDOWS);
    let mut next = [0usize; 2];
    'outer: while windows.len() < WINDOWS {
        let mut progressed = false;
        for (corpus, files) in corpora.iter().enumerate() {
            let Some(path) = files.get(next[corpus]) else {
                continue;
            };
            next[corpus] += 1;
            progressed = true;
            let Ok(song) = Song::read_file(path, &Limits::default()) else {
                continue;
            };
            let planes = PlaneSpec::by_role(&song, &ROLES);
            let Ok(roll) = PianoRoll::from_song(&song, Grid::SIXTEENTHS, &planes, 24, 84) else {
                continue;
            };
            let bars = roll.bar_steps.len();
            for start in (0..bars.saturating_sub(WINDOW_BARS - 1)).step_by(WINDOW_BARS) {
                windows.push(roll.slice_bars(start..start + WINDOW_BARS));
                if windows.len() == WINDOWS {
                    break 'outer;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    windows
}

/// muspy's six metrics on the same windows, timed by the Python script; `None` (reason printed)
/// when it cannot run.
fn muspy_seconds(windows: &[PianoRoll]) -> Option<(f64, String)> {
    let dir = tempfile::tempdir().ok()?;
    let input = dir.path().join("windows.json");
    let json = serde_json::json!({
        "steps_per_beat": windows[0].steps_per_beat,
        "windows": windows.iter().map(|w| serde_json::json!({
            "measure_steps": w.bar_steps[0],
            "tracks": (0..w.roles.len()).map(|t| serde_json::json!({
                "is_drum": w.is_drum[t],
                "notes": w.step_notes(t).iter()
                    .map(|n| [n.start_step, n.duration_steps, u64::from(n.pitch)])
                    .collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(&input, json.to_string()).ok()?;
    let output = Command::new("python3")
        .arg(repo_root().join("scripts/metrics_bench_muspy.py"))
        .arg(&input)
        .output();
    match output {
        Err(e) => {
            println!("muspy reference skipped: cannot run python3 ({e})");
            None
        }
        Ok(out) if out.status.code() == Some(3) => {
            println!("muspy reference skipped: muspy is not installed (pip install muspy)");
            None
        }
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let result: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            Some((
                result["seconds"].as_f64()?,
                result["muspy_version"].as_str()?.to_owned(),
            ))
        }
    }
}

fn main() {
    let datasets = repo_root().join("../shared/datasets");
    if !datasets.is_dir() {
        println!("skipped: no datasets at {}", datasets.display());
        return;
    }
    let windows = load_windows(&datasets);
    assert_eq!(windows.len(), WINDOWS, "not enough windows in the datasets");
    let notes: usize = windows
        .iter()
        .map(|w| (0..w.roles.len()).map(|t| w.note_count(t)).sum::<usize>())
        .sum();

    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut mean = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut acc = MetricsAccumulator::new();
        for window in &windows {
            acc.add(&evaluate(window).expect("valid window"));
        }
        let report = acc.finish();
        times.push(started.elapsed());
        mean = Some(report);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (min, median, max) = (times[0], times[RUNS / 2], times[RUNS - 1]);

    println!(
        "Metrics on {WINDOWS} windows ({WINDOW_BARS} bars, {} roles, 4 steps/beat, 84 pitch rows; \
         {notes} notes; pop909 + freedoom-rock)\n",
        ROLES.len()
    );
    println!(
        "| implementation | metrics | min ms | median ms | max ms | µs / window |\n|---|---|---|---|---|---|"
    );
    println!(
        "| orchestrion-metrics `evaluate` + `MetricsAccumulator` (Rust, {RUNS} runs) | 8 per track + TD per pair | {:.1} | {:.1} | {:.1} | {:.1} |",
        ms(min),
        ms(median),
        ms(max),
        ms(median) * 1e3 / WINDOWS as f64
    );
    if let Some((seconds, version)) = muspy_seconds(&windows) {
        println!(
            "| muspy {version} (Python), same windows, best of 3 | its 6 shared metrics | {:.1} | | | {:.1} |",
            seconds * 1e3,
            seconds * 1e6 / WINDOWS as f64
        );
        println!(
            "\nRust is {:.0}× faster than muspy (min vs min).",
            seconds / min.as_secs_f64()
        );
    }
    println!(
        "\nTarget: < 1000 ms for {WINDOWS} windows → {}",
        if min < Duration::from_secs(1) {
            "met"
        } else {
            "NOT met"
        }
    );
    if let Some(report) = mean {
        println!("\nMean metrics of these windows:\n{report}");
    }
}
