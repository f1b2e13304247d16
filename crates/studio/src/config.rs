//! Settings of one studio server, validated before anything starts: where it listens, where it
//! keeps its data, how it authenticates and the limits it enforces.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

/// How requests are tied to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every request is the single local user. Only allowed on a loopback address.
    Local,
    /// Bearer API tokens or a console session cookie, per user.
    Token,
}

/// The limits that keep one request or one user from taking the server down. Each is answered
/// with a clear 4xx when crossed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Limits {
    /// Largest request body, uploads included.
    pub max_body_bytes: usize,
    /// Most notes in one melody.
    pub max_notes: usize,
    /// Most bars in a melody and in one composition.
    pub max_bars: u32,
    /// Most candidates per composition (each costs one generation).
    pub max_candidates: u32,
    /// Most queued + running jobs per user.
    pub max_jobs_per_user: u32,
    /// Most entries in an uploaded zip archive.
    pub max_zip_entries: usize,
    /// Most uncompressed bytes in an uploaded zip archive.
    pub max_zip_bytes: u64,
    /// Most uncompressed bytes of one MIDI file inside an archive.
    pub max_zip_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_notes: 10_000,
            max_bars: 256,
            max_candidates: 8,
            max_jobs_per_user: 4,
            max_zip_entries: 10_000,
            max_zip_bytes: 256 * 1024 * 1024,
            max_zip_file_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Everything `serve` needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free one (tests).
    pub bind: SocketAddr,
    /// Folder of the SQLite file and the blob folder.
    pub data_dir: PathBuf,
    /// Folder of shipped models (each a sub-folder); `None` means no models are loaded.
    pub models_dir: Option<PathBuf>,
    /// In-process workers; 0 runs the API only (another process works the queue).
    pub workers: usize,
    /// How requests are tied to users.
    pub auth: AuthMode,
    /// Limits enforced on requests.
    pub limits: Limits,
    /// How long a claimed job stays leased without a heartbeat before another worker may take
    /// it over (a crashed worker's jobs come back after this).
    pub lease: Duration,
    /// How long a job may be tried before it is failed for good.
    pub max_attempts: u32,
    /// How long shutdown waits for running jobs before releasing their leases.
    pub shutdown_grace: Duration,
    /// Where blobs live: the data folder by default, or an S3-compatible bucket.
    pub blob_store: BlobStore,
    /// The book-keeping database: `postgres://…` (or `sqlite://…`); `None` is the SQLite file
    /// in the data folder (the embedded default).
    pub database_url: Option<String>,
    /// What this process's workers declare (e.g. `gpu`: training jobs prefer such workers).
    pub capabilities: Vec<String>,
    /// The SoundFont WAV downloads are rendered with: `Auto` follows the render crate's search
    /// order (`$ORCHESTRION_SOUNDFONT`, then the system's GM SoundFonts, else its built-in
    /// synth); `File` is `--soundfont`. Loaded once when the server starts.
    pub soundfont: orchestrion_render::SoundFontChoice,
    /// `--recipes-dir`: searched first for the recipe a training run names (see
    /// [`Config::recipe_dirs`] for the whole order).
    pub recipes_dir: Option<PathBuf>,
}

impl Config {
    /// A configuration with the defaults of `orchestrion serve` for a data folder.
    pub fn new(bind: SocketAddr, data_dir: PathBuf) -> Config {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Config {
            bind,
            data_dir,
            models_dir: None,
            workers,
            auth: if bind.ip().is_loopback() {
                AuthMode::Local
            } else {
                AuthMode::Token
            },
            limits: Limits::default(),
            lease: Duration::from_secs(30),
            max_attempts: 3,
            shutdown_grace: Duration::from_secs(10),
            blob_store: BlobStore::DataDir,
            database_url: None,
            capabilities: Vec::new(),
            soundfont: orchestrion_render::SoundFontChoice::Auto,
            recipes_dir: None,
        }
    }

    /// Refuses settings that would be unsafe or cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.auth == AuthMode::Local && !self.bind.ip().is_loopback() {
            return Err(format!(
                "refusing to serve {} without authentication: bind to 127.0.0.1 for local use, \
                 or use --auth token and add users with --add-user NAME",
                self.bind
            ));
        }
        if self.lease < Duration::from_secs(1) {
            return Err("the job lease must be at least one second".into());
        }
        if self.max_attempts == 0 {
            return Err("max attempts must be at least 1".into());
        }
        if let Some(url) = &self.database_url {
            crate::db::Backend::of_url(url)?;
        }
        Ok(())
    }

    /// The folders searched, in order, for `<name>.toml` when a training run names a recipe:
    /// `--recipes-dir`, `<data-dir>/recipes`, `./recipes`, `recipes/` beside the binary or up
    /// to four folders above it (a `target/debug` build inside the repository), and the
    /// `recipes/` of the source tree the binary was built from.
    pub fn recipe_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.recipes_dir.iter().cloned().collect();
        dirs.push(self.data_dir.join("recipes"));
        dirs.push(PathBuf::from("recipes"));
        if let Ok(exe) = std::env::current_exe() {
            dirs.extend(exe.ancestors().skip(1).take(5).map(|d| d.join("recipes")));
        }
        dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../recipes"));
        dirs
    }

    /// Path of the SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("orchestrion.sqlite")
    }

    /// URL of the book-keeping database: `database_url`, else the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => crate::db::sqlite_url(&self.database_path()),
        }
    }

    /// Folder of the local blob store (the default when no other blob store is set).
    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

