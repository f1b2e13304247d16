//! Fault tests of the scaled-out studio (bounded, loopback only), with real processes: API
//! processes (`serve --no-workers`) and `orchestrion worker`s over a throwaway Postgres server
//! and the loopback S3 server.
//!
//! - kill -9 a worker in the middle of a generation, and in the middle of a training run: the
//!   other worker finishes the job, with exactly one result and no orphaned or half-written blob;
//! - restart Postgres while jobs run: nothing is lost, the service recovers by itself;
//! - 500 concurrent compose requests across two API processes: 0 errors.
//!
//! Run under `bash scripts/pg-throwaway.sh cargo test -p orchestrion-studio --test suite scale::`;
//! without Postgres (or without the built binary) each test prints why it skips.

use crate::common;

use std::time::Duration;

use common::blob_backend::s3_server;
use common::cluster::{
    self, Cluster, Proc, finished, get_json, post_json, wait_job, wait_training_run,
};
use common::training_data::{band_archive, start_training_run};
use serde_json::{Value, json};
use sqlx::Connection;

/// The tests share one Postgres server, and one of them restarts it: run them one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    cluster: Cluster,
    client: reqwest::Client,
    _work: tempfile::TempDir,
}

async fn setup(tag: &str) -> Option<Setup> {
    if let Some(why) = cluster::missing_prerequisite() {
        eprintln!("skipping: {why}");
        return None;
    }
    let work = tempfile::tempdir().unwrap();
    let models = work.path().join("models");
    common::write_test_model(&models, "tiny");
    let cluster = Cluster::new(
        &cluster::binary().unwrap(),
        &cluster::admin_url().unwrap(),
        s3_server(),
        work.path(),
        &models,
        tag,
    )
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    Some(Setup {
        cluster,
        client,
        _work: work,
    })
}

async fn db(cluster: &Cluster) -> sqlx::postgres::PgConnection {
    sqlx::postgres::PgConnection::connect(&cluster.database_url)
        .await
        .unwrap()
}

/// Keys in the bucket under `compositions/` (each composition's song and MIDI).
fn composition_keys(cluster: &Cluster) -> Vec<String> {
    cluster
        .stored_keys(s3_server())
        .into_iter()
        .filter(|k| k.starts_with("compositions/"))
        .collect()
}

/// Asserts that a finished composition's objects are whole and that the bucket holds exactly
/// its two objects for it.
async fn assert_one_whole_result(s: &Setup, base: &str, id: &str) {
    let c = get_json(&s.client, &format!("{base}/api/compositions/{id}")).await;
    assert_eq!(c["status"], "succeeded", "{c}");
    let midi = s
        .client
        .get(format!("{base}/api/compositions/{id}/midi"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    orchestrion_music::Song::from_midi_bytes(&midi, &orchestrion_music::Limits::default())
        .expect("the stored MIDI parses whole");
    let mine: Vec<String> = composition_keys(&s.cluster)
        .into_iter()
        .filter(|k| k.contains(id))
        .collect();
    assert_eq!(
        mine,
        [
            format!("compositions/{id}/composition.mid"),
            format!("compositions/{id}/song.json")
        ],
        "exactly the composition's song and MIDI are stored"
    );
    let dir = s3_server()
        .bucket_dir(&s.cluster.bucket)
        .join(&s.cluster.prefix);
    let song: Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("compositions/{id}/song.json"))).unwrap(),
    )
    .expect("the stored song is whole JSON");
    assert!(song["tracks"].as_array().is_some_and(|t| t.len() > 1));
}

#[tokio::test]
async fn kill_9_a_worker_mid_generation_the_other_finishes_it() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup("gen").await else { return };
    let api = s.cluster.spawn_api(&s.client).await;
    let base = api.base.clone().unwrap();
    let mut first = s.cluster.spawn_worker(1);

    let melody = cluster::sample_melody(&s.client, &base, "ode_to_joy").await;
    let r = post_json(
        &s.client,
        &format!("{base}/api/compositions"),
        &json!({"melody_id": melody, "model": "tiny", "bars": 256, "candidates": 8, "seed": 5}),
    )
    .await;
    let id = r["composition"]["id"].as_str().unwrap().to_string();
    let job = r["job"]["id"].as_str().unwrap().to_string();

    // Only the first worker exists while the job starts, so it is the one holding it.
    wait_job(&s.client, &base, &job, Duration::from_secs(60), |st| {
        st != "queued"
    })
    .await;
    let second = s.cluster.spawn_worker(1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.kill9();

    let j = wait_job(&s.client, &base, &job, Duration::from_secs(180), finished).await;
    assert_eq!(j["status"], "succeeded", "{j}");
    assert_eq!(
        j["attempts"], 2,
        "the killed attempt counts, the other worker's completes: {j}"
    );
    assert_one_whole_result(&s, &base, &id).await;

    let mut conn = db(&s.cluster).await;
    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "one job, run twice, not two jobs");
    let (owner,): (Option<String>,) = sqlx::query_as("SELECT lease_owner FROM jobs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(owner.is_none(), "a finished job holds no lease: {owner:?}");
    drop((second, api));
}

