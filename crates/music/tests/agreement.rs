//! Agreement with an independent reader: for files sampled across every corpus, the notes we
//! read (count, pitches, onsets in seconds within ±1 ms) equal what the Python library `mido`
//! reads (`scripts/midi_agreement.py`). Skips, saying why, when python3 or mido is missing.

use crate::common;

use orchestrion_music::{Limits, Song};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files per corpus (all of a corpus when it has fewer): 11 corpora give well over 200.
const PER_CORPUS: usize = 25;
const TOLERANCE_SECONDS: f64 = 0.001;

/// Evenly spaced files of each corpus, in a fixed order.
fn sample(datasets: &Path) -> Vec<PathBuf> {
    let mut by_corpus: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in common::midi_files(datasets) {
        by_corpus
            .entry(common::corpus_of(datasets, &file))
            .or_default()
            .push(file);
    }
    let mut chosen = Vec::new();
    for files in by_corpus.values() {
        let step = files.len().div_ceil(PER_CORPUS).max(1);
        chosen.extend(files.iter().step_by(step).cloned());
    }
    chosen
}

#[test]
fn notes_agree_with_mido() {
    let Some(datasets) = common::datasets_dir() else {
        println!("skipped: ../shared/datasets/ is not present");
        return;
    };
    let files = sample(&datasets);
    assert!(files.len() >= 200, "only {} files sampled", files.len());
    let list = tempfile::NamedTempFile::new().unwrap();
    let listing: String = files
        .iter()
        .map(|file| format!("{}\n", file.display()))
        .collect();
    std::fs::write(list.path(), listing).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/midi_agreement.py");
    let output = match Command::new("python3")
        .arg(&script)
        .arg(list.path())
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            println!("skipped: cannot run python3 ({err})");
            return;
        }
    };
    if output.status.code() == Some(3) {
        println!(
            "skipped: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return;
    }
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut compared = 0;
    let mut skipped = Vec::new();
    let mut disagreements = Vec::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let theirs: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = PathBuf::from(theirs["path"].as_str().unwrap());
        let name = common::relative_name(&datasets, &path);
        if let Some(error) = theirs["error"].as_str() {
            skipped.push(format!("{name}: mido cannot read it ({error})"));
            continue;
        }
        if theirs["ticks_per_beat"].as_i64().unwrap_or(0) <= 0 {
            skipped.push(format!(
                "{name}: mido reads a negative ticks per beat (16-bit division)"
            ));
            continue;
        }
        let song = match Song::read_file(&path, &Limits::unlimited()) {
            Ok(song) => song,
            Err(err) => {
                disagreements.push(format!("{name}: we refuse it ({err}), mido reads it"));
                continue;
            }
        };
        let mut ours: Vec<(u8, f64)> = song
            .tracks
            .iter()
            .flat_map(|track| track.notes.iter())
            .map(|note| (note.pitch, song.tick_to_seconds(note.start)))
            .collect();
        let mut theirs: Vec<(u8, f64)> = theirs["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (pair[0].as_u64().unwrap() as u8, pair[1].as_f64().unwrap()))
            .collect();
        compared += 1;
        if let Some(problem) = compare(&mut ours, &mut theirs) {
            disagreements.push(format!("{name}: {problem}"));
        }
    }
    println!("compared {compared} files with mido");
    for reason in &skipped {
        println!("not compared: {reason}");
    }
    for problem in &disagreements {
        println!("DISAGREE: {problem}");
    }
    assert!(compared >= 200, "only {compared} files compared");
    assert!(
        disagreements.is_empty(),
        "{} files disagree",
        disagreements.len()
    );
}

/// Same notes: equal counts, and after sorting by (pitch, onset) equal pitches and onsets within
/// the tolerance.
fn compare(ours: &mut [(u8, f64)], theirs: &mut [(u8, f64)]) -> Option<String> {
    if ours.len() != theirs.len() {
        return Some(format!(
            "{} notes here, {} in mido",
            ours.len(),
            theirs.len()
        ));
    }
    let by_pitch_then_onset =
        |a: &(u8, f64), b: &(u8, f64)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1));
    ours.sort_by(by_pitch_then_onset);
    theirs.sort_by(by_pitch_then_onset);
    ours.iter().zip(theirs.iter()).find_map(|(a, b)| {
        (a.0 != b.0 || (a.1 - b.1).abs() > TOLERANCE_SECONDS).then(|| {
            format!(
                "pitch {} at {:.4} s here, pitch {} at {:.4} s in mido",
                a.0, a.1, b.0, b.1
            )
        })
    })
}
