//! Helpers shared by the integration tests: where the corpora are and how to list their files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/datasets` relative to the repository root, if it exists here.
pub fn datasets_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    dir.is_dir().then_some(dir)
}

/// Every MIDI file under `dir`, sorted, found recursively.
pub fn midi_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if is_midi(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_midi(path: &Path) -> bool {
    let extension = path
        .extension()
        .and_then(|ext| ext.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(extension.as_str(), "mid" | "midi" | "rmi" | "kar")
}

/// The corpus (first folder below the datasets dir) a file belongs to.
pub fn corpus_of(datasets: &Path, file: &Path) -> String {
    file.strip_prefix(datasets)
        .ok()
        .and_then(|relative| relative.components().next())
        .map(|first| first.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Path relative to the datasets dir, with `/` separators (stable across machines).
pub fn relative_name(datasets: &Path, file: &Path) -> String {
    file.strip_prefix(datasets)
        .unwrap_or(file)
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
