//! Benchmark of the GAN against the same architecture in PyTorch (`bench/torch_gan.py`), run
//! in the same process tree so both see the same machine load.
//!
//! Per model config (`models/chorale/config.json` and the 4-track
//! `bench/configs/pop4.json`):
//! - generation of 8 bars × the config's tracks at batch 1: the network part window by window
//!   as `inference.rs` does it (generator, sigmoid, paste, critic, probabilities to the host),
//!   which is what the PyTorch script times, and the whole in-process `GenreModel::generate`;
//! - one training step at batch 32 (`Trainer::train_step`: critic update, generator update with
//!   the reconstruction term, batch drawing included);
//! - achieved GFLOP/s from convolution FLOPs counted from the config, against the machine's
//!   peak (a measured 1024³ matmul in burn, and the AVX/FMA upper bound from the CPU flags);
//! - peak RSS and wall time of the `orchestrion generate` process (`/usr/bin/time -v`).
//!
//! Run: `bash bench/run.sh` (or `cargo bench -p orchestrion-model --bench gan`). Without
//! `--bench` on the command line (e.g. `cargo test --all-targets`) it does nothing.

use burn::prelude::*;
use orchestrion_dataset::{Dataset, DatasetMeta, Window, WindowNote};
use orchestrion_model::data::{self, Batch, Canvas, Example, GridNote};
use orchestrion_model::training::{TrainOptions, Trainer};
use orchestrion_model::{GanConfig, GenerateOptions, GenreModel, store};
use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const BARS: u32 = 8;
const BATCH: usize = 32;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn percentile(values: &[f64], q: f64) -> f64 {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let k = (s.len() - 1) as f64 * q;
    let (lo, hi) = (k.floor() as usize, k.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (k - lo as f64)
}

fn time_ms(runs: usize, warmup: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..warmup {
        f();
    }
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Multiply-accumulates of one 1-D convolution over `t_in` steps.
fn conv_macs(cin: usize, cout: usize, kernel: usize, stride: usize, t_in: usize) -> f64 {
    (cout * cin * kernel * (t_in / stride)) as f64
}

/// Forward FLOPs (2 per MAC) of the generator and the critic for one example, from the same
/// layer list as `GanConfig::init`.
fn forward_flops(config: &GanConfig) -> (f64, f64) {
    let layout = config.layout();
    let (p, t) = (layout.roll_channels(), layout.steps);
    let side = layout.roles.len() + data::POSITION_CHANNELS;
    let (c, cb, cc, z) = (
        config.channels,
        config.beat_channels,
        config.critic_channels,
        config.latent,
    );
    let beats = t / 4;
    let generator = conv_macs(p + side, c, 1, 1, t)
        + conv_macs(c, c, 3, 1, t)
        + conv_macs(c, cb, 4, 4, t)
        + conv_macs(z, cb, 1, 1, 1)
        + 3.0 * conv_macs(cb, cb, 3, 1, beats)
        + conv_macs(cb, c, 1, 1, t)
        + conv_macs(c, c, 3, 1, t)
        + conv_macs(c, p, 1, 1, t);
    let critic = conv_macs(p + side, cc, 1, 1, t)
        + conv_macs(cc, 2 * cc, 4, 4, t)
        + conv_macs(2 * cc, 2 * cc, 3, 1, beats)
        + conv_macs(2 * cc, 2 * cc, 4, 4, beats)
        + conv_macs(2 * cc, 1, 1, 1, 1);
    (2.0 * generator, 2.0 * critic)
}

/// Windows of a song of `bars` bars as `inference.rs` walks it (window, hop window − 1).
fn window_bars(config: &GanConfig, bars: usize) -> Vec<usize> {
    let w = config.window_bars.max(1) as usize;
    let hop = if w > 1 { w - 1 } else { 1 };
    let mut out = Vec::new();
    let mut first = 0;
    loop {
        let last = (first + w).min(bars);
        out.push(last - first);
        if last >= bars {
            return out;
        }
        first += hop;
    }
}

fn melody_notes(bar_steps: &[u32]) -> Vec<GridNote> {
    let total: u32 = bar_steps.iter().sum();
    (0..total / 4)
        .map(|i| GridNote {
            role: 0,
            pitch: 64 + (i % 5) as u8 * 2,
            velocity: 90,
            start: i * 4,
            duration: 3,
        })
        .collect()
}

/// The network part of generation: every window through the generator and the critic at
/// batch 1, the probabilities brought back to the host.
fn generate_network(
    config: &GanConfig,
    generator: &orchestrion_model::Generator,
    critic: &orchestrion_model::Critic,
    spectral: &orchestrion_model::SpectralState,
    device: &Device,
) -> usize {
    let layout = config.layout();
    let mut spectral = spectral.clone();
    let mut cells = 0;
    for bars in window_bars(config, BARS as usize) {
        let bar_steps = vec![16u32; bars];
        let valid = (16 * bars).min(layout.steps);
        let example = Example {
            roll: data::rasterize(&layout, valid, &melody_notes(&bar_steps), 0),
            known: data::known_plane(
                &layout,
                valid,
                Canvas {
                    context_steps: 16,
                    locked: 0,
                },
            ),
            position: data::position_planes(&layout, &bar_steps),
            valid_steps: valid,
            bar_steps,
        };
        let batch = Batch::new(&layout, std::slice::from_ref(&example), device);
        let z = Tensor::<2>::zeros([1, config.latent], device);
        let probs = burn::tensor::activation::sigmoid(generator.forward(batch.canvas(), z));
        let full = batch.paste(probs);
        let score = critic.forward(full.clone(), batch.side.clone(), &mut spectral);
        let host: Vec<f32> = full.into_data().try_to_vec().expect("f32");
        cells += host.iter().filter(|&&p| p > config.onset_threshold).count();
        let _ = score.into_scalar::<f32>();
    }
    cells
}

fn melody_song() -> Song {
    let tpb = 480u64;
    let notes = (0..BARS as u64 * 4)
        .map(|i| Note {
            pitch: 64 + (i % 5) as u8 * 2,
            velocity: 90,
            start: i * tpb,
            duration: tpb * 3 / 4,
        })
        .collect();
    Song {
        ticks_per_beat: tpb as u16,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: 4,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "Melody".into(),
            program: 0,
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes,
        }],
        texts: vec![],
    }
}

