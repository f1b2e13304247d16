//! `orchestrion-s3-loopback`: the test S3 server as a process, for scripts (CI, the scale-out
//! benchmark) that run the studio against S3 without installing a storage server. Prints
//! `endpoint=http://127.0.0.1:PORT` on its first stdout line once it accepts connections, then
//! serves until SIGTERM or Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use orchestrion_s3_loopback::{Credentials, S3Loopback};

/// A loopback-only S3-compatible server over a folder (each sub-folder is a bucket). The key
/// pair is AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when set, else a fixed test pair.
#[derive(Parser)]
struct Args {
    /// Folder of the buckets (created if missing).
    #[arg(long)]
    root: PathBuf,
    /// Loopback address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Buckets to create before serving.
    #[arg(long = "bucket")]
    buckets: Vec<String>,
}

fn main() {
    let args = Args::parse();
    let mut credentials = Credentials::for_tests();
    if let (Ok(id), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        credentials = Credentials {
            access_key_id: id,
            secret_access_key: secret,
        };
    }
    let server = match S3Loopback::start(&args.root, args.addr, credentials) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("orchestrion-s3-loopback: {e}");
            std::process::exit(1);
        }
    };
    for bucket in &args.buckets {
        if let Err(e) = server.create_bucket(bucket) {
            eprintln!("orchestrion-s3-loopback: bucket {bucket}: {e}");
            std::process::exit(1);
        }
    }
    println!("endpoint={}", server.endpoint());
    let _ = std::io::stdout().flush();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a signal runtime");
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    drop(server);
}
