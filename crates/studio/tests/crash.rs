//! Crash test with the real `orchestrion` binary: kill -9 the server while a composition is
//! running, start it again on the same data folder, and check that every job completes, each
//! result is whole, and nothing was lost. Then a SIGTERM must shut it down cleanly.

use crate::common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ORCHESTRION_BIN") {
        return Some(PathBuf::from(p));
    }
    // Integration tests run from target/<profile>/deps; the binary is one folder up.
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("orchestrion");
    candidate.is_file().then_some(candidate)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(bin: &Path, port: u16, data: &Path, models: &Path, database: Option<&str>) -> Child {
    let mut command = Command::new(bin);
    if let Some(url) = database {
        command.env("ORCHESTRION_DATABASE_URL", url);
    }
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--models-dir")
        .arg(models)
        .args(["--workers", "1", "--lease-secs", "2"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start orchestrion serve")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kill_9_mid_composition_then_restart_completes_every_job() {
    let Some(bin) = binary() else {
        eprintln!(
            "skipping: the orchestrion binary is not built (cargo build -p orchestrion, or set ORCHESTRION_BIN)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    common::write_test_model(&models, "tiny");
    let data = dir.path().join("data");
    // The same database for both lives of the server (Postgres when the suite runs on it).
    let database = common::database::for_test_server().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut server = spawn(&bin, port, &data, &models, database.as_deref());
    wait_ready(&client, &base).await;
    let melody: Value = client
        .post(format!("{base}/api/melodies"))
        .json(&json!({"sample": "ode_to_joy"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for seed in 0..4 {
        let r: Value = client
            .post(format!("{base}/api/compositions"))
            .json(&json!({"melody_id": melody["id"], "model": "tiny", "bars": 256, "candidates": 8, "seed": seed}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jobs.push((
            r["composition"]["id"].as_str().unwrap().to_string(),
            r["job"]["id"].as_str().unwrap().to_string(),
        ));
    }

    // Kill as soon as some job is running (one worker: the others wait in the queue).
    let started = Instant::now();
    let killed_job = 'wait: loop {
        for (_, job) in &jobs {
            let j: Value = client
                .get(format!("{base}/api/jobs/{job}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if j["status"] == "running" {
                break 'wait job.clone();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no job started running"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();

    let mut server = spawn(&bin, port, &data, &models, database.as_deref());
    wait_ready(&client, &base).await;
    let started = Instant::now();
    for (composition, job) in &jobs {
        let j = loop {
            let j: Value = client
                .get(format!("{base}/api/jobs/{job}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                break j;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "job {job} did not finish after the restart: {j}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(j["status"], "succeeded", "{j}");
        if job == &killed_job {
            assert_eq!(
                j["attempts"], 2,
                "the killed attempt counts, the re-run completes: {j}"
            );
        }
        let c: Value = client
            .get(format!("{base}/api/compositions/{composition}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(c["status"], "succeeded");
        let midi = client
            .get(format!("{base}/api/compositions/{composition}/midi"))
            .send()
            .await
            .unwrap();
        assert_eq!(midi.status(), 200);
        let bytes = midi.bytes().await.unwrap();
        assert_eq!(&bytes[..4], b"MThd", "a whole MIDI file");
        orchestrion_music::Song::from_midi_bytes(&bytes, &orchestrion_music::Limits::default())
            .expect("MIDI parses");
        let roll: Value = client
            .get(format!("{base}/api/compositions/{composition}/roll"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            roll["total_beats"].as_f64().unwrap() >= 256.0 * 4.0 - 1e-9,
            "all 256 bars are there"
        );
    }
    let list: Value = client
        .get(format!("{base}/api/compositions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 4, "nothing lost");

    // Graceful stop on SIGTERM.
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopped = Instant::now();
    loop {
        if let Some(code) = server.try_wait().unwrap() {
            assert!(code.success(), "exit status after SIGTERM: {code}");
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(20),
            "server did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
