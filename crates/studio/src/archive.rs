//! Uploaded zip archives of MIDI files (training data), read defensively: entry count, total
//! and per-file uncompressed size are capped while reading (declared sizes can lie), and any
//! path that could escape a folder (`..`, absolute, drive letters) refuses the whole archive.

use std::io::{Cursor, Read};

use crate::config::Limits;
use crate::http::error::Error;

/// One MIDI file from an archive.
#[derive(Debug)]
pub struct ArchiveFile {
    /// Its path inside the archive, checked safe to join under a folder.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Whether `path` stays inside the folder it is extracted to.
pub fn is_safe_path(path: &str) -> bool {
    if path.is_empty() || path.starts_with('/') || path.starts_with('\\') || path.contains('\0') {
        return false;
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' {
        return false; // C:\ or C:foo
    }
    path.split(['/', '\\']).all(|part| part != "..")
}

/// The MIDI files (`.mid` / `.midi`) of a zip archive; other files are skipped.
pub fn read_midi_zip(bytes: &[u8], limits: &Limits) -> Result<Vec<ArchiveFile>, Error> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::InvalidArchive(format!("not a readable zip archive: {e}")))?;
    if zip.len() > limits.max_zip_entries {
        return Err(Error::PayloadTooLarge(format!(
            "the archive has {} entries; at most {} are accepted",
            zip.len(),
            limits.max_zip_entries
        )));
    }
    let mut total: u64 = 0;
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::InvalidArchive(format!("entry {i} is unreadable: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| Error::InvalidArchive(format!("entry {i} has an unreadable name: {e}")))?
            .to_string();
        if !is_safe_path(&name) {
            return Err(Error::InvalidArchive(format!(
                "the archive holds an unsafe path '{name}' (absolute or with '..')"
            )));
        }
        if entry.is_dir() {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".mid") || lower.ends_with(".midi")) {
            continue;
        }
        let mut data = Vec::new();
        (&mut entry)
            .take(limits.max_zip_file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| Error::InvalidArchive(format!("'{name}' is unreadable: {e}")))?;
        if data.len() as u64 > limits.max_zip_file_bytes {
            return Err(Error::PayloadTooLarge(format!(
                "'{name}' is over {} bytes uncompressed",
                limits.max_zip_file_bytes
            )));
        }
        total += data.len() as u64;
        if total > limits.max_zip_bytes {
            return Err(Error::PayloadTooLarge(format!(
                "the archive is over {} bytes uncompressed",
                limits.max_zip_bytes
            )));
        }
        files.push(ArchiveFile {
            path: name,
            bytes: data,
        });
    }
    if files.is_empty() {
        return Err(Error::Validation(
            "the archive holds no .mid or .midi files".into(),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn unsafe_paths_are_recognized() {
        for bad in [
            "../x.mid",
            "a/../../x.mid",
            "/etc/passwd",
            "C:\\x.mid",
            "c:x.mid",
            "a\\..\\x.mid",
            "",
        ] {
            assert!(!is_safe_path(bad), "{bad}");
        }
        for good in ["x.mid", "jazz/a.mid", "a..b.mid", "dir/.hidden.mid"] {
            assert!(is_safe_path(good), "{good}");
        }
    }

    #[test]
    fn zip_slip_refuses_the_archive() {
        let z = zip_of(&[("ok.mid", b"MThd"), ("../../evil.mid", b"MThd")]);
        let err = read_midi_zip(&z, &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::InvalidArchive(_)), "{err:?}");
    }

    #[test]
    fn size_and_count_caps_hold() {
        let limits = Limits {
            max_zip_file_bytes: 10,
            max_zip_entries: 2,
            ..Limits::default()
        };
        let big = zip_of(&[("a.mid", &[0u8; 11])]);
        assert!(matches!(
            read_midi_zip(&big, &limits),
            Err(Error::PayloadTooLarge(_))
        ));
        let many = zip_of(&[("a.mid", b"1"), ("b.mid", b"2"), ("c.mid", b"3")]);
        assert!(matches!(
            read_midi_zip(&many, &limits),
            Err(Error::PayloadTooLarge(_))
        ));
        let ok = zip_of(&[("a.mid", b"1"), ("notes.txt", b"2")]);
        let files = read_midi_zip(&ok, &limits).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "a.mid");
        assert!(matches!(
            read_midi_zip(b"not a zip", &limits),
            Err(Error::InvalidArchive(_))
        ));
    }
}
