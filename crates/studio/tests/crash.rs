//! Crash test with the real `orchestrion` binary: kill -9 the server while a composition is
//! running, start it again on the same data folder, and check that every job completes, each
//! result is whole, and nothing was lost. Then a SIGTERM must shut it down cleanly.

use crate::common;

use std::time::{Duration, Instant};

use common::cluster::{self, finished, get_json, post_json, wait_job};
use common::restartable_server::RestartableServer;
use serde_json::json;

#[tokio::test]
async fn kill_9_mid_composition_then_restart_completes_every_job() {
    // The same database for both lives of the server (Postgres when the suite runs on it).
    let database = common::database::for_test_server().await;
    let Some(server) = RestartableServer::new(database) else {
        return;
    };
    let (client, base) = (&server.client, &server.base);
    let mut process = server.start().await;
    let melody = cluster::sample_melody(client, base, "ode_to_joy").await;
    let mut jobs = Vec::new();
    for seed in 0..4 {
        let r = post_json(
            client,
            &format!("{base}/api/compositions"),
            &json!({"melody_id": melody, "model": "tiny", "bars": 256, "candidates": 8, "seed": seed}),
        )
        .await;
        jobs.push((
            r["composition"]["id"].as_str().unwrap().to_string(),
            r["job"]["id"].as_str().unwrap().to_string(),
        ));
    }

    // Kill as soon as some job is running (one worker: the others wait in the queue).
    let started = Instant::now();
    let killed_job = 'wait: loop {
        for (_, job) in &jobs {
            let j = get_json(client, &format!("{base}/api/jobs/{job}")).await;
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
    process.kill9();

    let mut process = server.start().await;
    for (composition, job) in &jobs {
        let j = wait_job(client, base, job, Duration::from_secs(300), finished).await;
        assert_eq!(j["status"], "succeeded", "{j}");
        if job == &killed_job {
            assert_eq!(
                j["attempts"], 2,
                "the killed attempt counts, the re-run completes: {j}"
            );
        }
        let c = get_json(client, &format!("{base}/api/compositions/{composition}")).await;
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
        let roll = get_json(
            client,
            &format!("{base}/api/compositions/{composition}/roll"),
        )
        .await;
        assert!(
            roll["total_beats"].as_f64().unwrap() >= 256.0 * 4.0 - 1e-9,
            "all 256 bars are there"
        );
    }
    let list = get_json(client, &format!("{base}/api/compositions")).await;
    assert_eq!(list["total"], 4, "nothing lost");

    // Graceful stop on SIGTERM.
    assert!(
        process.terminate(Duration::from_secs(20)),
        "server did not stop with a clean exit within 20 s of SIGTERM"
    );
}
