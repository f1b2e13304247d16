//! Limits on what the MIDI reader accepts, so a hostile or absurd file fails fast with a clear
//! message instead of eating memory or time. Every limit has a CLI flag that raises it (named in
//! the error it causes, see [`crate::ErrorKind`]).

/// Caps applied while reading a MIDI file. `Limits::default()` suits interactive use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 16 MiB; flag `--max-file-mib`).
    pub max_file_bytes: u64,
    /// Most MIDI track chunks, and most parts after splitting channels (default 64; `--max-tracks`).
    pub max_tracks: usize,
    /// Most notes in the whole file (default 200,000; `--max-notes`).
    pub max_notes: usize,
    /// Longest piece, in seconds of playing time (default 3600; `--max-minutes`).
    pub max_seconds: f64,
}

impl Limits {
    /// Default largest file: 16 MiB (the largest file in the bundled corpora is under 1 MiB).
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
    /// Default most tracks.
    pub const DEFAULT_MAX_TRACKS: usize = 64;
    /// Default most notes.
    pub const DEFAULT_MAX_NOTES: usize = 200_000;
    /// Default longest piece: one hour.
    pub const DEFAULT_MAX_SECONDS: f64 = 3600.0;

    /// No practical limit (still bounded by `u64`/`usize`); for trusted corpora and tests.
    pub fn unlimited() -> Limits {
        Limits {
            max_file_bytes: u64::MAX,
            max_tracks: usize::MAX,
            max_notes: usize::MAX,
            max_seconds: f64::INFINITY,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
            max_tracks: Self::DEFAULT_MAX_TRACKS,
            max_notes: Self::DEFAULT_MAX_NOTES,
            max_seconds: Self::DEFAULT_MAX_SECONDS,
        }
    }
}
