//! A scaled-out studio on loopback, made of real processes: `orchestrion migrate`, API processes
//! (`serve --no-workers`) and `orchestrion worker`s over one Postgres database (the throwaway
//! server of `scripts/pg-throwaway.sh`, a fresh database per cluster) and one bucket on the
//! loopback S3 server. The fault tests and the scale-out benchmark drive it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orchestrion_s3_loopback::S3Loopback;
use serde_json::Value;
use sqlx::Connection;

/// The `orchestrion` binary next to the test executable (or `$ORCHESTRION_BIN`).
pub fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ORCHESTRION_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    // Tests run from target/<profile>/deps, examples from target/<profile>/examples.
    let candidate = exe.parent()?.parent()?.join("orchestrion");
    candidate.is_file().then_some(candidate)
}

/// The throwaway Postgres server's superuser URL, when the tests run under
/// `scripts/pg-throwaway.sh`.
pub fn admin_url() -> Option<String> {
    std::env::var("ORCHESTRION_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// Why the scaled tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    if admin_url().is_none() {
        return Some(
            "no Postgres: run under `bash scripts/pg-throwaway.sh` (needs Debian's postgresql \
             package), which sets ORCHESTRION_TEST_DATABASE_URL"
                .into(),
        );
    }
    if binary().is_none() {
        return Some(
            "the orchestrion binary is not built (cargo build -p orchestrion, or set ORCHESTRION_BIN)"
                .into(),
        );
    }
    None
}

