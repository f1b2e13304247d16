//! What a finished job leaves behind, checked over HTTP against a real server: a composition's
//! musical metrics (measured on the generated song), its WAV (one shared renderer, rendered
//! once, stored), training runs from recipes found by the documented search order (hostile
//! names refused), and training work folders removed when a run ends while its model and
//! samples stay available.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::{self, has_ended};
use common::restartable_server::RestartableServer;
use common::training_data::{band_archive, band_midi, start_training_run, zip_of};
use common::{Options, TestServer, assert_error, sse_events};
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
    let accepted = s
        .request_composition(
            &json!({"melody_id": melody_id, "model": "tiny", "bars": 8, "seed": 5}),
            None,
        )
        .await;
    // Nothing is measured yet, and nothing is made up.
    assert!(accepted["composition"]["metrics"].is_null(), "{accepted}");
    let id = accepted["composition"]["id"].as_str().unwrap().to_string();
    let job = s
        .wait_job(accepted["job"]["id"].as_str().unwrap(), None)
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");

    let c = s.get_json(&format!("/api/compositions/{id}"), None).await;
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
    let doc = s.get_json("/api/openapi.json", None).await;
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
    let run = s
        .wait_training_run(&run_id, Duration::from_secs(300), has_ended)
        .await;
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
    let links: Vec<String> = sse_events(&text)
        .iter()
        .filter_map(|(_, v)| v["sample_midi"].as_str().map(str::to_string))
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
    let r = s.publish(&run_id, "mini-band").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert!(
        data.join("models/mini-band/generator.safetensors")
            .is_file()
    );
    s.stop().await;
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
    let config = |steps: u32| {
        json!({"name": "work", "roles": ["drums", "bass"], "steps": steps,
               "learning_rate": 0.0002, "critic_updates": 1})
    };
    let drums_only_archive = zip_of(&[("d.mid", &drums_only)]);
    let (run_id, _) = s.start_training_run(drums_only_archive, &config(2)).await;
    let run = s
        .wait_training_run(&run_id, Duration::from_secs(300), has_ended)
        .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_work_folder_removed(&data, &run_id).await;

    // Cancelled while training.
    let (run_id, job_id) = s
        .start_training_run(band_archive(4), &config(100_000))
        .await;
    s.wait_training_run(&run_id, Duration::from_secs(120), |run| {
        run["step"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    assert!(
        data.join("training").join(&run_id).is_dir(),
        "a running run works in its folder"
    );
    let r = s.cancel_training_run(&run_id).await;
    assert_eq!(r.status(), 202);
    assert_eq!(s.wait_job(&job_id, None).await["status"], "cancelled");
    assert_work_folder_removed(&data, &run_id).await;
    s.stop().await;
}

/// kill -9 while a run trains past a checkpoint; the next attempt resumes from the checkpoint
/// and must not record again the steps the killed attempt already recorded.
#[tokio::test]
async fn a_resumed_training_attempt_records_each_step_once() {
    let Some(server) = RestartableServer::new(None) else {
        return;
    };
    let (client, base, data) = (&server.client, &server.base, &server.data);
    let mut process = server.start().await;

    // steps / 4 = a checkpoint every 50 steps.
    let steps = 200u64;
    let every = steps / 4;
    let config = json!({"name": "resume", "roles": ["drums", "bass"], "steps": steps,
        "learning_rate": 0.0002, "critic_updates": 1});
    let (run_id, job_id) = start_training_run(client, base, band_archive(4), &config).await;

    // Kill a few steps after the first checkpoint, before the second.
    let run = cluster::wait_training_run(client, base, &run_id, Duration::from_secs(240), |run| {
        assert_ne!(run["status"], "failed", "{run}");
        run["step"].as_u64().unwrap_or(0) >= every + 3
    })
    .await;
    let killed_at = run["step"].as_u64().unwrap();
    process.kill9();
    assert!(
        killed_at < 2 * every,
        "killed at step {killed_at}: past the second checkpoint, the test proves nothing"
    );

    let process = server.start().await;
    let run =
        cluster::wait_training_run(client, base, &run_id, Duration::from_secs(300), has_ended)
            .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["step"], steps);
    let job = cluster::get_json(client, &format!("{base}/api/jobs/{job_id}")).await;
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
    for (event, v) in sse_events(&text) {
        if let Some(step) = v["step"].as_u64() {
            by_kind.entry(event).or_default().push(step);
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

    drop(process);
}