/// Where a server keeps its blobs (`--blob-store`, `ORCHESTRION_BLOB_STORE`).
///
/// Written as `s3://bucket[/prefix]` for any S3-compatible server (endpoint, region and
/// credentials come from the standard AWS environment variables), `file:///abs/folder` or a
/// plain folder path for a local folder, and empty or `local` for `blobs/` in the data folder.
#[derive(Clone, PartialEq, Eq)]
pub enum BlobStore {
    /// `blobs/` under the data folder (the embedded default).
    DataDir,
    /// A local folder elsewhere (e.g. a mount several processes of one machine share).
    Folder(PathBuf),
    /// A bucket of an S3-compatible server.
    S3(S3Location),
}

/// A bucket and key prefix, plus settings that override the AWS environment variables (tests
/// point each server at its own loopback endpoint without touching the process environment).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Prepended to every key (no leading or trailing `/`); empty for the bucket root.
    pub prefix: String,
    /// `object_store` AWS configuration keys (`aws_endpoint`, `aws_access_key_id`, ...) applied
    /// after the environment. Values are never printed: they can hold secrets.
    pub overrides: Vec<(String, String)>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobStore::DataDir => f.write_str("DataDir"),
            BlobStore::Folder(p) => write!(f, "Folder({})", p.display()),
            BlobStore::S3(s3) => {
                let keys: Vec<&str> = s3.overrides.iter().map(|(k, _)| k.as_str()).collect();
                write!(f, "S3({}, overrides: {keys:?})", s3)
            }
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl std::fmt::Display for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobStore::DataDir => f.write_str("local data folder"),
            BlobStore::Folder(p) => write!(f, "folder {}", p.display()),
            BlobStore::S3(s3) => s3.fmt(f),
        }
    }
}

impl std::str::FromStr for BlobStore {
    type Err = String;

    fn from_str(s: &str) -> Result<BlobStore, String> {
        let s = s.trim();
        if s.is_empty() || s == "local" {
            return Ok(BlobStore::DataDir);
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid_bucket {
                return Err(format!(
                    "'{bucket}' is not an S3 bucket name (3-63 lowercase letters, digits, '-' or '.'):                      write the blob store as s3://bucket or s3://bucket/prefix"
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|part| part == "." || part == "..") {
                return Err(format!(
                    "the blob store prefix '{prefix}' may not contain . or .."
                ));
            }
            return Ok(BlobStore::S3(S3Location {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
                overrides: Vec::new(),
            }));
        }
        if let Some(path) = s.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "file:// blob stores need an absolute path, not '{path}'"
                ));
            }
            return Ok(BlobStore::Folder(PathBuf::from(path)));
        }
        if s.contains("://") {
            return Err(format!(
                "unsupported blob store '{s}': use s3://bucket[/prefix], a folder, or 'local'"
            ));
        }
        Ok(BlobStore::Folder(PathBuf::from(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_auth_is_refused_off_loopback() {
        let mut c = Config::new("0.0.0.0:7878".parse().unwrap(), "d".into());
        assert_eq!(c.auth, AuthMode::Token);
        c.auth = AuthMode::Local;
        assert!(c.validate().unwrap_err().contains("refusing"));
    }

    #[test]
    fn blob_store_locations_parse() {
        assert_eq!("".parse::<BlobStore>().unwrap(), BlobStore::DataDir);
        assert_eq!("local".parse::<BlobStore>().unwrap(), BlobStore::DataDir);
        let BlobStore::S3(s3) = "s3://songs".parse::<BlobStore>().unwrap() else {
            panic!("not s3")
        };
        assert_eq!((s3.bucket.as_str(), s3.prefix.as_str()), ("songs", ""));
        let BlobStore::S3(s3) = "s3://songs/prod/eu/".parse::<BlobStore>().unwrap() else {
            panic!("not s3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("songs", "prod/eu")
        );
        assert_eq!(s3.to_string(), "s3://songs/prod/eu");
        assert_eq!(
            "file:///srv/blobs".parse::<BlobStore>().unwrap(),
            BlobStore::Folder("/srv/blobs".into())
        );
        assert_eq!(
            "shared/blobs".parse::<BlobStore>().unwrap(),
            BlobStore::Folder("shared/blobs".into())
        );
        for bad in [
            "s3://",
            "s3://Songs",
            "s3://a",
            "s3://ok-bucket/../x",
            "gs://x",
            "file://rel",
        ] {
            assert!(bad.parse::<BlobStore>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn blob_store_debug_hides_override_values() {
        let mut store: BlobStore = "s3://songs".parse().unwrap();
        if let BlobStore::S3(s3) = &mut store {
            s3.overrides
                .push(("aws_secret_access_key".into(), "hunter2".into()));
        }
        let shown = format!("{store:?}");
        assert!(shown.contains("aws_secret_access_key") && !shown.contains("hunter2"));
    }

    #[test]
    fn recipe_folders_are_searched_flag_first_then_data_dir() {
        let mut c = Config::new("127.0.0.1:0".parse().unwrap(), "/srv/data".into());
        assert_eq!(c.recipe_dirs()[0], PathBuf::from("/srv/data/recipes"));
        c.recipes_dir = Some("/opt/recipes".into());
        let dirs = c.recipe_dirs();
        assert_eq!(dirs[0], PathBuf::from("/opt/recipes"));
        assert_eq!(dirs[1], PathBuf::from("/srv/data/recipes"));
        assert_eq!(dirs[2], PathBuf::from("recipes"));
        assert!(
            dirs.last().unwrap().join("chorale.toml").is_file(),
            "the source tree's recipes come last: {dirs:?}"
        );
    }

    #[test]
    fn loopback_defaults_to_local() {
        let c = Config::new("127.0.0.1:0".parse().unwrap(), "d".into());
        assert_eq!(c.auth, AuthMode::Local);
        assert!(c.validate().is_ok());
        let v6 = Config::new("[::1]:7878".parse().unwrap(), "d".into());
        assert_eq!(v6.auth, AuthMode::Local);
    }
}
