//! The embedded studio as one real `orchestrion serve` process that a test kills and starts
//! again on the same port, data folder and database, to see what survives.

use std::path::PathBuf;
use std::time::Duration;

use super::cluster::{self, Proc};

pub struct RestartableServer {
    bin: PathBuf,
    port: u16,
    /// `http://127.0.0.1:PORT`, the same for every start.
    pub base: String,
    pub client: reqwest::Client,
    models: PathBuf,
    /// The server's data folder (SQLite file, blobs, training work).
    pub data: PathBuf,
    database: Option<String>,
    _dir: tempfile::TempDir,
}

impl RestartableServer {
    /// A server with the tiny test model over a fresh data folder and `database` (`None`: the
    /// SQLite file in its data folder); `None`, saying why, when the binary is not built.
    pub fn new(database: Option<String>) -> Option<RestartableServer> {
        let Some(bin) = cluster::binary() else {
            eprintln!(
                "skipping: the orchestrion binary is not built (cargo build -p orchestrion, or set \
                 ORCHESTRION_BIN)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        super::write_test_model(&models, "tiny");
        let port = cluster::free_port();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Some(RestartableServer {
            bin,
            port,
            base: format!("http://127.0.0.1:{port}"),
            client,
            models,
            data: dir.path().join("data"),
            database,
            _dir: dir,
        })
    }

    /// Starts the process with one worker and a 2 s lease, so that a job whose server was killed
    /// is taken again soon after the next start; waits until it is ready.
    pub async fn start(&self) -> Proc {
        let mut cmd = cluster::serve_command(&self.bin, self.port, &self.data, &self.models);
        cmd.args(["--workers", "1", "--lease-secs", "2"]);
        if let Some(url) = &self.database {
            cmd.env("ORCHESTRION_DATABASE_URL", url);
        }
        let proc = Proc {
            child: cmd.spawn().expect("start orchestrion serve"),
            base: Some(self.base.clone()),
        };
        cluster::wait_ready(&self.client, &self.base).await;
        proc
    }
}
