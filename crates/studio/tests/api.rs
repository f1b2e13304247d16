//! API tests against a real studio server over HTTP: compose end to end, the error shape,
//! IDOR (another user's resources are 404), share links and their revocation, upload limits
//! (zip-slip, oversize), per-user job limits, the OpenAPI document and the ops endpoints.

use crate::common;

use std::time::Duration;

use common::cluster::has_ended;
use common::training_data::{band_archive, zip_of};
use common::{Options, TestServer, assert_error, sse_events};
use orchestrion_studio::AuthMode;
use serde_json::{Value, json};

#[tokio::test]
async fn sample_melody_is_composed_end_to_end_and_the_melody_is_kept() {
    let (s, _) = TestServer::start(Options::default()).await;
    let info = s.get_json("/api/info", None).await;
    assert_eq!(info["auth"], "local");
    assert_eq!(info["limits"]["max_bars"], 256);

    let samples = s.get_json("/api/samples", None).await;
    let ids: Vec<&str> = samples["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"twinkle") && ids.contains(&"ode_to_joy"),
        "{ids:?}"
    );

    let models = s.get_json("/api/models", None).await;
    assert_eq!(models["items"][0]["name"], "tiny");
    let model = s.get_json("/api/models/tiny", None).await;
    assert!(model["card"].as_str().unwrap().contains("untrained"));
    assert_eq!(
        model["roles"].as_array().unwrap().len(),
        3,
        "melody is not a generated role: {model}"
    );

    let melody_id = s.sample_melody("twinkle", None).await;
    let melody = s
        .get_json(&format!("/api/melodies/{melody_id}"), None)
        .await;
    assert_eq!(melody["bars"], 12);
    assert_eq!(melody["meter"]["numerator"], 4);

    let (id, job_id) = s.compose(&melody_id, 4, None).await;
    let job = s.wait_job(&job_id, None).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"], 1.0);

    let c = s.get_json(&format!("/api/compositions/{id}"), None).await;
    assert_eq!(c["status"], "succeeded", "{c}");
    assert_eq!(c["seed"], 7);
    assert!(
        c["model_hash"].as_str().is_some_and(|h| !h.is_empty()),
        "{c}"
    );
    assert!(c["critic_score"].is_number());

    // The roll has the melody unchanged (first 4 bars = 16 beats) plus the generated roles.
    let roll = s
        .get_json(&format!("/api/compositions/{id}/roll"), None)
        .await;
    let tracks = roll["tracks"].as_array().unwrap();
    let roles: Vec<&str> = tracks.iter().map(|t| t["role"].as_str().unwrap()).collect();
    assert!(
        roles.contains(&"melody") && roles.contains(&"bass"),
        "{roles:?}"
    );
    let melody_track = tracks.iter().find(|t| t["role"] == "melody").unwrap();
    let expected: Vec<(u64, f64)> = melody["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["start_beats"].as_f64().unwrap() < 16.0)
        .map(|n| {
            (
                n["pitch"].as_u64().unwrap(),
                n["start_beats"].as_f64().unwrap(),
            )
        })
        .collect();
    let got: Vec<(u64, f64)> = melody_track["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["pitch"].as_u64().unwrap(), n["start"].as_f64().unwrap()))
        .filter(|n| n.1 < 16.0)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        got, expected,
        "the melody of the first 4 bars comes back note for note"
    );

    // Listed as mine, newest first.
    let list = s.get_json("/api/compositions?limit=5", None).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());

    // The job's event stream replays to its end.
    let events = s.get(&format!("/api/jobs/{job_id}/events"), None).await;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let text = events.text().await.unwrap();
    assert!(
        text.contains("event: progress") && text.contains("event: done"),
        "{text}"
    );

    // Deleting removes it.
    assert_eq!(
        s.delete(&format!("/api/compositions/{id}"), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        s.get(&format!("/api/compositions/{id}"), None)
            .await
            .status(),
        404
    );
    s.stop().await;
}

#[tokio::test]
async fn keyboard_notes_and_bad_input_get_clear_errors() {
    let (s, _) = TestServer::start(Options::default()).await;
    let notes = json!({"name": "mine", "tempo_bpm": 96, "meter": {"numerator": 3, "denominator": 4},
        "notes": [{"pitch": 60, "velocity": 100, "start_beats": 0, "duration_beats": 1},
                  {"pitch": 64, "start_beats": 1, "duration_beats": 2}]});
    let r = s.post_json("/api/melodies", &notes, None).await;
    assert_eq!(r.status(), 201);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["source"], "keyboard");
    assert_eq!(m["bars"], 1);
    assert_eq!(m["notes"][1]["velocity"], 90);
    let melody_id = m["id"].as_str().unwrap();

    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"pitch": 60, "start_beats": (i % 900) as f64, "duration_beats": 0.25}))
        .collect();
    for body in [
        json!({"tempo_bpm": 96, "meter": {"numerator": 4, "denominator": 4}, "notes": [{"pitch": 200, "start_beats": 0, "duration_beats": 1}]}),
        json!({"tempo_bpm": 96, "meter": {"numerator": 4, "denominator": 4}, "notes": []}),
        json!({"sample": "nope"}),
        json!({"tempo_bpm": 96, "meter": {"numerator": 4, "denominator": 4}, "notes": many}),
    ] {
        assert_error(
            s.post_json("/api/melodies", &body, None).await,
            422,
            "validation",
        )
        .await;
    }
    for (content_type, body, status, code) in [
        ("application/json", "{not json", 400, "bad_request"),
        ("text/plain", "hi", 415, "unsupported_media_type"),
    ] {
        let r = s
            .client
            .post(s.url("/api/melodies"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(r, status, code).await;
    }

    for body in [
        json!({"melody_id": melody_id, "model": "tiny", "bars": 0}),
        json!({"melody_id": melody_id, "model": "tiny", "bars": 257}),
        json!({"melody_id": melody_id, "model": "tiny", "candidates": 9}),
        json!({"melody_id": melody_id, "model": "nope"}),
        json!({"melody_id": melody_id, "model": "tiny", "seed": 9_007_199_254_740_992u64}),
    ] {
        assert_error(
            s.post_json("/api/compositions", &body, None).await,
            422,
            "validation",
        )
        .await;
    }
    assert_error(
        s.post_json(
            "/api/compositions",
            &json!({"melody_id": "missing", "model": "tiny"}),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_error(s.get("/api/nope", None).await, 404, "not_found").await;
    assert_error(
        s.delete("/api/samples", None).await,
        405,
        "method_not_allowed",
    )
    .await;
    assert_error(
        s.get("/api/compositions?limit=1000", None).await,
        400,
        "bad_request",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn oversize_uploads_are_refused_with_413() {
    let (s, _) = TestServer::start(Options::default()).await;
    let big = vec![0u8; 17 * 1024 * 1024];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big.clone()).file_name("big.mid"),
    );
    let r = s
        .client
        .post(s.url("/api/melodies"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    let r = s
        .client
        .post(s.url("/api/melodies"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    // Not MIDI at all: a clear 400.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("x.mid"),
    );
    let r = s
        .client
        .post(s.url("/api/melodies"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid_midi").await;
    s.stop().await;
}

#[tokio::test]
async fn zip_slip_archives_are_refused() {
    let (s, _) = TestServer::start(Options::default()).await;
    let config = json!({"name": "mine", "roles": ["bass", "drums"], "steps": 10, "learning_rate": 0.0002, "critic_updates": 2});
    let evil = zip_of(&[("ok.mid", b"MThd"), ("../../../tmp/evil.mid", b"MThd")]);
    let r = s.post_training_archive(evil, &config).await;
    assert_error(r, 400, "invalid_archive").await;
    assert!(!s.data.path().join("tmp/evil.mid").exists());

    // A zip bomb-ish entry over the per-file cap (4 MiB uncompressed, a few KiB compressed).
    let bomb = zip_of(&[("big.mid", &vec![0u8; 5 * 1024 * 1024])]);
    assert!(bomb.len() < 1024 * 1024);
    let r = s.post_training_archive(bomb, &config).await;
    assert_error(r, 413, "payload_too_large").await;

    // Bad hyper-parameters are a 422 before anything is stored.
    let bad = json!({"name": "Bad Name", "roles": ["bass"], "steps": 10, "learning_rate": 0.0002, "critic_updates": 2});
    let r = s
        .post_training_archive(zip_of(&[("a.mid", b"MThd")]), &bad)
        .await;
    assert_error(r, 422, "validation").await;
    s.stop().await;
}

#[tokio::test]
async fn other_users_get_404_for_everything_of_mine() {
    let (s, tokens) = TestServer::start(Options {
        auth: AuthMode::Token,
        users: vec!["alice", "bob"],
        ..Options::default()
    })
    .await;
    let (alice, bob) = (Some(tokens[0].as_str()), Some(tokens[1].as_str()));
    assert_error(s.get("/api/compositions", None).await, 401, "unauthorized").await;
    assert_error(
        s.get("/api/compositions", Some("orch_wrong")).await,
        401,
        "unauthorized",
    )
    .await;

    let melody_id = s.sample_melody("ode_to_joy", alice).await;
    let (id, job_id) = s.compose(&melody_id, 2, alice).await;
    assert_eq!(s.wait_job(&job_id, alice).await["status"], "succeeded");
    assert_eq!(
        s.get(&format!("/api/compositions/{id}"), alice)
            .await
            .status(),
        200
    );

    for path in [
        format!("/api/compositions/{id}"),
        format!("/api/compositions/{id}/midi"),
        format!("/api/compositions/{id}/wav"),
        format!("/api/compositions/{id}/roll"),
        format!("/api/melodies/{melody_id}"),
        format!("/api/jobs/{job_id}"),
    ] {
        assert_error(s.get(&path, bob).await, 404, "not_found").await;
    }
    for r in [
        s.post_json(&format!("/api/compositions/{id}/share"), &json!({}), bob)
            .await,
        s.delete(&format!("/api/compositions/{id}/share"), bob)
            .await,
        s.delete(&format!("/api/compositions/{id}"), bob).await,
        s.post_json(
            "/api/compositions",
            &json!({"melody_id": melody_id, "model": "tiny"}),
            bob,
        )
        .await,
    ] {
        assert_error(r, 404, "not_found").await;
    }
    let bobs = s.get_json("/api/compositions", bob).await;
    assert_eq!(bobs["total"], 0);
    // Still there for its owner.
    assert_eq!(
        s.get(&format!("/api/compositions/{id}"), alice)
            .await
            .status(),
        200
    );

    // The console signs in with a token and then uses the cookie.
    let r = s
        .post_json("/api/session", &json!({"token": tokens[1]}), None)
        .await;
    assert_eq!(r.status(), 204);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me: Value = s
        .client
        .get(s.url("/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "bob");
    let r = s
        .client
        .delete(s.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .client
        .get(s.url("/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn share_links_are_public_until_revoked() {
    let (s, tokens) = TestServer::start(Options {
        auth: AuthMode::Token,
        users: vec!["alice"],
        ..Options::default()
    })
    .await;
    let alice = Some(tokens[0].as_str());
    let melody_id = s.sample_melody("greensleeves", alice).await;
    let (id, job_id) = s.compose(&melody_id, 2, alice).await;
    assert_eq!(s.wait_job(&job_id, alice).await["status"], "succeeded");

    let r = s
        .post_json(&format!("/api/compositions/{id}/share"), &json!({}), alice)
        .await;
    assert_eq!(r.status(), 201);
    let link: Value = r.json().await.unwrap();
    let token = link["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32);
    assert_eq!(link["url"], format!("/s/{token}"));
    // Sharing again gives the same link.
    let again: Value = s
        .post_json(&format!("/api/compositions/{id}/share"), &json!({}), alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["token"], token.as_str());

    // Anyone can read it, without credentials, and it names no owner or id.
    let shared = s.get_json(&format!("/api/shared/{token}"), None).await;
    assert_eq!(shared["model"], "tiny");
    assert!(shared["roll"]["tracks"].as_array().unwrap().len() >= 2);
    assert!(shared.get("owner_id").is_none() && shared.get("id").is_none());
    let page = s.get(&format!("/s/{token}"), None).await;
    assert_eq!(page.status(), 200);

    assert_eq!(
        s.delete(&format!("/api/compositions/{id}/share"), alice)
            .await
            .status(),
        204
    );
    for path in [
        format!("/api/shared/{token}"),
        format!("/api/shared/{token}/midi"),
    ] {
        assert_error(s.get(&path, None).await, 404, "not_found").await;
    }
    let c = s.get_json(&format!("/api/compositions/{id}"), alice).await;
    assert!(c["share"].is_null());
    // A new share is a new token; the old one stays dead.
    let new: Value = s
        .post_json(&format!("/api/compositions/{id}/share"), &json!({}), alice)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(new["token"], token.as_str());
    assert_eq!(
        s.get(&format!("/api/shared/{token}"), None).await.status(),
        404
    );
    s.stop().await;
}

#[tokio::test]
async fn unfinished_jobs_per_user_are_capped_and_queued_jobs_cancel() {
    // No workers: jobs stay queued.
    let (s, _) = TestServer::start(Options {
        workers: 0,
        max_jobs_per_user: 2,
        ..Options::default()
    })
    .await;
    let melody_id = s.sample_melody("twinkle", None).await;
    let (first, first_job) = s.compose(&melody_id, 2, None).await;
    s.compose(&melody_id, 2, None).await;
    let body = json!({"melody_id": melody_id, "model": "tiny", "bars": 2});
    assert_error(
        s.post_json("/api/compositions", &body, None).await,
        429,
        "too_many_jobs",
    )
    .await;
    assert_error(
        s.get(&format!("/api/compositions/{first}/roll"), None)
            .await,
        409,
        "not_ready",
    )
    .await;

    let r = s
        .post_json(&format!("/api/jobs/{first_job}/cancel"), &json!({}), None)
        .await;
    assert_eq!(r.status(), 202);
    let job: Value = r.json().await.unwrap();
    assert_eq!(job["status"], "cancelled");
    let c = s
        .get_json(&format!("/api/compositions/{first}"), None)
        .await;
    assert_eq!(c["status"], "cancelled");
    assert_error(
        s.post_json(&format!("/api/jobs/{first_job}/cancel"), &json!({}), None)
            .await,
        409,
        "conflict",
    )
    .await;
    // A slot is free again.
    assert_eq!(
        s.post_json("/api/compositions", &body, None).await.status(),
        202
    );
    s.stop().await;
}

#[tokio::test]
async fn ops_endpoints_and_openapi_document() {
    let (s, _) = TestServer::start(Options::default()).await;
    assert_eq!(s.get("/healthz", None).await.text().await.unwrap(), "ok");
    let ready = s.get_json("/readyz", None).await;
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["models"], 1);
    let metrics = s.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("orchestrion_models_loaded 1"), "{metrics}");
    assert!(
        metrics.contains("orchestrion_http_requests_total{route=\"ops\",status=\"200\"}"),
        "{metrics}"
    );
    let doc = s.get_json("/api/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/compositions",
        "/api/compositions/{id}/share",
        "/api/shared/{token}",
        "/api/training-runs",
        "/api/jobs/{id}/events",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    let r = s.get("/api/compositions", None).await;
    assert!(r.headers().contains_key("x-request-id"));
    s.stop().await;
}

#[tokio::test]
async fn non_loopback_without_auth_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        orchestrion_studio::Config::new("0.0.0.0:0".parse().unwrap(), dir.path().to_path_buf());
    config.auth = AuthMode::Local;
    let err = orchestrion_studio::start(config.clone())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("refusing"), "{err}");
    // Token mode with no users is not "configured" either.
    config.auth = AuthMode::Token;
    let err = orchestrion_studio::start(config).await.err().unwrap();
    assert!(err.to_string().contains("--add-user"), "{err}");
}

#[tokio::test]
async fn a_tiny_run_trains_from_a_zip_streams_losses_publishes_and_composes() {
    let (s, _) = TestServer::start(Options::default()).await;
    let steps = 4;
    let config = json!({"name": "tiny-band", "roles": ["drums", "bass", "piano"], "steps": steps,
        "learning_rate": 0.0002, "critic_updates": 1});
    let (run_id, _) = s.start_training_run(band_archive(6), &config).await;
    let run = s
        .wait_training_run(&run_id, Duration::from_secs(300), has_ended)
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["step"], steps);
    assert!(run["latest"]["generator_loss"].is_number(), "{run}");
    assert!(run["reference"]["EB"].is_number(), "{run}");

    // The finished stream replays every event and ends with `done`.
    let text = s
        .get(&format!("/api/training-runs/{run_id}/events"), None)
        .await
        .text()
        .await
        .unwrap();
    let events = sse_events(&text);
    let losses: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "loss")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(losses.len(), steps, "{text}");
    for (i, l) in losses.iter().enumerate() {
        assert_eq!(l["step"], i + 1);
        assert!(l["generator_loss"].as_f64().unwrap().is_finite());
        assert!(l["critic_loss"].as_f64().unwrap().is_finite());
    }
    let metrics = events
        .iter()
        .find(|(e, v)| e == "metrics" && v["step"].as_u64() > Some(0))
        .map(|(_, v)| v)
        .expect("a metrics event after training began");
    assert!(
        metrics["metrics"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(metrics["reference"], run["reference"]);
    let checkpoint = events
        .iter()
        .find(|(e, _)| e == "checkpoint")
        .map(|(_, v)| v.clone())
        .expect("a checkpoint event");
    assert_eq!(events.last().unwrap().0, "done");
    let sample = s
        .get(checkpoint["sample_midi"].as_str().unwrap(), None)
        .await;
    assert_eq!(sample.status(), 200);
    let song = orchestrion_music::Song::from_midi_bytes(
        &sample.bytes().await.unwrap(),
        &orchestrion_music::Limits::default(),
    )
    .expect("the checkpoint sample is a MIDI file");
    assert!(!song.tracks.is_empty());

    // Publishing makes it a model that compose can use at once, and on the next start.
    let r = s.publish(&run_id, "my-band").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let model: Value = r.json().await.unwrap();
    assert_eq!(model["name"], "my-band");
    assert_eq!(model["source"], "trained");
    let roles: Vec<&str> = model["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["drums", "bass", "piano"]);
    assert!(
        s.data
            .path()
            .join("data/models/my-band/config.json")
            .is_file()
    );
    let models = s.get_json("/api/models", None).await;
    assert!(
        models["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "my-band"),
        "{models}"
    );
    let again = s.publish(&run_id, "my-band").await;
    assert_error(again, 409, "conflict").await;
    let run = s
        .get_json(&format!("/api/training-runs/{run_id}"), None)
        .await;
    assert_eq!(run["published_model"], "my-band");

    let melody = s.sample_melody("twinkle", None).await;
    let body = s
        .request_composition(
            &json!({"melody_id": melody, "model": "my-band", "bars": 4, "seed": 3}),
            None,
        )
        .await;
    let job = s.wait_job(body["job"]["id"].as_str().unwrap(), None).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let id = body["composition"]["id"].as_str().unwrap();
    let comp = s.get_json(&format!("/api/compositions/{id}"), None).await;
    assert_eq!(comp["model"], "my-band");
    let midi = s.get(&format!("/api/compositions/{id}/midi"), None).await;
    assert_eq!(midi.status(), 200);
    s.stop().await;
}

#[tokio::test]
async fn a_running_training_run_can_be_cancelled() {
    let (s, _) = TestServer::start(Options::default()).await;
    let config = json!({"name": "long", "roles": ["bass", "piano"], "steps": 100000,
        "learning_rate": 0.0002, "critic_updates": 1});
    let (run_id, job_id) = s.start_training_run(band_archive(4), &config).await;
    // Wait for the first step, then cancel.
    s.wait_training_run(&run_id, Duration::from_secs(120), |run| {
        assert_eq!(
            run["status"].as_str().map(|st| st != "failed"),
            Some(true),
            "{run}"
        );
        run["step"].as_i64().unwrap_or(0) >= 1
    })
    .await;
    let r = s.cancel_training_run(&run_id).await;
    assert_eq!(r.status(), 202);
    let job = s.wait_job(&job_id, None).await;
    assert_eq!(job["status"], "cancelled", "{job}");
    let run = s
        .get_json(&format!("/api/training-runs/{run_id}"), None)
        .await;
    assert_eq!(run["status"], "cancelled");
    assert!(run["step"].as_i64().unwrap() < 100000);
    let r = s.publish(&run_id, "long").await;
    assert_error(r, 409, "conflict").await;
    s.stop().await;
}