#[tokio::test]
async fn kill_9_a_worker_mid_training_the_other_finishes_it() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup("train").await else {
        return;
    };
    let api = s.cluster.spawn_api(&s.client).await;
    let base = api.base.clone().unwrap();
    let mut first = s.cluster.spawn_worker(1);

    let steps = 60;
    let config = json!({"name": "fault-band", "roles": ["drums", "bass", "piano"], "steps": steps,
        "learning_rate": 0.0002, "critic_updates": 1});
    let (run_id, job) = start_training_run(&s.client, &base, band_archive(6), &config).await;

    // Kill once training has made progress (some steps done, not all).
    let run = wait_training_run(&s.client, &base, &run_id, Duration::from_secs(120), |run| {
        run["step"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    assert!(
        run["step"].as_u64().unwrap() < steps,
        "training finished before the kill: {run}"
    );
    let second = s.cluster.spawn_worker(1);
    first.kill9();

    let j = wait_job(&s.client, &base, &job, Duration::from_secs(300), finished).await;
    assert_eq!(j["status"], "succeeded", "{j}");
    assert_eq!(j["attempts"], 2, "{j}");
    let run = get_json(&s.client, &format!("{base}/api/training-runs/{run_id}")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["step"], steps, "{run}");

    // Exactly one result: one run, one job, and it can be published once.
    let mut conn = db(&s.cluster).await;
    let (runs,): (i64,) = sqlx::query_as("SELECT count(*) FROM training_runs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(runs, 1);
    let (jobs,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
    let r = s
        .client
        .post(format!("{base}/api/training-runs/{run_id}/publish"))
        .json(&json!({"name": "fault-band"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // The run's blobs are exactly one set: the uploaded archive, the model, and one sample per
    // evaluation step. The killed attempt's objects were overwritten by the rerun under the same
    // keys, nothing else is left over, and every object is whole.
    let keys = s.cluster.stored_keys(s3_server());
    let run_keys: Vec<&String> = keys
        .iter()
        .filter(|k| !k.starts_with("melodies/"))
        .collect();
    let eval_every = (steps / 4).clamp(1, 200);
    let mut expected: Vec<String> = [
        "data.zip",
        "model/config.json",
        "model/critic.safetensors",
        "model/generator.safetensors",
        "model/spectral.json",
    ]
    .iter()
    .map(|k| format!("training/{run_id}/{k}"))
    .collect();
    expected.extend(
        (1..=steps / eval_every)
            .map(|i| format!("training/{run_id}/samples/{}.mid", i * eval_every)),
    );
    expected.sort();
    let mut found: Vec<String> = run_keys.iter().map(|k| k.to_string()).collect();
    found.sort();
    assert_eq!(found, expected, "exactly one result, no orphans");
    let dir = s3_server()
        .bucket_dir(&s.cluster.bucket)
        .join(&s.cluster.prefix);
    let read = |k: &str| std::fs::read(dir.join(format!("training/{run_id}/{k}"))).unwrap();
    zip::ZipArchive::new(std::io::Cursor::new(read("data.zip"))).expect("the archive is whole");
    let _: Value = serde_json::from_slice(&read("model/config.json")).expect("whole config");
    let _: Value = serde_json::from_slice(&read("model/spectral.json")).expect("whole spectral");
    for k in &found {
        if k.ends_with(".mid") {
            let rel = k.split_once(&format!("training/{run_id}/")).unwrap().1;
            orchestrion_music::Song::from_midi_bytes(
                &read(rel),
                &orchestrion_music::Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{k} is not whole: {e}"));
        }
        if k.ends_with(".safetensors") {
            let rel = k.split_once(&format!("training/{run_id}/")).unwrap().1;
            let bytes = read(rel);
            // A safetensors file starts with the little-endian length of its JSON header.
            let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            assert!(8 + header <= bytes.len(), "{k} is truncated");
            let _: Value = serde_json::from_slice(&bytes[8..8 + header]).expect("whole header");
        }
    }
    drop((second, api));
}

#[tokio::test]
async fn a_postgres_restart_mid_run_loses_no_jobs() {
    let _serial = SERIAL.lock().await;
    let Ok(restart) = std::env::var("ORCHESTRION_TEST_PG_RESTART") else {
        eprintln!(
            "skipping: ORCHESTRION_TEST_PG_RESTART is not set (run under scripts/pg-throwaway.sh)"
        );
        return;
    };
    let Some(s) = setup("restart").await else {
        return;
    };
    let api = s.cluster.spawn_api(&s.client).await;
    let base = api.base.clone().unwrap();
    let workers = [s.cluster.spawn_worker(1), s.cluster.spawn_worker(1)];

    let melody = cluster::sample_melody(&s.client, &base, "twinkle").await;
    let mut jobs = Vec::new();
    for seed in 0..6 {
        let r = post_json(
            &s.client,
            &format!("{base}/api/compositions"),
            &json!({"melody_id": melody, "model": "tiny", "bars": 128, "candidates": 4, "seed": seed}),
        )
        .await;
        jobs.push((
            r["composition"]["id"].as_str().unwrap().to_string(),
            r["job"]["id"].as_str().unwrap().to_string(),
        ));
    }
    wait_job(
        &s.client,
        &base,
        &jobs[0].1,
        Duration::from_secs(60),
        |st| st != "queued",
    )
    .await;
    let status = std::process::Command::new(&restart)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("restart Postgres");
    assert!(status.success(), "the Postgres restart failed");

    // While and after it restarts, the API answers again without being restarted itself.
    cluster::wait_ready(&s.client, &base).await;
    for (id, job) in &jobs {
        let j = wait_job(&s.client, &base, job, Duration::from_secs(240), finished).await;
        assert_eq!(j["status"], "succeeded", "{j}");
        assert_one_whole_result(&s, &base, id).await;
    }
    let list = get_json(&s.client, &format!("{base}/api/compositions")).await;
    assert_eq!(list["total"], jobs.len(), "nothing lost: {list}");
    drop((workers, api));
}

#[tokio::test]
async fn five_hundred_concurrent_composes_across_two_api_processes() {
    let _serial = SERIAL.lock().await;
    let Some(s) = setup("load").await else { return };
    let apis: Vec<Proc> = vec![
        s.cluster.spawn_api(&s.client).await,
        s.cluster.spawn_api(&s.client).await,
    ];
    let bases: Vec<String> = apis.iter().map(|a| a.base.clone().unwrap()).collect();
    let workers = [s.cluster.spawn_worker(2), s.cluster.spawn_worker(2)];
    let melody_id = cluster::sample_melody(&s.client, &bases[0], "twinkle").await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(600)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..500usize {
        let client = client.clone();
        let base = bases[i % 2].clone();
        let melody_id = melody_id.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{base}/api/compositions"))
                .json(&json!({"melody_id": melody_id, "model": "tiny", "bars": 4, "seed": i}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status() != 202 {
                return Err(format!("status {}", r.status()));
            }
            let body: Value = r.json().await.map_err(|e| e.to_string())?;
            Ok::<String, String>(body["job"]["id"].as_str().unwrap_or_default().to_string())
        }));
    }
    let mut errors = Vec::new();
    let mut job_ids = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(job) => job_ids.push(job),
            Err(e) => errors.push(e),
        }
    }
    assert!(
        errors.is_empty(),
        "{} of 500 requests failed: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );

    // Every accepted job completes, read back through either API process.
    for (i, job) in job_ids.iter().enumerate() {
        let j = wait_job(
            &client,
            &bases[(i + 1) % 2],
            job,
            Duration::from_secs(300),
            finished,
        )
        .await;
        assert_eq!(j["status"], "succeeded", "{j}");
    }
    let mut conn = db(&s.cluster).await;
    let (done,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM compositions WHERE status = 'succeeded'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(done, 500);
    assert_eq!(
        composition_keys(&s.cluster).len(),
        1000,
        "one song and one MIDI each"
    );
    drop((workers, apis));
}