/// Training windows with about the note density of the chorale data: a melody note per beat,
/// every other part a chord tone per beat, lasting the beat.
fn synthetic_dataset(config: &GanConfig) -> Dataset {
    let meta = DatasetMeta {
        name: config.name.clone(),
        roles: config.roles.clone(),
        programs: config.programs.clone(),
        steps_per_beat: config.steps_per_beat,
        window_bars: config.window_bars,
        max_window_steps: config.max_window_steps,
        pitch_ranges: config.pitch_ranges.clone(),
        meters: config.meters.clone(),
        recipe_hash: config.recipe_hash.clone(),
        transpose: (-3, 3),
    };
    let bars = config.window_bars as usize;
    let train = (0..256u32)
        .map(|song| {
            let mut notes = Vec::new();
            for beat in 0..(bars * 4) as u16 {
                for (track, &(low, rows)) in config.pitch_ranges.iter().enumerate() {
                    let pitch =
                        low + ((song as u16 * 7 + beat * 5 + track as u16 * 3) % rows as u16) as u8;
                    notes.push(WindowNote {
                        track: track as u8,
                        pitch,
                        velocity: 80,
                        start: beat * 4,
                        duration: 4,
                    });
                }
            }
            notes.sort_by_key(|n| (n.start, n.track, n.pitch));
            Window {
                song,
                bar_steps: vec![16; bars],
                notes,
            }
        })
        .collect();
    Dataset {
        meta,
        train,
        validation: Vec::new(),
    }
}

/// Achieved GFLOP/s of a 1024³ matmul in burn (p50 of 10): the practical peak of this backend.
fn matmul_peak() -> f64 {
    let device = Device::flex();
    let n = 1024;
    let a = Tensor::<2>::ones([n, n], &device);
    let b = Tensor::<2>::ones([n, n], &device);
    let ms = time_ms(10, 2, || {
        let c = a.clone().matmul(b.clone());
        let _ = c.slice([0..1, 0..1]).into_scalar::<f32>();
    });
    2.0 * (n * n * n) as f64 / (percentile(&ms, 0.5) * 1e6)
}

