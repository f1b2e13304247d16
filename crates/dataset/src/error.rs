//! Errors of the dataset builder: each names the file or recipe field at fault, so a user can fix
//! the recipe or the data without reading code.

use std::path::PathBuf;

/// An error building, writing or opening a dataset.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The recipe file could not be parsed or says something impossible.
    #[error("recipe {path}: {message}")]
    Recipe { path: PathBuf, message: String },
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A built dataset directory is missing a file or holds something we did not write.
    #[error("dataset {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error { kind }
    }
}

impl Error {
    pub(crate) fn recipe(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        ErrorKind::Recipe {
            path: path.into(),
            message: message.into(),
        }
        .into()
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        ErrorKind::Io {
            path: path.into(),
            source,
        }
        .into()
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        ErrorKind::Corrupt {
            path: path.into(),
            message: message.into(),
        }
        .into()
    }
}
