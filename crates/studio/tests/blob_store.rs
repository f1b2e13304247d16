//! The studio on an S3-compatible blob store (the loopback `s3s` server), whatever
//! `ORCHESTRION_TEST_BLOB_STORE` says: results land in the bucket as whole objects under their
//! keys, a key prefix is honoured, and `/readyz` answers 503 naming the blob store when the
//! bucket is missing, the credentials are wrong or the server is down.

use crate::common;

use common::blob_backend::{fresh_s3_store, s3_server};
use common::{Options, TestServer};
use orchestrion_studio::config::{BlobStore, S3Location};
use serde_json::Value;

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn bucket_of(store: &BlobStore) -> String {
    match store {
        BlobStore::S3(s3) => s3.bucket.clone(),
        other => panic!("not an S3 store: {other:?}"),
    }
}

#[tokio::test]
async fn compositions_are_stored_in_the_bucket_under_the_prefix() {
    let store = fresh_s3_store("tenant-a/blobs");
    let bucket = bucket_of(&store);
    let (s, _) = TestServer::start(Options {
        blob_store: Some(store),
        ..Options::default()
    })
    .await;
    let ready: Value = s.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["blob_store"], "ok", "{ready}");

    let melody = s.sample_melody("twinkle", None).await;
    let (id, job) = s.compose(&melody, 4, None).await;
    let job = s.wait_job(&job, None).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let midi = s
        .get(&format!("/api/compositions/{id}/midi"), None)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(midi.starts_with(b"MThd"), "not a MIDI file");

    let dir = s3_server().bucket_dir(&bucket);
    let stored = files_under(&dir);
    let song = format!("tenant-a/blobs/compositions/{id}/song.json");
    let midi_key = format!("tenant-a/blobs/compositions/{id}/composition.mid");
    assert!(stored.contains(&song), "{stored:?}");
    assert!(stored.contains(&midi_key), "{stored:?}");
    // The object in the bucket is exactly what the API serves, and the song parses whole.
    assert_eq!(std::fs::read(dir.join(&midi_key)).unwrap(), midi.to_vec());
    let song_json: Value = serde_json::from_slice(&std::fs::read(dir.join(&song)).unwrap())
        .expect("the stored song is whole JSON");
    assert!(song_json["tracks"].as_array().is_some_and(|t| t.len() > 1));
    // Nothing outside the prefix.
    assert!(
        stored.iter().all(|k| k.starts_with("tenant-a/blobs/")),
        "{stored:?}"
    );

    // Deleting the composition removes its objects from the bucket.
    assert_eq!(
        s.delete(&format!("/api/compositions/{id}"), None)
            .await
            .status(),
        204
    );
    let stored = files_under(&dir);
    assert!(
        !stored.contains(&song) && !stored.contains(&midi_key),
        "{stored:?}"
    );
    s.stop().await;
}

async fn readyz_of(store: BlobStore) -> (u16, Value) {
    let (s, _) = TestServer::start(Options {
        blob_store: Some(store),
        workers: 0,
        with_model: false,
        ..Options::default()
    })
    .await;
    let r = s.get("/readyz", None).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    s.stop().await;
    (status, body)
}

fn with_override(mut store: BlobStore, key: &str, value: String) -> BlobStore {
    if let BlobStore::S3(S3Location { overrides, .. }) = &mut store {
        overrides.retain(|(k, _)| k != key);
        overrides.push((key.into(), value));
    }
    store
}

#[tokio::test]
async fn readyz_names_a_missing_bucket() {
    let BlobStore::S3(mut location) = fresh_s3_store("") else {
        unreachable!()
    };
    location.bucket = "no-such-bucket".into();
    let (status, body) = readyz_of(BlobStore::S3(location)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "ok", "{body}");
    let blob = body["blob_store"].as_str().unwrap();
    assert!(
        blob.starts_with("unreachable: s3://no-such-bucket"),
        "{body}"
    );
}

#[tokio::test]
async fn readyz_reports_wrong_credentials() {
    let store = with_override(
        fresh_s3_store(""),
        "aws_secret_access_key",
        "not-the-secret".into(),
    );
    let (status, body) = readyz_of(store).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["blob_store"]
            .as_str()
            .unwrap()
            .starts_with("unreachable: s3://test-"),
        "{body}"
    );
}

#[tokio::test]
async fn readyz_reports_a_server_that_is_down_promptly() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = with_override(
        fresh_s3_store(""),
        "aws_endpoint",
        format!("http://127.0.0.1:{port}"),
    );
    let started = std::time::Instant::now();
    let (status, body) = readyz_of(store).await;
    assert_eq!(status, 503, "{body}");
    let blob = body["blob_store"].as_str().unwrap();
    assert!(
        blob.starts_with("unreachable: s3://") && blob.contains(&format!("127.0.0.1:{port}")),
        "{body}"
    );
    // Start-up probes once too; both are bounded by the probe timeout, not the retry budget.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}
