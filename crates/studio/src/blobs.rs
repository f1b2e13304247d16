//! Large objects (songs, MIDI, WAV, uploaded archives) live in a blob store, not the database.
//! `object_store` gives one interface over a local folder (the embedded default) and any
//! S3-compatible server (the scaled set-up, where API processes and workers on several machines
//! share one bucket).
//!
//! A put is atomic in both: the local store writes a temporary file and renames it, and an S3
//! PUT makes a whole object visible or nothing. So a key either names a whole object or nothing,
//! and a crash never leaves a half-written blob under a real key. Callers write blobs before
//! the row that points at them commits, under keys derived from the row's id, so a retried job
//! overwrites its own earlier attempt instead of leaving an orphan.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use crate::config::{BlobStore, S3Location};

/// How long a readiness probe waits for the blob store before calling it unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The blob store of a server.
#[derive(Clone)]
pub struct Blobs {
    /// Shared so every handler and worker uses the same store (and its connection pool).
    store: Arc<dyn ObjectStore>,
    /// Where the blobs are, for logs and `/readyz` (never holds credentials).
    location: Arc<str>,
}

impl Blobs {
    /// Opens the blob store a server is configured with; `data_dir` holds the default one.
    pub fn open(store: &BlobStore, data_dir: &Path) -> Result<Blobs, object_store::Error> {
        match store {
            BlobStore::DataDir => Blobs::local(&data_dir.join("blobs")),
            BlobStore::Folder(dir) => Blobs::local(dir),
            BlobStore::S3(s3) => Blobs::s3(s3),
        }
    }

    /// A store in a local folder (created if missing).
    pub fn local(dir: &Path) -> Result<Blobs, object_store::Error> {
        std::fs::create_dir_all(dir).map_err(|e| object_store::Error::Generic {
            store: "local",
            source: Box::new(e),
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs {
            store: Arc::new(store),
            location: format!("folder {}", dir.display()).into(),
        })
    }

    /// A bucket on an S3-compatible server. Endpoint, region and credentials come from the
    /// standard AWS environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, ...), then from the
    /// location's overrides. Plain http is allowed for loopback endpoints, and elsewhere only
    /// with `AWS_ALLOW_HTTP=true`. Nothing is contacted here: `/readyz` probes.
    pub fn s3(location: &S3Location) -> Result<Blobs, object_store::Error> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket);
        for (key, value) in &location.overrides {
            let key: AmazonS3ConfigKey = key.parse()?;
            builder = builder.with_config(key, value);
        }
        // `AWS_ENDPOINT_URL_S3` wins over `AWS_ENDPOINT_URL`, as in the AWS SDKs.
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint))
            .unwrap_or_default();
        // Defaults only where the environment set nothing: connect quickly or report the store
        // down, and bound retries so a request handler waits seconds, not the client's default
        // of minutes, before it answers 500.
        for (key, value) in [
            (ClientConfigKey::ConnectTimeout, "5s"),
            (ClientConfigKey::Timeout, "60s"),
        ] {
            let key = AmazonS3ConfigKey::Client(key);
            if builder.get_config_value(&key).is_none() {
                builder = builder.with_config(key, value);
            }
        }
        if is_loopback_http(&endpoint) {
            builder = builder.with_allow_http(true);
        }
        let builder = builder.with_retry(RetryConfig {
            max_retries: 4,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        });
        let s3 = builder.build()?;
        let store: Arc<dyn ObjectStore> = if location.prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, location.prefix.as_str()))
        };
        let where_ = if endpoint.is_empty() {
            location.to_string()
        } else {
            format!("{location} at {endpoint}")
        };
        Ok(Blobs {
            store,
            location: where_.into(),
        })
    }

    /// Where the blobs are (no credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores `bytes` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), object_store::Error> {
        self.store
            .put(&BlobPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads the whole object under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, object_store::Error> {
        self.store.get(&BlobPath::from(key)).await?.bytes().await
    }

    /// Removes `key`; a missing object is not an error (deletes are retried after crashes).
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.store.delete(&BlobPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the store answers: lists an (empty) probe prefix, which fails for a missing
    /// bucket, wrong credentials or an unreachable server alike. Bounded by a short timeout so
    /// `/readyz` answers promptly while the store is down.
    pub async fn ping(&self) -> Result<(), String> {
        let probe = BlobPath::from("readyz-probe");
        match tokio::time::timeout(PROBE_TIMEOUT, self.store.list_with_delimiter(Some(&probe)))
            .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
        }
    }
}

/// `http://` to a loopback host: the one case where TLS buys nothing.
fn is_loopback_http(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_endpoints_may_use_plain_http() {
        assert!(is_loopback_http("http://127.0.0.1:9000"));
        assert!(is_loopback_http("http://localhost:9000/"));
        assert!(is_loopback_http("http://[::1]:9000"));
        assert!(!is_loopback_http("http://10.0.0.5:9000"));
        assert!(!is_loopback_http("http://s3.example.com"));
        assert!(!is_loopback_http("https://127.0.0.1:9000"));
        assert!(!is_loopback_http(""));
    }

    #[tokio::test]
    async fn local_store_round_trips_and_answers_the_probe() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&BlobStore::DataDir, dir.path()).unwrap();
        blobs.put("a/b.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(&blobs.get("a/b.json").await.unwrap()[..], b"{}");
        assert!(dir.path().join("blobs/a/b.json").is_file());
        blobs.ping().await.unwrap();
        blobs.delete("a/b.json").await.unwrap();
        blobs.delete("a/b.json").await.unwrap();
        assert!(blobs.get("a/b.json").await.is_err());
    }
}