/// Creates a fresh database on the server of `admin` and returns its URL.
pub async fn fresh_database(admin: &str, tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "orch_{tag}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::postgres::PgConnection::connect(admin)
        .await
        .expect("connect to the throwaway Postgres");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    conn.close().await.ok();
    let (base, _) = admin.rsplit_once('/').expect("a database URL with a path");
    format!("{base}/{name}")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One child process of a cluster; killed (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    /// `http://127.0.0.1:PORT` for API processes.
    pub base: Option<String>,
}

impl Proc {
    /// kill -9, and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (bounded) for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Everything a process of the cluster is started with.
pub struct Cluster {
    pub bin: PathBuf,
    pub database_url: String,
    /// `s3://bucket/prefix`.
    pub blob_store: String,
    pub bucket: String,
    pub prefix: String,
    /// AWS_* variables of the loopback S3 server.
    pub s3_env: Vec<(&'static str, String)>,
    pub models_dir: PathBuf,
    /// Shared data folder (training scratch and published models; see docs/deploy.md).
    pub data_dir: PathBuf,
    pub lease_secs: u64,
    /// Extra `serve` arguments (e.g. a higher per-user job cap for load).
    pub api_args: Vec<String>,
}

impl Cluster {
    /// A cluster over a fresh database and a fresh bucket on `s3`; runs `orchestrion migrate`.
    pub async fn new(
        bin: &Path,
        admin: &str,
        s3: &S3Loopback,
        work: &Path,
        models_dir: &Path,
        tag: &str,
    ) -> Cluster {
        let database_url = fresh_database(admin, tag).await;
        let bucket = format!("{}-{}", tag.replace('_', "-"), std::process::id());
        s3.create_bucket(&bucket).unwrap();
        let prefix = "orchestrion".to_string();
        let cluster = Cluster {
            bin: bin.to_path_buf(),
            database_url,
            blob_store: format!("s3://{bucket}/{prefix}"),
            bucket,
            prefix,
            s3_env: s3.client_env(),
            models_dir: models_dir.to_path_buf(),
            data_dir: work.join("data"),
            lease_secs: 2,
            api_args: vec!["--max-jobs-per-user".into(), "1000".into()],
        };
        let status = cluster
            .command("migrate")
            .stdout(Stdio::null())
            .status()
            .expect("run orchestrion migrate");
        assert!(status.success(), "orchestrion migrate failed: {status}");
        cluster
    }

    /// `orchestrion SUBCOMMAND` with the cluster's environment.
    pub fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg(subcommand)
            .env("ORCHESTRION_DATABASE_URL", &self.database_url)
            .env("ORCHESTRION_BLOB_STORE", &self.blob_store)
            .env("ORCHESTRION_MODELS_DIR", &self.models_dir)
            .env("ORCHESTRION_DATA_DIR", &self.data_dir)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit());
        for (k, v) in &self.s3_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts an API process (no workers) on a free port; waits until it is ready.
    pub async fn spawn_api(&self, client: &reqwest::Client) -> Proc {
        let port = free_port();
        let child = self
            .command("serve")
            .args(["--no-workers", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--lease-secs", &self.lease_secs.to_string()])
            .args(&self.api_args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start orchestrion serve --no-workers");
        let base = format!("http://127.0.0.1:{port}");
        let proc = Proc {
            child,
            base: Some(base.clone()),
        };
        wait_ready(client, &base).await;
        proc
    }

    /// Starts a worker process with `slots` concurrent jobs.
    pub fn spawn_worker(&self, slots: usize) -> Proc {
        let child = self
            .command("worker")
            .args(["--concurrency", &slots.to_string()])
            .args(["--lease-secs", &self.lease_secs.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start orchestrion worker");
        Proc { child, base: None }
    }

    /// Every object key in the cluster's bucket (relative to the prefix), from the S3 server's
    /// folder.
    pub fn stored_keys(&self, s3: &S3Loopback) -> Vec<String> {
        let root = s3.bucket_dir(&self.bucket).join(&self.prefix);
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

/// `orchestrion serve` on `port` over `data` and `models`, quiet but for warnings: the embedded
/// studio in one process (SQLite and a blob folder unless told otherwise, in-process workers).
pub fn serve_command(bin: &Path, port: u16, data: &Path, models: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--models-dir")
        .arg(models)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

/// Polls `/readyz` until 200 (bounded).
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{base} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GET `url` as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// POST `body` to `url` as JSON; asserts a 2xx answer and returns its JSON.
pub async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    let r = client.post(url).json(body).send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_success(), "POST {url}: {status} {body}");
    body
}

/// GETs `url` until its JSON satisfies `done` (bounded by `within`); returns that JSON. Polls
/// every 10 ms, often enough to catch a given step of a fast training run.
pub async fn poll_json(
    client: &reqwest::Client,
    url: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let v = get_json(client, url).await;
        if done(&v) {
            return v;
        }
        assert!(started.elapsed() < within, "GET {url} timed out: {v}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `request` and reads its JSON answer, any failure as a message.
pub async fn try_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let r = request.send().await.map_err(|e| e.to_string())?;
    r.json().await.map_err(|e| e.to_string())
}

/// Creates a melody from a shipped sample; returns its id.
pub async fn sample_melody(client: &reqwest::Client, base: &str, sample: &str) -> String {
    let melody = post_json(
        client,
        &format!("{base}/api/melodies"),
        &serde_json::json!({"sample": sample}),
    )
    .await;
    melody["id"].as_str().expect("a melody id").to_string()
}

/// Polls a job every `every` until it ends: `Ok` once it succeeded, `Err` when it failed, was
/// cancelled, could not be read or was not done by `deadline` (the benchmarks report failures
/// instead of panicking).
pub async fn job_succeeded(
    client: &reqwest::Client,
    base: &str,
    job: &str,
    deadline: Instant,
    every: Duration,
) -> Result<(), String> {
    loop {
        let j = try_json(client.get(format!("{base}/api/jobs/{job}"))).await?;
        match j["status"].as_str() {
            Some("succeeded") => return Ok(()),
            Some("failed" | "cancelled") => return Err(format!("job ended: {j}")),
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(format!("job {job} timed out"));
        }
        tokio::time::sleep(every).await;
    }
}

/// Polls a job until its status satisfies `done` (bounded by `within`); returns it.
pub async fn wait_job(
    client: &reqwest::Client,
    base: &str,
    job: &str,
    within: Duration,
    done: impl Fn(&str) -> bool,
) -> Value {
    poll_json(client, &format!("{base}/api/jobs/{job}"), within, |j| {
        done(j["status"].as_str().unwrap_or_default())
    })
    .await
}

/// Polls a training run until `done` holds for it (bounded by `within`); returns it.
pub async fn wait_training_run(
    client: &reqwest::Client,
    base: &str,
    run_id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    poll_json(
        client,
        &format!("{base}/api/training-runs/{run_id}"),
        within,
        done,
    )
    .await
}

/// True for the statuses a job ends in.
pub fn finished(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

/// True for a job or training run (as JSON) that has ended.
pub fn has_ended(job_or_run: &Value) -> bool {
    finished(job_or_run["status"].as_str().unwrap_or_default())
}
