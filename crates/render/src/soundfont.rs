//! Where the General MIDI SoundFont comes from: an explicit file, the environment, or the
//! system's packages, in one documented order (docs/audio.md), loaded once per [`Renderer`].
//!
//! [`Renderer`]: crate::Renderer

use crate::error::{Error, ErrorKind, io_error};
use rustysynth::SoundFont;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Environment variable naming a SoundFont; consulted after an explicit file.
pub const SOUNDFONT_ENV: &str = "ORCHESTRION_SOUNDFONT";

/// System locations tried in order when neither a file nor the environment names one.
/// Debian's `fluid-soundfont-gm` and `timgm6mb-soundfont` install the first three.
pub const SYSTEM_SOUNDFONTS: &[&str] = &[
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/freepats-general-midi.sf2",
    "/usr/local/share/soundfonts/default.sf2",
];

/// Which SoundFont a render should use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SoundFontChoice {
    /// `$ORCHESTRION_SOUNDFONT`, then [`SYSTEM_SOUNDFONTS`]; the built-in synth when none loads.
    #[default]
    Auto,
    /// This file and no other: missing or corrupt is an error naming it.
    File(PathBuf),
    /// The built-in synth, never a SoundFont (tests, or a machine without one).
    BuiltIn,
}

/// What actually makes the sound, after resolving a [`SoundFontChoice`].
#[derive(Debug, Clone)]
pub enum Instrument {
    /// A parsed SF2 file, shared by every synth a renderer creates.
    SoundFont {
        /// Where it was loaded from.
        path: PathBuf,
        /// The parsed font.
        font: Arc<SoundFont>,
    },
    /// The built-in synth; `reason` says why no SoundFont was used.
    BuiltIn {
        /// Why: asked for, or no usable SoundFont found (with the places searched).
        reason: String,
    },
}

impl Instrument {
    /// The SoundFont file in use, if any.
    pub fn soundfont_path(&self) -> Option<&Path> {
        match self {
            Instrument::SoundFont { path, .. } => Some(path),
            Instrument::BuiltIn { .. } => None,
        }
    }
}

/// Resolves a choice into an instrument, reading the environment for [`SoundFontChoice::Auto`].
pub fn resolve(choice: &SoundFontChoice) -> Result<Instrument, Error> {
    let from_env = std::env::var_os(SOUNDFONT_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    let system: Vec<PathBuf> = SYSTEM_SOUNDFONTS.iter().map(PathBuf::from).collect();
    resolve_with(choice, from_env, &system)
}

/// [`resolve`] with the environment and system list given, so the order is testable.
pub fn resolve_with(
    choice: &SoundFontChoice,
    from_env: Option<PathBuf>,
    system: &[PathBuf],
) -> Result<Instrument, Error> {
    match choice {
        SoundFontChoice::BuiltIn => Ok(Instrument::BuiltIn {
            reason: "the built-in synth was asked for".into(),
        }),
        SoundFontChoice::File(path) => load_named(path, "--soundfont"),
        SoundFontChoice::Auto => {
            if let Some(path) = from_env {
                return load_named(&path, SOUNDFONT_ENV);
            }
            let mut failures = Vec::new();
            for path in system.iter().filter(|path| path.is_file()) {
                // A system file that fails (e.g. an SF3 behind default-GM.sf2) is skipped, not
                // fatal: nobody asked for it by name.
                match load(path) {
                    Ok(font) => {
                        return Ok(Instrument::SoundFont {
                            path: path.clone(),
                            font,
                        });
                    }
                    Err(err) => failures.push(err.to_string()),
                }
            }
            let reason = if failures.is_empty() {
                format!(
                    "no SoundFont found (--soundfont, ${SOUNDFONT_ENV}, {})",
                    system
                        .iter()
                        .map(|path| path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("no usable SoundFont: {}", failures.join("; "))
            };
            Ok(Instrument::BuiltIn { reason })
        }
    }
}

fn load_named(path: &Path, origin: &'static str) -> Result<Instrument, Error> {
    if !path.exists() {
        return Err(ErrorKind::SoundFontNotFound {
            path: path.to_path_buf(),
            origin,
        }
        .into());
    }
    Ok(Instrument::SoundFont {
        path: path.to_path_buf(),
        font: load(path)?,
    })
}

/// Parses an SF2 file.
pub fn load(path: &Path) -> Result<Arc<SoundFont>, Error> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let font = SoundFont::new(&mut reader).map_err(|err| ErrorKind::SoundFontInvalid {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    if font.get_presets().is_empty() {
        return Err(ErrorKind::SoundFontInvalid {
            path: path.to_path_buf(),
            reason: "it has no presets".into(),
        }
        .into());
    }
    Ok(Arc::new(font))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_missing_file_names_it() {
        let err = resolve_with(
            &SoundFontChoice::File("/nonexistent/x.sf2".into()),
            None,
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.sf2"), "{err}");
    }

    #[test]
    fn env_wins_over_system_and_missing_env_file_is_an_error() {
        let err = resolve_with(
            &SoundFontChoice::Auto,
            Some("/nonexistent/env.sf2".into()),
            &[PathBuf::from("/nonexistent/system.sf2")],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/env.sf2") && text.contains(SOUNDFONT_ENV),
            "{text}"
        );
    }

    #[test]
    fn nothing_found_falls_back_to_builtin_with_reason() {
        let found = resolve_with(
            &SoundFontChoice::Auto,
            None,
            &[PathBuf::from("/nonexistent/a.sf2")],
        )
        .unwrap();
        match found {
            Instrument::BuiltIn { reason } => assert!(reason.contains("/nonexistent/a.sf2")),
            other => panic!("expected built-in, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_system_file_is_skipped_but_explicit_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.sf2");
        std::fs::write(&bad, b"RIFF\x10\x00\x00\x00sfbkLIST garbage").unwrap();
        let auto = resolve_with(&SoundFontChoice::Auto, None, std::slice::from_ref(&bad)).unwrap();
        assert!(matches!(auto, Instrument::BuiltIn { .. }));
        let err = resolve_with(&SoundFontChoice::File(bad.clone()), None, &[]).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::SoundFontInvalid { .. }));
        assert!(err.to_string().contains(&bad.display().to_string()));
    }
}
