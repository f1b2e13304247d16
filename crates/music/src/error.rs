//! Errors of the music layer: each says what is wrong with the input in words a user can act on.
//!
//! Limit errors name the limit and the `orchestrion` flag that raises it, so a user who really
//! means to load a huge file knows what to type.

use std::path::PathBuf;

const MIB: f64 = 1024.0 * 1024.0;

/// An error reading, converting or writing music.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    pub kind: ErrorKind,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("not a valid MIDI file: {0}")]
    Malformed(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An I/O error on a named file.
    #[error("{}: {source}", .path.display())]
    FileIo {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Format 2 files hold independent sequences, not one piece.
    #[error(
        "MIDI format 2 (independent sequences) is not supported; only formats 0 and 1 hold one piece"
    )]
    UnsupportedFormat,
    /// The header's time division cannot be turned into ticks per beat.
    #[error("unusable MIDI time division: {0}")]
    BadTimeDivision(String),
    #[error(
        "the file is {:.1} MiB, over the limit of {:.1} MiB (raise it with --max-file-mib)",
        *.bytes as f64 / MIB, *.limit as f64 / MIB
    )]
    FileTooLarge { bytes: u64, limit: u64 },
    #[error(
        "the file has more than {limit} tracks (found at least {found}; raise the limit with --max-tracks)"
    )]
    TooManyTracks { found: usize, limit: usize },
    #[error("the file has more than {limit} notes (raise the limit with --max-notes)")]
    TooManyNotes { limit: usize },
    #[error(
        "the piece lasts {:.1} minutes, over the limit of {:.1} minutes (raise it with --max-minutes)",
        .seconds / 60.0, .limit_seconds / 60.0
    )]
    TooLong { seconds: f64, limit_seconds: f64 },
    /// A piano roll asked for with arguments that cannot work (a track the song lacks, a pitch
    /// window outside MIDI, rolls of different shapes joined, a roll too large to hold).
    #[error("cannot build the piano roll: {0}")]
    Roll(String),
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        ErrorKind::Io(err).into()
    }
}
