//! A Postgres outage seen from a running studio: `/readyz` answers 503 and names the database
//! while it is down, and once it is back the same server (same pool, no restart of ours) is
//! ready again and composes end to end. Needs the throwaway server of `scripts/pg-throwaway.sh`
//! (`ORCHESTRION_TEST_DATABASE_URL`, `ORCHESTRION_TEST_PG_CTL`); skips with a reason otherwise.
//! Alone in its own test binary because it stops the server every other test would share.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Options, TestServer};
use serde_json::Value;

fn pg_ctl(action: &str) {
    let script = std::env::var("ORCHESTRION_TEST_PG_CTL").unwrap();
    let out = Command::new(&script).arg(action).output().unwrap();
    assert!(
        out.status.success(),
        "pg_ctl {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn readyz(s: &TestServer) -> (u16, Value) {
    let r = s.get("/readyz", None).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_a_stopped_database_and_the_server_recovers_when_it_returns() {
    if common::database::postgres_admin_url().is_none()
        || std::env::var("ORCHESTRION_TEST_PG_CTL").is_err()
    {
        eprintln!(
            "skipping: needs the throwaway Postgres of scripts/pg-throwaway.sh \
             (ORCHESTRION_TEST_DATABASE_URL and ORCHESTRION_TEST_PG_CTL)"
        );
        return;
    }
    let (s, _) = TestServer::start(Options::default()).await;
    let (status, body) = readyz(&s).await;
    assert_eq!(
        (status, body["database"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    let melody = s.sample_melody("twinkle", None).await;

    pg_ctl("stop");
    let started = Instant::now();
    let (status, body) = readyz(&s).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "readyz must answer promptly while the database is down"
    );
    assert_eq!(status, 503, "{body}");
    let why = body["database"].as_str().unwrap();
    assert!(why.starts_with("unreachable: postgres"), "{body}");
    // The API says the service is unavailable rather than hanging or leaking details.
    let r = s.get(&format!("/api/melodies/{melody}"), None).await;
    assert!(r.status().is_server_error(), "{}", r.status());

    pg_ctl("start");
    let back = Instant::now();
    loop {
        let (status, body) = readyz(&s).await;
        if status == 200 {
            assert_eq!(body["database"], "ok");
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "not ready 30 s after the database came back: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Same server, same pool: reads, writes and the workers all work again.
    let r = s.get(&format!("/api/melodies/{melody}"), None).await;
    assert_eq!(r.status(), 200);
    let (id, job) = s.compose(&melody, 4, None).await;
    let job = s.wait_job(&job, None).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let c: Value = s
        .get(&format!("/api/compositions/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["status"], "succeeded", "{c}");
    s.stop().await;
}
