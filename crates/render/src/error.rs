//! Errors of the render layer: each names the file or setting at fault so a user can fix it.

use std::path::PathBuf;

/// An error resolving a SoundFont, rendering a song or writing audio.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    /// What went wrong, for callers that react to the kind (e.g. HTTP status codes).
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A SoundFont was asked for by name (flag or `$ORCHESTRION_SOUNDFONT`) and is not there.
    #[error("SoundFont {} does not exist (given by {origin})", path.display())]
    SoundFontNotFound {
        /// The file that was asked for.
        path: PathBuf,
        /// Who named it: `--soundfont` or the environment variable.
        origin: &'static str,
    },
    /// A SoundFont exists but could not be parsed as SF2.
    #[error(
        "SoundFont {} is not a usable SF2 file: {reason} (only SF2 is supported, not SF3; \
         try /usr/share/sounds/sf2/FluidR3_GM.sf2 from Debian's fluid-soundfont-gm)",
        path.display()
    )]
    SoundFontInvalid {
        /// The file that failed to parse.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding the WAV stream failed.
    #[error("writing WAV failed: {0}")]
    Wav(String),
    /// A render option is out of range.
    #[error("invalid render option: {0}")]
    InvalidOptions(String),
    /// The song cannot be rendered as given (e.g. too long for a WAV file).
    #[error("cannot render this song: {0}")]
    InvalidSong(String),
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind }
    }
}

impl From<hound::Error> for Error {
    fn from(err: hound::Error) -> Self {
        match err {
            hound::Error::IoError(source) => ErrorKind::Io {
                path: PathBuf::from("<wav output>"),
                source,
            }
            .into(),
            other => ErrorKind::Wav(other.to_string()).into(),
        }
    }
}

pub(crate) fn io_error(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| ErrorKind::Io { path, source }.into()
}