/// Upper bound from the CPU: cores × clock × FLOPs per cycle (two FMA ports; AVX-512: 16 f32
/// lanes, AVX2: 8).
fn theoretical_peak(threads: usize) -> (f64, String) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("")
        .to_string();
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let lanes = if flags.contains(" avx512f") {
        16.0
    } else if flags.contains(" avx2") {
        8.0
    } else {
        4.0
    };
    let per_cycle = 2.0 * 2.0 * lanes;
    let isa = if lanes == 16.0 { "AVX-512" } else { "AVX2" };
    (
        threads as f64 * mhz * 1e6 * per_cycle / 1e9,
        format!("{threads} cores × {mhz:.0} MHz × {per_cycle} FLOP/cycle ({isa}, 2 FMA)"),
    )
}

/// Forward + backward of every layer shape of `config` at batch 32, through burn's `conv1d` on
/// `[B, C, T]` (the first implementation) and through the matrix form on `[C, B, T]` (the
/// current one): where the training step's time went, and what the rewrite changed.
fn layer_profile(config: &GanConfig, runs: usize) -> Vec<(String, f64, f64)> {
    use burn::module::Param;
    use orchestrion_model::model::Conv;
    let device = Device::flex().autodiff();
    let layout = config.layout();
    let (p, t) = (layout.roll_channels(), layout.steps);
    let side = layout.roles.len() + data::POSITION_CHANNELS;
    let (c, cb, cc) = (
        config.channels,
        config.beat_channels,
        config.critic_channels,
    );
    let layers = [
        ("G pitch_in", p + side, c, 1, 1, 1, t),
        ("G step_in/step_out", c, c, 3, 1, 1, t),
        ("G to_beats", c, cb, 4, 4, 1, t),
        ("G beat1..3 (×3)", cb, cb, 3, 1, 2, t / 4),
        ("G from_beats", cb, c, 1, 1, 1, t),
        ("G pitch_out", c, p, 1, 1, 1, t),
        ("critic pitch_in", p + side, cc, 1, 1, 1, t),
        ("critic to_beats", cc, 2 * cc, 4, 4, 1, t),
        ("critic beat", 2 * cc, 2 * cc, 3, 1, 1, t / 4),
        ("critic to_bars", 2 * cc, 2 * cc, 4, 4, 1, t / 4),
    ];
    layers
        .iter()
        .map(|&(name, cin, cout, kernel, stride, dilation, steps)| {
            let weight: Vec<f32> = (0..cout * cin * kernel)
                .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
                .collect();
            let conv = Conv {
                weight: Param::from_data(TensorData::new(weight, [cout, cin, kernel]), &device),
                bias: Param::from_data(TensorData::new(vec![0.1f32; cout], [cout]), &device),
                stride,
                dilation,
            };
            let x = Tensor::<3>::ones([BATCH, cin, steps], &device).require_grad();
            let reference = time_ms(runs, 2, || {
                let y = conv.forward(x.clone());
                let _ = std::hint::black_box(y.sum().backward());
            });
            let xm = Tensor::<3>::ones([cin, BATCH, steps], &device).require_grad();
            let matrix = time_ms(runs, 2, || {
                let y = conv.apply(xm.clone());
                let _ = std::hint::black_box(y.sum().backward());
            });
            (
                name.to_string(),
                percentile(&reference, 0.5),
                percentile(&matrix, 0.5),
            )
        })
        .collect()
}

struct RustResult {
    network_ms: Vec<f64>,
    generate_ms: Vec<f64>,
    train_ms: Vec<f64>,
}

