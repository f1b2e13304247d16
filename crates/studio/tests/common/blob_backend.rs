//! Which blob store the studio tests run against. `ORCHESTRION_TEST_BLOB_STORE=s3` runs them
//! against a real S3-compatible server on loopback (one per test process, a fresh bucket per
//! test server); unset or `local` keeps the embedded folder. CI runs the suite both ways.

use std::sync::OnceLock;

use orchestrion_s3_loopback::{Credentials, S3Loopback};
use orchestrion_studio::config::{BlobStore, S3Location};

/// The shared loopback S3 server of this test process, and the folder it serves.
struct Shared {
    server: S3Loopback,
    _root: tempfile::TempDir,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let root = tempfile::tempdir().expect("a folder for the test S3 server");
        let server = S3Loopback::start(
            root.path(),
            "127.0.0.1:0".parse().unwrap(),
            Credentials::for_tests(),
        )
        .expect("start the loopback S3 server");
        Shared {
            server,
            _root: root,
        }
    })
}

/// True when the tests are asked to use S3.
pub fn wants_s3() -> bool {
    matches!(
        std::env::var("ORCHESTRION_TEST_BLOB_STORE").as_deref(),
        Ok("s3")
    )
}

/// The shared loopback S3 server (started on first use).
pub fn s3_server() -> &'static S3Loopback {
    &shared().server
}

/// A fresh bucket on the shared server, as a blob store whose endpoint and keys are set on the
/// configuration itself (tests run in parallel threads, so they do not touch the environment).
pub fn fresh_s3_store(prefix: &str) -> BlobStore {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let server = s3_server();
    let bucket = format!("test-{}-{n}", std::process::id());
    server.create_bucket(&bucket).expect("create a test bucket");
    let credentials = server.credentials();
    BlobStore::S3(S3Location {
        bucket,
        prefix: prefix.to_string(),
        overrides: vec![
            ("aws_endpoint".into(), server.endpoint()),
            ("aws_region".into(), "us-east-1".into()),
            (
                "aws_access_key_id".into(),
                credentials.access_key_id.clone(),
            ),
            (
                "aws_secret_access_key".into(),
                credentials.secret_access_key.clone(),
            ),
        ],
    })
}

/// The blob store a test server gets: a fresh S3 bucket when asked for, else the data folder.
pub fn for_test_server() -> BlobStore {
    if wants_s3() {
        fresh_s3_store("studio")
    } else {
        BlobStore::DataDir
    }
}
