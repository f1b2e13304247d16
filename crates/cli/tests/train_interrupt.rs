//! Ctrl-C during `orchestrion train`: the real binary on a tiny dataset this test writes, SIGINT
//! after the first steps. The run must exit with status 0 after writing a checkpoint that loads
//! as a model, and `--resume` must continue from that checkpoint's step to the run's total.

use orchestrion_dataset::{DatasetMeta, Window, WindowNote, shard};
use orchestrion_music::TrackRole;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orchestrion-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two-bar windows with small pitch windows, so a training step takes milliseconds.
fn write_dataset(dir: &Path) {
    let meta = DatasetMeta {
        name: "tiny".into(),
        roles: vec![TrackRole::Melody, TrackRole::Bass],
        programs: vec![0, 33],
        steps_per_beat: 4,
        window_bars: 2,
        max_window_steps: 32,
        pitch_ranges: vec![(60, 12), (36, 12)],
        meters: vec![(4, 4)],
        recipe_hash: "interrupt-test".into(),
        transpose: (0, 0),
    };
    let windows: Vec<Window> = (0..16u32)
        .map(|song| {
            let mut notes = Vec::new();
            for beat in 0..8u16 {
                let step = beat * 4;
                notes.push(WindowNote {
                    track: 0,
                    pitch: 60 + ((song as u16 + beat) % 12) as u8,
                    velocity: 90,
                    start: step,
                    duration: 2,
                });
                notes.push(WindowNote {
                    track: 1,
                    pitch: 36 + (song % 12) as u8,
                    velocity: 80,
                    start: step,
                    duration: 4,
                });
            }
            Window {
                song,
                bar_steps: vec![16, 16],
                notes,
            }
        })
        .collect();
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&meta).unwrap()).unwrap();
    std::fs::write(
        dir.join("train.safetensors"),
        shard::encode(&windows).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("validation.safetensors"),
        shard::encode(&windows[..4]).unwrap(),
    )
    .unwrap();
}

fn steps_logged(run: &Path) -> usize {
    std::fs::read_to_string(run.join("events.jsonl"))
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"kind\":\"step\""))
                .count()
        })
        .unwrap_or(0)
}

fn checkpoint_step(run: &Path) -> u64 {
    let text = std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["step"].as_u64().expect("step in state.json")
}

/// Total steps of the run: enough that Ctrl-C lands mid-run, few enough that the resumed run
/// finishes in seconds (a step of this model takes milliseconds).
const STEPS: u64 = 300;

/// Kills the training process if the test fails while it runs.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn train(data: &Path, run: &Path, steps: u64, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orchestrion"));
    cmd.args(["train", "--data"])
        .arg(data)
        .arg("--out")
        .arg(run)
        .args(["--steps", &steps.to_string()])
        .args(["--batch", "4", "--channels", "8", "--eval-every", "100000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if resume {
        cmd.arg("--resume");
    }
    cmd
}

#[test]
fn ctrl_c_writes_a_checkpoint_that_resume_continues() {
    let root = temp_dir("train-interrupt");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_dataset(&data);
    let run = root.join("run");

    let mut child = Running(train(&data, &run, STEPS, false).spawn().unwrap());
    let started = Instant::now();
    while steps_logged(&run) < 3 {
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("train exited before the signal: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no training steps logged within 20 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !run.join("checkpoint").exists(),
        "no checkpoint before the signal"
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "train did not stop within 20 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after Ctrl-C; stderr: {stderr}"
    );
    assert!(stderr.contains("checkpoint written"), "stderr: {stderr}");

    let step = checkpoint_step(&run);
    assert!(step >= 3, "checkpoint at step {step}");
    assert_eq!(
        steps_logged(&run) as u64,
        step,
        "events.jsonl ends at the checkpoint"
    );
    assert!(
        !run.join("checkpoint.tmp").exists(),
        "no half-written checkpoint"
    );
    let model = orchestrion_model::GenreModel::load(&run.join("checkpoint"))
        .expect("the checkpoint loads as a model");
    assert_eq!(
        model.config().roles,
        vec![TrackRole::Melody, TrackRole::Bass]
    );

    assert!(step < STEPS, "the signal landed mid-run (step {step})");
    let before = std::fs::read_to_string(run.join("events.jsonl")).unwrap();

    let output = train(&data, &run, STEPS, true).output().unwrap();
    assert!(
        output.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(checkpoint_step(&run), STEPS, "resume runs to the total");
    assert_eq!(steps_logged(&run) as u64, STEPS);
    let after = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(
        after.starts_with(&before),
        "the resumed log continues the interrupted one"
    );
    let _ = std::fs::remove_dir_all(&root);
}
