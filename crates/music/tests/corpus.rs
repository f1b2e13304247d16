//! Reads every MIDI file of the bundled corpora (`../shared/datasets/`): the reader must take all
//! of them, except files that really are broken, which are listed here with the reason.

use crate::common;

use orchestrion_music::{ErrorKind, Limits, Song};
use std::collections::BTreeMap;

/// Files that cannot be read, with the error they must give. Empty: every corpus file reads.
const KNOWN_BROKEN: &[(&str, &str)] = &[];

/// Real files the default limits refuse (they read with the limit raised): two string quartets
/// whose renderings (all movements, repeats written out) last over an hour; `mido` agrees on
/// the length (65.3 and 74.5 minutes).
const KNOWN_OVER_DEFAULT_LIMITS: &[&str] = &[
    "openscore-string-quartets/midi/Grieg_Edvard/sq9631717.mid",
    "openscore-string-quartets/midi/Schubert_Franz/sq7397765.mid",
];

#[derive(Default)]
struct CorpusCount {
    files: usize,
    failed: usize,
    tracks: usize,
    notes: usize,
    drum_tracks: usize,
    seconds: f64,
}

#[test]
fn every_corpus_file_reads() {
    let Some(datasets) = common::datasets_dir() else {
        println!("skipped: ../shared/datasets/ is not present");
        return;
    };
    let files = common::midi_files(&datasets);
    assert!(
        !files.is_empty(),
        "no MIDI files under {}",
        datasets.display()
    );

    let limits = Limits::default();
    let mut counts: BTreeMap<String, CorpusCount> = BTreeMap::new();
    let mut broken: Vec<(String, String)> = Vec::new();
    let mut over_limits: Vec<String> = Vec::new();
    for file in &files {
        let count = counts
            .entry(common::corpus_of(&datasets, file))
            .or_default();
        count.files += 1;
        let name = common::relative_name(&datasets, file);
        let mut result = Song::read_file(file, &limits);
        if let Err(err) = &result
            && is_limit(err.kind())
        {
            println!("over the default limits: {name}: {err}");
            over_limits.push(name.clone());
            result = Song::read_file(file, &Limits::unlimited());
        }
        match result {
            Ok(song) => {
                count.tracks += song.tracks.len();
                count.notes += song.note_count();
                count.drum_tracks += song.tracks.iter().filter(|track| track.is_drum).count();
                count.seconds += song.duration_seconds();
                check_invariants(&song, &name);
            }
            Err(err) => {
                count.failed += 1;
                broken.push((name, err.to_string()));
            }
        }
    }

    println!(
        "{:<32} {:>6} {:>6} {:>7} {:>6} {:>9} {:>7}",
        "corpus", "files", "failed", "tracks", "drums", "notes", "hours"
    );
    for (corpus, count) in &counts {
        println!(
            "{:<32} {:>6} {:>6} {:>7} {:>6} {:>9} {:>7.1}",
            corpus,
            count.files,
            count.failed,
            count.tracks,
            count.drum_tracks,
            count.notes,
            count.seconds / 3600.0
        );
    }
    for (file, reason) in &broken {
        println!("broken: {file}: {reason}");
    }
    let expected: Vec<(String, String)> = KNOWN_BROKEN
        .iter()
        .map(|(file, reason)| (file.to_string(), reason.to_string()))
        .collect();
    assert_eq!(
        broken, expected,
        "the set of unreadable corpus files changed"
    );
    assert_eq!(
        over_limits, KNOWN_OVER_DEFAULT_LIMITS,
        "the set of files over the limits changed"
    );
}

fn is_limit(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::FileTooLarge { .. }
            | ErrorKind::TooManyTracks { .. }
            | ErrorKind::TooManyNotes { .. }
            | ErrorKind::TooLong { .. }
    )
}

/// What every song the reader returns must satisfy.
fn check_invariants(song: &Song, name: &str) {
    assert!(song.ticks_per_beat > 0, "{name}");
    assert_eq!(
        song.tempos.first().map(|tempo| tempo.tick),
        Some(0),
        "{name}"
    );
    assert_eq!(
        song.meters.first().map(|meter| meter.tick),
        Some(0),
        "{name}"
    );
    assert!(
        song.tempos
            .windows(2)
            .all(|pair| pair[0].tick < pair[1].tick),
        "{name}"
    );
    assert!(
        song.meters
            .windows(2)
            .all(|pair| pair[0].tick < pair[1].tick),
        "{name}"
    );
    for track in &song.tracks {
        assert!(!track.notes.is_empty(), "{name}: empty track kept");
        assert_eq!(track.is_drum, track.channel == 9, "{name}");
        assert!(
            track
                .notes
                .windows(2)
                .all(|pair| (pair[0].start, pair[0].pitch) <= (pair[1].start, pair[1].pitch)),
            "{name}: notes not sorted"
        );
        assert!(
            track
                .notes
                .iter()
                .all(|note| note.pitch < 128 && note.velocity > 0)
        );
    }
}
