//! Training data for the tests that train: small band songs, zipped the way a user uploads them.

use std::io::Write;

use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use serde_json::Value;

/// A small band song (melody, drums, bass, piano; 8 bars of 4/4) as a Standard MIDI File;
/// `variant` moves its key, progression and melody so that songs of one archive differ.
pub fn band_midi(variant: u8) -> Vec<u8> {
    let beat = 480u64;
    let root = 60 + variant % 5;
    let scale = [0u8, 2, 4, 5, 7, 9, 11, 12];
    let progression = [0u8, 5, 7, 0, 9, 5, 7, 0];
    let note = |pitch: u8, start: u64, duration: u64| Note {
        pitch,
        velocity: 90,
        start,
        duration,
    };
    let (mut melody, mut drums, mut bass, mut piano) = (vec![], vec![], vec![], vec![]);
    for bar in 0..8u64 {
        let chord = root + progression[(bar as usize + variant as usize) % 8];
        for b in 0..4u64 {
            let t = (bar * 4 + b) * beat;
            let step = (bar as usize * 3 + b as usize * (variant as usize + 1)) % 8;
            melody.push(note(root + 12 + scale[step], t, beat * 9 / 10));
            drums.push(note(if b % 2 == 1 { 38 } else { 36 }, t, beat / 4));
            drums.push(note(42, t + beat / 2, beat / 4));
            bass.push(note(
                chord - 24 + if b == 2 { 7 } else { 0 },
                t,
                beat * 9 / 10,
            ));
        }
        for iv in [0u8, 4, 7] {
            piano.push(note(chord + iv - 12, bar * 4 * beat, beat * 38 / 10));
        }
    }
    let track = |name: &str, program: u8, channel: u8, role: TrackRole, notes: Vec<Note>| Track {
        name: name.into(),
        program,
        channel,
        is_drum: channel == 9,
        role,
        notes,
    };
    Song {
        ticks_per_beat: beat as u16,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 545_454,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: 4,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![
            track("Melody", 73, 0, TrackRole::Melody, melody),
            track("Drums", 0, 9, TrackRole::Drums, drums),
            track("Bass", 33, 1, TrackRole::Bass, bass),
            track("Piano", 0, 2, TrackRole::Piano, piano),
        ],
        texts: vec![],
    }
    .to_midi_bytes()
}

/// A zip archive of `(file name, bytes)` entries.
pub fn zip_of<N: AsRef<str>, B: AsRef<[u8]>>(entries: &[(N, B)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    for (name, data) in entries {
        w.start_file(name.as_ref(), zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data.as_ref()).unwrap();
    }
    w.finish().unwrap();
    out.into_inner()
}

/// A zip of `count` different band songs in a `songs/` folder (archives may nest folders).
pub fn band_archive(count: u8) -> Vec<u8> {
    let songs: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| (format!("songs/band-{i}.mid"), band_midi(i)))
        .collect();
    zip_of(&songs)
}

/// Starts a training run on the studio at `base` from an uploaded archive; returns (run id,
/// job id).
pub async fn start_training_run(
    client: &reqwest::Client,
    base: &str,
    archive: Vec<u8>,
    config: &Value,
) -> (String, String) {
    let r = client
        .post(format!("{base}/api/training-runs"))
        .multipart(archive_upload(archive, config))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    (
        body["training_run"]["id"].as_str().unwrap().to_string(),
        body["job"]["id"].as_str().unwrap().to_string(),
    )
}

/// The multipart body of `POST /api/training-runs` from an uploaded archive.
pub fn archive_upload(archive: Vec<u8>, config: &Value) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part(
            "archive",
            reqwest::multipart::Part::bytes(archive).file_name("data.zip"),
        )
        .text("config", config.to_string())
}
