//! Scale-out benchmark (bounded, loopback only): compositions per second with 1, 2 and 4
//! `orchestrion worker` processes behind one API process (`serve --no-workers`), on Postgres (the
//! throwaway server of `scripts/pg-throwaway.sh`) and S3 (the loopback `s3s` server), next to the
//! embedded `orchestrion serve` (SQLite + blob folder + in-process workers) in the same run.
//! Prints a table for BENCHMARKS.md.
//!
//! Usage (from the repository root):
//!   bash scripts/pg-throwaway.sh target/debug/examples/scale_bench \
//!       target/debug/orchestrion models [model] [compositions]

#[path = "../tests/common/cluster.rs"]
#[allow(dead_code)]
mod cluster;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cluster::{Cluster, Proc};
use orchestrion_s3_loopback::{Credentials, S3Loopback};
use serde_json::{Value, json};

/// Submits `count` 8-bar compositions (distinct seeds) to `base` and waits until every one has
/// succeeded; returns the wall time from the first request to the last result.
async fn run_batch(
    client: &reqwest::Client,
    base: &str,
    melody: &str,
    model: &str,
    count: usize,
    seed0: usize,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut submits = Vec::new();
    for i in 0..count {
        let client = client.clone();
        let url = format!("{base}/api/compositions");
        let body = json!({"melody_id": melody, "model": model, "bars": 8, "seed": seed0 + i});
        submits.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status() != 202 {
                return Err(format!(
                    "POST: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ));
            }
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            Ok::<String, String>(v["job"]["id"].as_str().unwrap_or_default().to_string())
        }));
    }
    let mut jobs = Vec::new();
    for s in submits {
        jobs.push(s.await.map_err(|e| e.to_string())??);
    }
    // Newest first: when it is done the earlier ones mostly are.
    let deadline = started + Duration::from_secs(600);
    for job in jobs.iter().rev() {
        cluster::job_succeeded(client, base, job, deadline, Duration::from_millis(5)).await?;
    }
    Ok(started.elapsed())
}

/// One measurement: warm up, then time `count` compositions.
async fn measure(client: &reqwest::Client, base: &str, model: &str, count: usize) -> f64 {
    let melody = cluster::sample_melody(client, base, "twinkle").await;
    run_batch(client, base, &melody, model, 8, 1_000_000)
        .await
        .expect("warm-up");
    let took = run_batch(client, base, &melody, model, count, 0)
        .await
        .expect("batch");
    count as f64 / took.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: scale_bench <orchestrion> <models-dir> [model] [compositions]");
        std::process::exit(2);
    }
    let bin = PathBuf::from(&args[1]);
    let models = std::fs::canonicalize(&args[2]).expect("models dir");
    let model = args.get(3).cloned().unwrap_or_else(|| "chorale".into());
    let count: usize = args.get(4).and_then(|c| c.parse().ok()).unwrap_or(120);
    let Some(admin) = cluster::admin_url() else {
        eprintln!("scale_bench: no Postgres; run under `bash scripts/pg-throwaway.sh`");
        std::process::exit(2);
    };
    let work = tempfile::tempdir().unwrap();
    let s3 = S3Loopback::start(
        &work.path().join("s3"),
        "127.0.0.1:0".parse().unwrap(),
        Credentials::for_tests(),
    )
    .expect("loopback S3");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "Scale-out: {count} compositions of 8 bars (model '{model}'), {cores} CPU cores, loopback\n"
    );
    println!("| set-up | processes | compositions/s |");
    println!("|---|---|---|");

    // Reference: the embedded single process, default in-process workers (one per core).
    {
        let port = cluster::free_port();
        let data = work.path().join("embedded");
        let mut child = Proc {
            child: cluster::serve_command(&bin, port, &data, &models)
                .args(["--max-jobs-per-user", "100000"])
                .spawn()
                .expect("start orchestrion serve"),
            base: None,
        };
        let base = format!("http://127.0.0.1:{port}");
        cluster::wait_ready(&client, &base).await;
        let rate = measure(&client, &base, &model, count).await;
        println!(
            "| embedded: SQLite + blob folder, in-process workers ({cores}) | 1 | {rate:.1} |"
        );
        child.terminate(Duration::from_secs(20));
    }

    for workers in [1usize, 2, 4] {
        let tag = format!("bench{workers}");
        let dir = work.path().join(&tag);
        let mut cluster = Cluster::new(&bin, &admin, &s3, &dir, &models, &tag).await;
        cluster.api_args = vec!["--max-jobs-per-user".into(), "100000".into()];
        cluster.lease_secs = 30;
        let mut api = cluster.spawn_api(&client).await;
        let mut procs: Vec<Proc> = (0..workers).map(|_| cluster.spawn_worker(1)).collect();
        let base = api.base.clone().unwrap();
        let rate = measure(&client, &base, &model, count).await;
        println!(
            "| Postgres + S3, `serve --no-workers` + {workers} × `worker` (1 slot each) | {} | {rate:.1} |",
            workers + 1
        );
        for p in &mut procs {
            p.terminate(Duration::from_secs(20));
        }
        api.terminate(Duration::from_secs(20));
    }
}
