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

    /// Folder of the local blob store.
    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
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