fn bench_rust(
    config: &GanConfig,
    model_dir: &Path,
    gen_runs: usize,
    train_runs: usize,
) -> RustResult {
    let device = Device::flex();
    let (config_loaded, generator, critic, spectral) =
        store::load_model(model_dir, &device).expect("model loads");
    assert_eq!(&config_loaded, config);
    let train_only = std::env::var("BENCH_TRAIN_ONLY").is_ok_and(|v| v == "1");
    let gen_runs = if train_only { 1 } else { gen_runs };
    let network_ms = time_ms(gen_runs, 3, || {
        std::hint::black_box(generate_network(
            config, &generator, &critic, &spectral, &device,
        ));
    });
    let model = GenreModel::load(model_dir).expect("model loads");
    let song = melody_song();
    let options = GenerateOptions {
        bars: Some(BARS),
        seed: 7,
        ..Default::default()
    };
    let generate_ms = time_ms(gen_runs, 3, || {
        std::hint::black_box(model.generate(&song, &options).expect("generates"));
    });
    let out = std::env::temp_dir().join(format!("orchestrion-bench-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let options = TrainOptions {
        batch: BATCH,
        channels: config.channels,
        beat_channels: config.beat_channels,
        critic_channels: config.critic_channels,
        latent: config.latent,
        ..TrainOptions::default()
    };
    let mut trainer =
        Trainer::new(synthetic_dataset(config), None, &out, options, false).expect("trainer");
    let train_ms = time_ms(train_runs, 2, || {
        std::hint::black_box(trainer.train_step());
    });
    let _ = std::fs::remove_dir_all(&out);
    RustResult {
        network_ms,
        generate_ms,
        train_ms,
    }
}

struct TorchResult {
    generate_ms: Vec<f64>,
    train_ms: Vec<f64>,
    matmul_gflops: f64,
    version: String,
}

fn bench_torch(
    config_path: &Path,
    threads: usize,
    gen_runs: usize,
    train_runs: usize,
) -> Result<TorchResult, String> {
    let script = repo_root().join("bench/torch_gan.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("--threads")
        .arg(threads.to_string())
        .arg("--gen-runs")
        .arg(gen_runs.to_string())
        .arg("--train-runs")
        .arg(train_runs.to_string())
        .arg(config_path)
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .env("OMP_NUM_THREADS", threads.to_string())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "torch_gan.py failed (is torch installed? `pip install torch`): {}",
            err.lines().last().unwrap_or("")
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().ok_or("no output")?;
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let samples = |key: &str| -> Vec<f64> {
        v[key]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default()
    };
    Ok(TorchResult {
        generate_ms: samples("generate_samples_ms"),
        train_ms: samples("train_samples_ms"),
        matmul_gflops: v["matmul_gflops"].as_f64().unwrap_or(f64::NAN),
        version: v["torch"].as_str().unwrap_or("?").to_string(),
    })
}

/// Wall time and peak RSS of the whole `orchestrion generate` process, p50 over `runs`.
fn process_generate(bin: &Path, model_dir: &Path, runs: usize) -> Result<(f64, f64), String> {
    if !bin.is_file() {
        return Err(format!(
            "{} not built (cargo build -p orchestrion)",
            bin.display()
        ));
    }
    if !Path::new("/usr/bin/time").is_file() {
        return Err("/usr/bin/time missing (apt-get install time)".into());
    }
    let dir = std::env::temp_dir().join(format!("orchestrion-bench-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let melody = dir.join("melody.mid");
    std::fs::write(&melody, melody_song().to_midi_bytes()).map_err(|e| e.to_string())?;
    let mut walls = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let output = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(bin)
            .args(["generate", "--model"])
            .arg(model_dir)
            .arg("--melody")
            .arg(&melody)
            .args(["--bars", &BARS.to_string(), "--seed", "7", "-o"])
            .arg(dir.join("out.mid"))
            .output()
            .map_err(|e| e.to_string())?;
        let err = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("orchestrion generate failed: {err}"));
        }
        let field = |name: &str| -> Option<String> {
            err.lines()
                .find(|l| l.trim_start().starts_with(name))
                .and_then(|l| l.rsplit_once(": ").map(|(_, v)| v.trim().to_string()))
        };
        let kb: f64 = field("Maximum resident set size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        let wall = field("Elapsed (wall clock) time")
            .map(|v| {
                v.split(':').fold(0.0, |acc, part| {
                    acc * 60.0 + part.parse::<f64>().unwrap_or(0.0)
                })
            })
            .unwrap_or(f64::NAN);
        walls.push(wall * 1000.0);
        rss.push(kb / 1024.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((percentile(&walls, 0.5), percentile(&rss, 0.5)))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("gan benchmark: run with `cargo bench -p orchestrion-model --bench gan`");
        return;
    }
    let threads = env_usize("BENCH_THREADS", 2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("rayon pool");
    let rounds = env_usize("BENCH_ROUNDS", 3);
    let gen_runs = env_usize("BENCH_GEN_RUNS", 20);
    let train_runs = env_usize("BENCH_TRAIN_RUNS", 5);
    let root = repo_root();
    let bin = std::env::var("ORCHESTRION_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .unwrap_or_else(|_| root.join("target").display().to_string());
            Path::new(&target).join("debug/orchestrion")
        });
    println!("# GAN benchmark: Rust (burn flex) vs PyTorch, {threads} threads");
    println!("load average at start: {}", load_average());
    let measured_peak = matmul_peak();
    let (cpu_peak, cpu_how) = theoretical_peak(threads);
    println!(
        "peak: burn 1024³ matmul {measured_peak:.1} GFLOP/s measured now; CPU bound {cpu_peak:.0} GFLOP/s = {cpu_how} (the gemm crate's f32 kernels run AVX2+FMA here: half that)"
    );

    let configs = [
        root.join("models/chorale/config.json"),
        root.join("bench/configs/pop4.json"),
    ];
    // BENCH_CONFIGS=chorale,pop4 picks configs; BENCH_TRAIN_ONLY=1 times training steps only
    // (for profiling under perf).
    let only = std::env::var("BENCH_CONFIGS").ok();
    let train_only = std::env::var("BENCH_TRAIN_ONLY").is_ok_and(|v| v == "1");
    let mut rows = Vec::new();
    for path in &configs {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let config: GanConfig = serde_json::from_str(&text).expect("GanConfig");
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|n| n == config.name))
        {
            continue;
        }
        // The shipped model with its real weights; other configs get freshly initialized ones.
        let model_dir = if path.ends_with("models/chorale/config.json") {
            root.join("models/chorale")
        } else {
            let dir = std::env::temp_dir().join(format!(
                "orchestrion-bench-model-{}-{}",
                config.name,
                std::process::id()
            ));
            let (g, c) = config.init(1, &Device::flex());
            let spectral = orchestrion_model::SpectralState::new(&c, 1);
            store::save_model(&dir, &config, &g, &c, &spectral).expect("model saves");
            dir
        };
        // Rounds alternate Rust and PyTorch, so a change of machine load hits both alike.
        let mut rust = RustResult {
            network_ms: Vec::new(),
            generate_ms: Vec::new(),
            train_ms: Vec::new(),
        };
        let mut torch: Result<TorchResult, String> = Err("BENCH_TRAIN_ONLY".into());
        for _ in 0..rounds {
            let round = bench_rust(&config, &model_dir, gen_runs, train_runs);
            rust.network_ms.extend(round.network_ms);
            rust.generate_ms.extend(round.generate_ms);
            rust.train_ms.extend(round.train_ms);
            if train_only {
                continue;
            }
            match (bench_torch(path, threads, gen_runs, train_runs), &mut torch) {
                (Ok(round), Ok(all)) => {
                    all.generate_ms.extend(round.generate_ms);
                    all.train_ms.extend(round.train_ms);
                }
                (Ok(round), all) => *all = Ok(round),
                (Err(e), all @ Err(_)) => *all = Err(e),
                (Err(_), Ok(_)) => {}
            }
        }
        let process = if train_only {
            Err("BENCH_TRAIN_ONLY".to_string())
        } else {
            process_generate(&bin, &model_dir, 7)
        };
        if !model_dir.starts_with(&root) {
            let _ = std::fs::remove_dir_all(&model_dir);
        }
        rows.push((config, rust, torch, process));
    }

    println!("load average at end: {}", load_average());
    println!();
    println!(
        "| config | measurement | Rust p50 | Rust p90 | PyTorch p50 | PyTorch p90 | Rust/PyTorch | Rust GFLOP/s | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (config, rust, torch, process) in &rows {
        let (fg, fd) = forward_flops(config);
        let windows = window_bars(config, BARS as usize).len() as f64;
        let gen_flops = windows * (fg + fd);
        // Critic update: G forward + critic forward and backward on real and fake (×3);
        // generator update: G and critic forward and backward (×3).
        let step_flops = BATCH as f64 * (fg + 6.0 * fd + 3.0 * fg + 3.0 * fd);
        let tracks = config.roles.len();
        let name = format!(
            "{} ({} tracks, {} rows)",
            config.name,
            tracks,
            config.layout().roll_channels()
        );
        let (tg50, tg90, tt50, tt90) = match torch {
            Ok(t) if !t.train_ms.is_empty() && !t.generate_ms.is_empty() => (
                percentile(&t.generate_ms, 0.5),
                percentile(&t.generate_ms, 0.9),
                percentile(&t.train_ms, 0.5),
                percentile(&t.train_ms, 0.9),
            ),
            _ => (f64::NAN, f64::NAN, f64::NAN, f64::NAN),
        };
        let gflops = |flops: f64, ms: f64| flops / (ms * 1e6);
        let n50 = percentile(&rust.network_ms, 0.5);
        println!(
            "| {name} | generate 8 bars, network (G+critic per window) | {n50:.1} ms | {:.1} ms | {tg50:.1} ms | {tg90:.1} ms | {:.2} | {:.1} | p50 < 50 ms, ≤ 0.8× |",
            percentile(&rust.network_ms, 0.9),
            n50 / tg50,
            gflops(gen_flops, n50)
        );
        let e50 = percentile(&rust.generate_ms, 0.5);
        println!(
            "| {name} | generate 8 bars, whole `GenreModel::generate` in process | {e50:.1} ms | {:.1} ms | | | {:.2} | {:.1} | p50 < 50 ms |",
            percentile(&rust.generate_ms, 0.9),
            e50 / tg50,
            gflops(gen_flops, e50)
        );
        let t50 = percentile(&rust.train_ms, 0.5);
        println!(
            "| {name} | training step, batch {BATCH}, 1 critic update | {t50:.0} ms | {:.0} ms | {tt50:.0} ms | {tt90:.0} ms | {:.2} | {:.1} = {:.0}% of the matmul peak (PyTorch {:.1}) | ≤ 250 ms, ≤ 1.2× |",
            percentile(&rust.train_ms, 0.9),
            t50 / tt50,
            gflops(step_flops, t50),
            100.0 * gflops(step_flops, t50) / measured_peak,
            gflops(step_flops, tt50)
        );
        match process {
            Ok((wall, rss)) => println!(
                "| {name} | `orchestrion generate` process (p50 of 7, {}) | {wall:.0} ms wall | | | | | | |\n| {name} | peak RSS of that process | {rss:.1} MiB | | | | | | < 200 MB |",
                bin.display()
            ),
            Err(e) => {
                println!("| {name} | `orchestrion generate` process | skipped: {e} | | | | | | |")
            }
        }
        println!(
            "| {name} | FLOPs | G {:.1} MFLOP + critic {:.1} MFLOP per example forward; generation {:.0} MFLOP; step {:.2} GFLOP | | | | | | |",
            fg / 1e6,
            fd / 1e6,
            gen_flops / 1e6,
            step_flops / 1e9
        );
    }
    if let Some(chorale) = rows.first().map(|r| r.0.clone()) {
        println!();
        println!(
            "Layer profile ({}, batch {BATCH}, forward + backward, p50 of 10): burn conv1d on [B, C, T] vs matrix product on [C, B, T]",
            chorale.name
        );
        println!("| layer | conv1d | matrix form | speed-up |");
        println!("|---|---|---|---|");
        let (mut a, mut b) = (0.0, 0.0);
        for (name, reference, matrix) in layer_profile(&chorale, 10) {
            let times = if name.contains("×3") {
                3.0
            } else if name.contains('/') {
                2.0
            } else {
                1.0
            };
            a += times * reference;
            b += times * matrix;
            println!(
                "| {name} | {reference:.2} ms | {matrix:.2} ms | {:.1}× |",
                reference / matrix
            );
        }
        println!(
            "| all layers of G and the critic once | {a:.1} ms | {b:.1} ms | {:.1}× |",
            a / b
        );
    }
    for (config, _, torch, _) in &rows {
        match torch {
            Ok(t) => println!(
                "PyTorch {} for {}: {} generation and {} training samples; its 1024³ matmul {:.1} GFLOP/s",
                t.version,
                config.name,
                t.generate_ms.len(),
                t.train_ms.len(),
                t.matmul_gflops
            ),
            Err(e) => println!("PyTorch skipped for {}: {e}", config.name),
        }
    }
}
