//! Test harness: a real studio server on 127.0.0.1:0 over a temporary data folder, with a real
//! (small, untrained) genre model made by the model crate, and an HTTP client.

#![allow(dead_code)]

pub mod blob_backend;
pub mod cluster;
pub mod database;
pub mod restartable_server;
pub mod training_data;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use orchestrion_model::GanConfig;
use orchestrion_music::TrackRole;
use orchestrion_studio::{AuthMode, Config, RunningServer};
use serde_json::{Value, json};

/// Writes a small genre model (random weights, every meter of the samples) to `dir/name`.
pub fn write_test_model(dir: &Path, name: &str) -> PathBuf {
    let config = GanConfig {
        name: name.into(),
        roles: vec![
            TrackRole::Melody,
            TrackRole::Drums,
            TrackRole::Bass,
            TrackRole::Piano,
        ],
        programs: vec![0, 0, 33, 0],
        steps_per_beat: 4,
        window_bars: 2,
        max_window_steps: 32,
        pitch_ranges: vec![(48, 36), (35, 12), (28, 24), (48, 36)],
        meters: vec![(4, 4), (3, 4), (6, 8)],
        recipe_hash: "studio-test".into(),
        channels: 16,
        beat_channels: 16,
        critic_channels: 8,
        latent: 8,
        onset_threshold: 0.5,
        sustain_threshold: 0.5,
        decoding: Vec::new(),
        key_normalized: true,
        swing: 0.0,
    };
    let device = burn::prelude::Device::flex();
    let (generator, critic) = config.init(11, &device);
    let spectral = config.init_spectral(11);
    let out = dir.join(name);
    orchestrion_model::store::save_model(&out, &config, &generator, &critic, &spectral).unwrap();
    std::fs::write(
        out.join("MODEL_CARD.md"),
        format!("# {name}\n\nAn untrained model for the studio's tests.\n"),
    )
    .unwrap();
    out
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub base: String,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
}

pub struct Options {
    pub auth: AuthMode,
    pub users: Vec<&'static str>,
    pub workers: usize,
    pub max_jobs_per_user: u32,
    pub with_model: bool,
    /// The blob store; `None` follows `ORCHESTRION_TEST_BLOB_STORE` (see `blob_backend`).
    pub blob_store: Option<orchestrion_studio::config::BlobStore>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            auth: AuthMode::Local,
            users: vec![],
            workers: 2,
            max_jobs_per_user: 4,
            with_model: true,
            blob_store: None,
        }
    }
}

impl TestServer {
    /// Starts a server; returns it and the tokens of `options.users`, in order.
    pub async fn start(options: Options) -> (TestServer, Vec<String>) {
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), data.path().join("data"));
        config.auth = options.auth;
        config.workers = options.workers;
        config.limits.max_jobs_per_user = options.max_jobs_per_user;
        config.lease = Duration::from_secs(5);
        config.database_url = database::for_test_server().await;
        config.blob_store = options
            .blob_store
            .clone()
            .unwrap_or_else(blob_backend::for_test_server);
        if options.with_model {
            let models = data.path().join("models");
            write_test_model(&models, "tiny");
            config.models_dir = Some(models);
        }
        let mut tokens = Vec::new();
        if !options.users.is_empty() {
            let db = orchestrion_studio::open_database(&config).await.unwrap();
            for u in &options.users {
                tokens.push(orchestrion_studio::auth::add_user(&db, u).await.unwrap().1);
            }
            db.close().await;
        }
        let server = orchestrion_studio::start(config).await.unwrap();
        let base = format!("http://{}", server.addr());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        (
            TestServer {
                server: Some(server),
                base,
                data,
                client,
            },
            tokens,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// GET `path` and its JSON body, whatever the status.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        self.get(path, token).await.json().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Uploads a training archive with the run's `config` (`POST /api/training-runs`).
    pub async fn post_training_archive(
        &self,
        archive: Vec<u8>,
        config: &Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/api/training-runs"))
            .multipart(training_data::archive_upload(archive, config))
            .send()
            .await
            .unwrap()
    }

    /// Starts a training run from an archive; returns (run id, job id).
    pub async fn start_training_run(&self, archive: Vec<u8>, config: &Value) -> (String, String) {
        training_data::start_training_run(&self.client, &self.base, archive, config).await
    }

    /// Polls a training run until `done` holds for it (bounded by `within`); returns it.
    pub async fn wait_training_run(
        &self,
        run_id: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        cluster::wait_training_run(&self.client, &self.base, run_id, within, done).await
    }

    /// Asks a training run to stop.
    pub async fn cancel_training_run(&self, run_id: &str) -> reqwest::Response {
        let path = format!("/api/training-runs/{run_id}/cancel");
        self.post_json(&path, &json!({}), None).await
    }

    /// Publishes a finished training run's model under `name`.
    pub async fn publish(&self, run_id: &str, name: &str) -> reqwest::Response {
        let path = format!("/api/training-runs/{run_id}/publish");
        self.post_json(&path, &json!({"name": name}), None).await
    }

    /// Creates a melody from a shipped sample; returns its id.
    pub async fn sample_melody(&self, sample: &str, token: Option<&str>) -> String {
        let r = self
            .post_json("/api/melodies", &json!({"sample": sample}), token)
            .await;
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Asks for a composition of the tiny model (seed 7); returns (composition id, job id).
    pub async fn compose(
        &self,
        melody_id: &str,
        bars: u32,
        token: Option<&str>,
    ) -> (String, String) {
        let body = json!({"melody_id": melody_id, "model": "tiny", "bars": bars, "seed": 7});
        let accepted = self.request_composition(&body, token).await;
        (
            accepted["composition"]["id"].as_str().unwrap().to_string(),
            accepted["job"]["id"].as_str().unwrap().to_string(),
        )
    }

    /// Asks for a composition as `body` describes it; returns the accepted composition and job.
    pub async fn request_composition(&self, body: &Value, token: Option<&str>) -> Value {
        let r = self.post_json("/api/compositions", body, token).await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    /// Polls a job until it ends; returns it.
    pub async fn wait_job(&self, job_id: &str, token: Option<&str>) -> Value {
        let started = Instant::now();
        loop {
            let job: Value = self
                .get(&format!("/api/jobs/{job_id}"), token)
                .await
                .json()
                .await
                .unwrap();
            if cluster::has_ended(&job) {
                return job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "job did not finish: {job}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// Asserts the JSON error shape and code of a response.
pub async fn assert_error(r: reqwest::Response, status: u16, code: &str) {
    assert_eq!(r.status().as_u16(), status, "status");
    let body: Value = r.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// The `event:` names and parsed `data:` of a finished Server-Sent Events body.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut event = String::new();
    for line in body.lines() {
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim().to_string();
        } else if let Some(Ok(v)) = line
            .strip_prefix("data:")
            .map(|d| serde_json::from_str(d.trim()))
        {
            out.push((event.clone(), v));
        }
    }
    out
}
