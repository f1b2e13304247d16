//! A real S3-compatible server (the `s3s` protocol layer over `s3s-fs`, a folder per bucket) bound
//! to a loopback address. The studio's tests, the scale-out fault tests, CI and the scale-out
//! benchmark run against it, so the S3 code path is exercised with no service beyond this
//! workspace. It is a test fixture, not a storage product: it refuses non-loopback addresses.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The key pair the server accepts; clients sign requests with it (SigV4).
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Credentials {
    /// A fixed pair for tests: the server only listens on loopback, so it guards nothing.
    pub fn for_tests() -> Credentials {
        Credentials {
            access_key_id: "orchestrion-test".into(),
            secret_access_key: "orchestrion-test-secret".into(),
        }
    }
}

/// A running server; dropping it stops the server and waits for its thread.
pub struct S3Loopback {
    addr: SocketAddr,
    root: PathBuf,
    credentials: Credentials,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl S3Loopback {
    /// Serves the folder `root` (each sub-folder is a bucket) on `addr`, which must be a loopback
    /// address (port 0 picks a free port). The server runs on its own thread and runtime, so it
    /// outlives the async runtime of whichever test started it.
    pub fn start(
        root: &Path,
        addr: SocketAddr,
        credentials: Credentials,
    ) -> io::Result<S3Loopback> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the test S3 server only binds loopback addresses, not {addr}"),
            ));
        }
        std::fs::create_dir_all(root)?;
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| io::Error::other(format!("{e:?}")))?;
        let service = {
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.clone(),
            ));
            builder.build()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3-loopback")
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let bound = std_listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("s3-loopback".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("s3-loopback: {e}");
                            return;
                        }
                    };
                    let http = ConnBuilder::new(TokioExecutor::new());
                    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
                    loop {
                        let socket = tokio::select! {
                            accepted = listener.accept() => match accepted {
                                Ok((socket, _)) => socket,
                                // A refused or reset connection must not stop the server.
                                Err(_) => continue,
                            },
                            _ = &mut stopped => break,
                        };
                        let conn = http.serve_connection(TokioIo::new(socket), service.clone());
                        let conn = graceful.watch(conn.into_owned());
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        graceful.shutdown(),
                    )
                    .await;
                });
            })?;
        Ok(S3Loopback {
            addr: bound,
            root: root.to_path_buf(),
            credentials,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL for clients (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The key pair clients must sign with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Creates bucket `name` (a folder under the root); an existing bucket is kept.
    pub fn create_bucket(&self, name: &str) -> io::Result<()> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{name}' is not a valid bucket name"),
            ));
        }
        std::fs::create_dir_all(self.root.join(name))
    }

    /// The folder that holds bucket `name` (tests look inside it for half-written objects).
    pub fn bucket_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The environment a client process needs to reach this server with `object_store`'s S3
    /// client (or any AWS SDK).
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", self.credentials.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.credentials.secret_access_key.clone(),
            ),
        ]
    }
}

impl Drop for S3Loopback {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
