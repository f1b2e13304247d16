//! What a finished job leaves behind, checked over HTTP against a real server: a composition's
//! musical metrics (measured on the generated song), its WAV (one shared renderer, rendered
//! once, stored), training runs from recipes found by the documented search order (hostile
//! names refused), and training work folders removed when a run ends while its model and
//! samples stay available.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Options, TestServer, assert_error};
use orchestrion_music::{Grid, PianoRoll, PlaneSpec, Song, TrackRole};
use serde_json::{Value, json};

/// The folder the server keeps its SQLite file, blobs and training work in.
fn data_dir(s: &TestServer) -> std::path::PathBuf {
    s.server.as_ref().unwrap().context().config.data_dir.clone()
}

/// The stored song of a composition, read from the server's own blob store.
async fn stored_song(s: &TestServer, id: &str) -> Song {
    let ctx = s.server.as_ref().unwrap().context();
    let bytes = ctx
        .blobs
        .get(&format!("compositions/{id}/song.json"))
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn composition_metrics_are_measured_on_the_generated_song() {
    let (s, _) = TestServer::start(Options::default()).await;
    let melody_id = s.sample_melody("ode_to_joy", None).await;
    let r = s
        .post_json(
            "/api/compositions",
            &json!({"melody_id": melody_id, "model": "tiny", "bars": 8, "seed": 5}),
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    // Nothing is measured yet, and nothing is made up.
    assert!(accepted["composition"]["metrics"].is_null(), "{accepted}");
    let id = accepted["composition"]["id"].as_str().unwrap().to_string();
    let job = s
        .wait_job(accepted["job"]["id"].as_str().unwrap(), None)
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");

    let c: Value = s
        .get(&format!("/api/compositions/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    let m = &c["metrics"];
    assert_eq!(m["bars"], 8, "{m}");
    assert_eq!(m["steps_per_beat"], 4);
    assert_eq!(m["summary"]["melody_preserved"], 1.0, "{m}");
    let roles: Vec<&str> = m["roles"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(roles, ["bass", "drums", "melody", "piano"], "{m}");
    // Tonal distance melody ↔ each pitched generated track (drums have no pitch classes).
    let td: Vec<&str> = m["tonal_distance"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(td, ["bass", "piano"], "{m}");
    assert!(m["roles"]["drums"]["is_drum"].as_bool().unwrap());
    assert!(m["roles"]["bass"]["DP"].is_null(), "DP is a drum metric");
    assert!(
        m["roles"]["drums"]["UPC"].is_null(),
        "UPC is a pitched metric"
    );
    // Note counts agree with the track summary the job wrote from the same song.
    for track in c["tracks"].as_array().unwrap() {
        let role = track["role"].as_str().unwrap();
        if role != "melody" {
            assert_eq!(
                m["roles"][role]["notes"], track["note_count"],
                "{role}: {m} vs {track}"
            );
        }
    }
    // The candidate ranking moved to its own field.
    assert_eq!(c["ranking"]["chosen_seed"], 5, "{c}");

    // The numbers are those of the stored song: measure it here with the metrics crate.
    let song = stored_song(&s, &id).await;
    let mut present: Vec<TrackRole> = song.tracks.iter().map(|t| t.role).collect();
    present.sort();
    present.dedup();
    let roll = PianoRoll::from_song(
        &song,
        Grid::new(4),
        &PlaneSpec::by_role(&song, &present),
        24,
        84,
    )
    .unwrap()
    .slice_bars(0..8);
    let report = orchestrion_metrics::evaluate(&roll).unwrap();
    let close = |api: &Value, ours: Option<f64>| match ours {
        Some(v) => (api.as_f64().unwrap() - v).abs() < 1e-9,
        None => api.is_null(),
    };
    let bass = report.track(TrackRole::Bass).unwrap();
    assert!(close(&m["roles"]["bass"]["EB"], bass.empty_bar_rate), "{m}");
    assert!(
        close(&m["roles"]["bass"]["in_scale"], bass.in_scale_rate),
        "{m}"
    );
    let drums = report.track(TrackRole::Drums).unwrap();
    assert!(close(&m["roles"]["drums"]["DP"], drums.drum_pattern), "{m}");
    let pair = report.pair(TrackRole::Melody, TrackRole::Piano).unwrap();
    assert!(
        close(&m["tonal_distance"]["piano"], pair.tonal_distance),
        "{m}"
    );

    // The OpenAPI document describes the object.
    let doc: Value = s.get("/api/openapi.json", None).await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["CompositionMetrics"]["properties"]["tonal_distance"].is_object(),
        "{}",
        schemas["CompositionMetrics"]
    );
    assert!(schemas["MetricsSummary"]["properties"]["TD"].is_object());
    assert!(schemas["RoleMetrics"]["properties"]["EB"].is_object());
    s.stop().await;
}

#[tokio::test]
async fn wav_is_rendered_once_by_the_shared_renderer_and_stored() {
    let (s, _) = TestServer::start(Options::default()).await;
    let ctx = s.server.as_ref().unwrap().context().clone();
    // The SoundFont is the render crate's search order's choice, loaded at start.
    if std::env::var_os(orchestrion_render::SOUNDFONT_ENV).is_none() {
        let first_usable = orchestrion_render::SYSTEM_SOUNDFONTS
            .iter()
            .map(Path::new)
            .find(|p| orchestrion_render::soundfont::load(p).is_ok());
        assert_eq!(ctx.audio.soundfont(), first_usable);
    }
    let melody_id = s.sample_melody("twinkle", None).await;
    let (id, job) = s.compose(&melody_id, 2, None).await;
    assert_eq!(s.wait_job(&job, None).await["status"], "succeeded");
    assert_eq!(
        ctx.audio.renders(),
        0,
        "nothing is rendered before it is asked for"
    );

    // Three concurrent first requests: one render, the same bytes for all.
    let path = format!("/api/compositions/{id}/wav");
    let (a, b, c) = tokio::join!(s.get(&path, None), s.get(&path, None), s.get(&path, None));
    let mut bodies = Vec::new();
    for r in [a, b, c] {
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "audio/wav");
        bodies.push(r.bytes().await.unwrap());
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    assert_eq!(ctx.audio.renders(), 1, "rendered once");
    let audio = orchestrion_render::Audio::from_wav_bytes(&bodies[0]).unwrap();
    assert!(audio.seconds() > 2.0, "two bars at 100 BPM and a tail");
    assert!(audio.rms() > 1e-3, "not silent");

    // Stored: later requests (and the share link) read the blob.
    let stored = ctx
        .blobs
        .get(&format!("compositions/{id}/composition.wav"))
        .await
        .unwrap();
    assert_eq!(stored, bodies[0]);
    let again = s.get(&path, None).await.bytes().await.unwrap();
    assert_eq!(again, bodies[0]);
    let share: Value = s
        .post_json(&format!("/api/compositions/{id}/share"), &json!({}), None)
        .await
        .json()
        .await
        .unwrap();
    let token = share["token"].as_str().unwrap();
    let shared = s.get(&format!("/api/shared/{token}/wav"), None).await;
    assert_eq!(shared.bytes().await.unwrap(), bodies[0]);
    assert_eq!(ctx.audio.renders(), 1, "the stored WAV is reused");
    s.stop().await;
}

/// A small band song (melody, drums, bass; 8 bars of 4/4) as a Standard MIDI File.
fn band_midi(variant: u8) -> Vec<u8> {
    use orchestrion_music::{Meter, Note, TempoChange, Track};
    let beat = 480u64;
    let root = 60 + variant % 5;
    let scale = [0u8, 2, 4, 5, 7, 9, 11, 12];
    let note = |pitch: u8, start: u64, duration: u64| Note {
        pitch,
        velocity: 90,
        start,
        duration,
    };
    let (mut melody, mut drums, mut bass) = (vec![], vec![], vec![]);
    for bar in 0..8u64 {
        for b in 0..4u64 {
            let t = (bar * 4 + b) * beat;
            let step = (bar as usize * 3 + b as usize * (variant as usize + 1)) % 8;
            melody.push(note(root + 12 + scale[step], t, beat * 9 / 10));
            drums.push(note(if b % 2 == 1 { 38 } else { 36 }, t, beat / 4));
            bass.push(note(
                root - 24 + [0u8, 5, 7, 0][bar as usize % 4],
                t,
                beat * 9 / 10,
            ));
        }
    }
    let track = |name: &str, program: u8, channel: u8, role: TrackRole, notes: Vec<Note>| Track {
        name: name.into(),
        program,
        channel,
        is_drum: channel == 9,
        role,
        notes,
    };
    Song {
        ticks_per_beat: beat as u16,
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
        tracks: vec![
            track("Melody", 73, 0, TrackRole::Melody, melody),
            track("Drums", 0, 9, TrackRole::Drums, drums),
            track("Bass", 33, 1, TrackRole::Bass, bass),
        ],
        texts: vec![],
    }
    .to_midi_bytes()
}

/// A recipe over the band songs in `midi/` beside it.
const MINI_RECIPE: &str = r#"
name = "mini"
[source]
datasets_dir = "."
folders = ["midi"]
[grid]
steps_per_beat = 4
window_bars = 2
hop_bars = 2
meters = ["4/4"]
[melody]
name = "^Melody$"
monophonic = true
[[roles]]
role = "drums"
from = [{ drums = true }]
[[roles]]
role = "bass"
program = 33
from = [{ name = "^Bass$" }]
[filter]
min_melody_notes = 1
[split]
validation = 0.25
salt = "orchestrion"
"#;

/// Polls a training run until it ends.
async fn wait_run(s: &TestServer, run_id: &str) -> Value {
    let started = Instant::now();
    loop {
        let run: Value = s
            .get(&format!("/api/training-runs/{run_id}"), None)
            .await
            .json()
            .await
            .unwrap();
        if matches!(
            run["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the run did not end: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the run's work folder is gone (the worker removes it right after recording the
/// end, so it may trail the status by a moment).
async fn assert_work_folder_removed(data: &Path, run_id: &str) {
    let dir = data.join("training").join(run_id);
    let started = Instant::now();
    while dir.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} is still there",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn recipes_are_found_by_the_search_order_and_hostile_names_refused() {
    let (s, _) = TestServer::start(Options::default()).await;
    let config = |recipe: &str| {
        json!({"name": "from-recipe", "roles": ["drums", "bass"], "steps": 2,
               "learning_rate": 0.0002, "critic_updates": 1, "recipe": recipe})
    };
    for hostile in [
        "../recipes/chorale",
        "chorale.toml",
        "/etc/passwd",
        "Chorale",
        "a/b",
        "..",
        "",
        "x\\y",
    ] {
        let r = s
            .post_json("/api/training-runs", &config(hostile), None)
            .await;
        assert_error(r, 422, "validation").await;
    }
    let r = s
        .post_json("/api/training-runs", &config("mini"), None)
        .await;
    assert_error(r, 422, "validation").await;

    // `<data-dir>/recipes` is searched (the server's cwd has no such recipe).
    let data = data_dir(&s);
    let recipes = data.join("recipes");
    std::fs::create_dir_all(recipes.join("midi")).unwrap();
    for i in 0..4 {
        std::fs::write(
            recipes.join("midi").join(format!("band-{i}.mid")),
            band_midi(i),
        )
        .unwrap();
    }
    std::fs::write(recipes.join("mini.toml"), MINI_RECIPE).unwrap();
    let r = s
        .post_json("/api/training-runs", &config("mini"), None)
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["training_run"]["source"], "recipe");
    let run_id = body["training_run"]["id"].as_str().unwrap().to_string();
    let run = wait_run(&s, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["step"], 2);

    // The work folder went with the end of the run; the samples and the model stayed.
    assert_work_folder_removed(&data, &run_id).await;
    let text = s
        .get(&format!("/api/training-runs/{run_id}/events"), None)
        .await
        .text()
        .await
        .unwrap();
    let links: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .filter_map(|v| v["sample_midi"].as_str().map(str::to_string))
        .collect();
    assert!(!links.is_empty(), "checkpoint events name samples: {text}");
    for link in &links {
        let r = s.get(link, None).await;
        assert_eq!(r.status(), 200, "{link}");
        Song::from_midi_bytes(
            &r.bytes().await.unwrap(),
            &orchestrion_music::Limits::default(),
        )
        .expect("a sample is a whole MIDI file");
    }
    let r = s
        .post_json(
            &format!("/api/training-runs/{run_id}/publish"),
            &json!({"name": "mini-band"}),
            None,
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert!(
        data.join("models/mini-band/generator.safetensors")
            .is_file()
    );
    s.stop().await;
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
    out.into_inner()
}

async fn start_archive_run(s: &TestServer, zip: Vec<u8>, steps: u32) -> (String, String) {
    let config = json!({"name": "work", "roles": ["drums", "bass"], "steps": steps,
        "learning_rate": 0.0002, "critic_updates": 1})
    .to_string();
    let form = reqwest::multipart::Form::new()
        .part(
            "archive",
            reqwest::multipart::Part::bytes(zip).file_name("band.zip"),
        )
        .text("config", config);
    let r = s
        .client
        .post(s.url("/api/training-runs"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    (
        body["training_run"]["id"].as_str().unwrap().to_string(),
        body["job"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn failed_and_cancelled_runs_leave_no_work_folder() {
    let (s, _) = TestServer::start(Options::default()).await;
    let data = data_dir(&s);

    // No melody track in any file: the dataset is empty, the run fails for good.
    let drums_only = {
        let mut song = Song::from_midi_bytes(&band_midi(0), &Default::default()).unwrap();
        song.tracks.retain(|t| t.is_drum);
        song.to_midi_bytes()
    };
    let (run_id, _) = start_archive_run(&s, zip_of(&[("d.mid", &drums_only)]), 2).await;
    let run = wait_run(&s, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_work_folder_removed(&data, &run_id).await;

    // Cancelled while training.
    let songs: Vec<Vec<u8>> = (0..4).map(band_midi).collect();
    let entries: Vec<(String, &[u8])> = songs
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("b{i}.mid"), b.as_slice()))
        .collect();
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let (run_id, job_id) = start_archive_run(&s, zip_of(&entries), 100_000).await;
    let started = Instant::now();
    loop {
        let run: Value = s
            .get(&format!("/api/training-runs/{run_id}"), None)
            .await
            .json()
            .await
            .unwrap();
        if run["step"].as_i64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        data.join("training").join(&run_id).is_dir(),
        "a running run works in its folder"
    );
    let r = s
        .post_json(
            &format!("/api/training-runs/{run_id}/cancel"),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(s.wait_job(&job_id, None).await["status"], "cancelled");
    assert_work_folder_removed(&data, &run_id).await;
    s.stop().await;
}

/// The `orchestrion` binary next to this test's folder, or `$ORCHESTRION_BIN`.
fn binary() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("ORCHESTRION_BIN") {
        return Some(p.into());
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("orchestrion");
    candidate.is_file().then_some(candidate)
}

fn spawn_server(bin: &Path, port: u16, data: &Path, models: &Path) -> std::process::Child {
    std::process::Command::new(bin)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--models-dir")
        .arg(models)
        .args(["--workers", "1", "--lease-secs", "2"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start orchestrion serve")
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(started.elapsed() < Duration::from_secs(60), "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// kill -9 while a run trains past a checkpoint; the next attempt resumes from the checkpoint
/// and must not record again the steps the killed attempt already recorded.
#[tokio::test]
async fn a_resumed_training_attempt_records_each_step_once() {
    let Some(bin) = binary() else {
        eprintln!("skipping: the orchestrion binary is not built (cargo build -p orchestrion)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    common::write_test_model(&models, "tiny");
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut server = spawn_server(&bin, port, &data, &models);
    wait_ready(&client, &base).await;

    // steps / 4 = a checkpoint every 50 steps.
    let steps = 200u64;
    let every = steps / 4;
    let songs: Vec<Vec<u8>> = (0..4).map(band_midi).collect();
    let names: Vec<String> = (0..4).map(|i| format!("b{i}.mid")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&songs)
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let config = json!({"name": "resume", "roles": ["drums", "bass"], "steps": steps,
        "learning_rate": 0.0002, "critic_updates": 1})
    .to_string();
    let form = reqwest::multipart::Form::new()
        .part(
            "archive",
            reqwest::multipart::Part::bytes(zip_of(&entries)).file_name("b.zip"),
        )
        .text("config", config);
    let body: Value = client
        .post(format!("{base}/api/training-runs"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = body["training_run"]["id"].as_str().unwrap().to_string();
    let job_id = body["job"]["id"].as_str().unwrap().to_string();

    // Kill a few steps after the first checkpoint, before the second.
    let started = Instant::now();
    let killed_at = loop {
        let run = get_json(&client, &format!("{base}/api/training-runs/{run_id}")).await;
        let step = run["step"].as_u64().unwrap_or(0);
        if step >= every + 3 {
            break step;
        }
        assert_ne!(run["status"], "failed", "{run}");
        assert!(started.elapsed() < Duration::from_secs(240), "{run}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    assert!(
        killed_at < 2 * every,
        "killed at step {killed_at}: past the second checkpoint, the test proves nothing"
    );

    let mut server = spawn_server(&bin, port, &data, &models);
    wait_ready(&client, &base).await;
    let started = Instant::now();
    let run = loop {
        let run = get_json(&client, &format!("{base}/api/training-runs/{run_id}")).await;
        if matches!(
            run["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            break run;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["step"], steps);
    let job = get_json(&client, &format!("{base}/api/jobs/{job_id}")).await;
    assert_eq!(job["attempts"], 2, "{job}");

    let text = client
        .get(format!("{base}/api/training-runs/{run_id}/events"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut by_kind: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    let mut event = String::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim().to_string();
        } else if let Some(Ok(v)) = line
            .strip_prefix("data:")
            .map(|d| serde_json::from_str::<Value>(d.trim()))
            && let Some(step) = v["step"].as_u64()
        {
            by_kind.entry(event.clone()).or_default().push(step);
        }
    }
    let all: Vec<u64> = (1..=steps).collect();
    assert_eq!(by_kind["loss"], all, "one loss event per step, in order");
    assert_eq!(by_kind["progress"], all, "one progress event per step");
    let checkpoints: Vec<u64> = (1..=4).map(|i| i * every).collect();
    assert_eq!(by_kind["checkpoint"], checkpoints);
    let mut evals = vec![0];
    evals.extend(&checkpoints);
    assert_eq!(by_kind["metrics"], evals);
    assert!(
        !data.join("training").join(&run_id).exists(),
        "the work folder went with the run"
    );

    server.kill().unwrap();
    server.wait().unwrap();
}
