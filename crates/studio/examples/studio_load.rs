//! Load benchmark of a real `orchestrion serve` process on loopback (bounded: fixed request
//! counts, a time cap, and it stops the server it started). Prints a table for BENCHMARKS.md:
//! end-to-end compose latency (POST → MIDI ready) for an 8-bar melody, sustained compositions
//! per second, 500 concurrent requests with their error count, and the server's peak RSS.
//!
//! Usage: studio_load <path/to/orchestrion> <models-dir> [model-name]

#[path = "../tests/common/cluster.rs"]
#[allow(dead_code)]
mod cluster;

use std::path::Path;
use std::time::{Duration, Instant};

use cluster::Proc;
use serde_json::json;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn compose_once(
    client: &reqwest::Client,
    base: &str,
    melody: &str,
    model: &str,
    seed: u64,
) -> Result<(), String> {
    let r = cluster::try_json(
        client
            .post(format!("{base}/api/compositions"))
            .json(&json!({"melody_id": melody, "model": model, "bars": 8, "seed": seed})),
    )
    .await?;
    let job = r["job"]["id"]
        .as_str()
        .ok_or(format!("no job: {r}"))?
        .to_string();
    let id = r["composition"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    cluster::job_succeeded(client, base, &job, deadline, Duration::from_millis(2)).await?;
    let midi = client
        .get(format!("{base}/api/compositions/{id}/midi"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if midi.status() != 200 {
        return Err(format!("midi status {}", midi.status()));
    }
    midi.bytes().await.map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: studio_load <orchestrion binary> <models dir> [model name]");
        std::process::exit(2);
    }
    let (bin, models) = (&args[1], &args[2]);
    let data = tempfile::tempdir().unwrap();
    let port = cluster::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Proc {
        child: cluster::serve_command(Path::new(bin), port, data.path(), Path::new(models))
            .args(["--max-jobs-per-user", "10000"])
            .spawn()
            .expect("start server"),
        base: None,
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(600)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    cluster::wait_ready(&client, &base).await;
    let models_json = cluster::get_json(&client, &format!("{base}/api/models")).await;
    let model = args.get(3).cloned().unwrap_or_else(|| {
        models_json["items"][0]["name"]
            .as_str()
            .expect("a model")
            .to_string()
    });
    let melody = cluster::sample_melody(&client, &base, "ode_to_joy").await;

    // 1. Latency: sequential, 8 bars, POST → MIDI downloaded.
    for seed in 0..3 {
        compose_once(&client, &base, &melody, &model, seed)
            .await
            .unwrap();
    }
    let mut lat = Vec::new();
    for seed in 0..50 {
        let t = Instant::now();
        compose_once(&client, &base, &melody, &model, 100 + seed)
            .await
            .unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);

    // 2. Throughput: 200 compositions, 16 in flight.
    let total = 200;
    let t = Instant::now();
    let mut tasks = Vec::new();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    for seed in 0..total {
        let (client, base, melody, model, sem) = (
            client.clone(),
            base.clone(),
            melody.clone(),
            model.clone(),
            sem.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire().await.unwrap();
            compose_once(&client, &base, &melody, &model, 1000 + seed).await
        }));
    }
    let mut failed = 0;
    for task in tasks {
        if task.await.unwrap().is_err() {
            failed += 1;
        }
    }
    let per_sec = total as f64 / t.elapsed().as_secs_f64();

    // 3. 500 concurrent requests (mixed reads) at once.
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..500 {
        let (client, base, melody) = (client.clone(), base.clone(), melody.clone());
        tasks.push(tokio::spawn(async move {
            let path = match i % 4 {
                0 => "/api/samples".to_string(),
                1 => "/api/models".to_string(),
                2 => format!("/api/melodies/{melody}"),
                _ => "/api/compositions?limit=20".to_string(),
            };
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }));
    }
    let mut errors = 0;
    for task in tasks {
        if !task.await.unwrap() {
            errors += 1;
        }
    }
    let burst_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss = peak_rss_mib(server.child.id());
    server.terminate(Duration::from_secs(20));

    println!("| measure | result | target |");
    println!("|---|---|---|");
    println!(
        "| compose 8 bars end to end (POST → MIDI), p50 | {:.1} ms | < 200 ms |",
        percentile(&lat, 0.5)
    );
    println!(
        "| compose 8 bars end to end, p95 | {:.1} ms | |",
        percentile(&lat, 0.95)
    );
    println!(
        "| sustained compositions/s (200, 16 in flight) | {per_sec:.1} /s ({failed} failed) | ≥ 20 /s |"
    );
    println!("| 500 concurrent GETs | {errors} errors, {burst_ms:.0} ms | 0 errors |");
    println!("| server peak RSS (VmHWM) | {rss:.0} MiB | < 300 MB |");
    println!(
        "model: {model}; models loaded: {}",
        models_json["items"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0)
    );
}
