//! `orchestrion inspect` end to end: the real binary on MIDI files this test writes byte by byte
//! (independent of the music crate's writer), checking the documented JSON and the error path.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn vlq(mut value: u32, out: &mut Vec<u8>) {
    let mut bytes = vec![(value & 0x7F) as u8];
    value >>= 7;
    while value > 0 {
        bytes.push((value & 0x7F) as u8 | 0x80);
        value >>= 7;
    }
    bytes.reverse();
    out.extend(bytes);
}

/// An `MTrk` chunk from (delta, event bytes) pairs, closed by end-of-track.
fn chunk(events: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (delta, event) in events {
        vlq(*delta, &mut body);
        body.extend(event);
    }
    body.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut out = b"MTrk".to_vec();
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

fn name(text: &str) -> Vec<u8> {
    let mut event = vec![0xFF, 0x03, text.len() as u8];
    event.extend(text.as_bytes());
    event
}

/// Format 1, 480 ticks per beat: 100 BPM, 3/4; "Bass" (program 33, channel 2) plays a C major
/// arpeggio for four bars, "Drums" on channel 10 a kick per beat.
fn sample_midi() -> Vec<u8> {
    let mut file = b"MThd".to_vec();
    file.extend(6u32.to_be_bytes());
    file.extend([0, 1, 0, 3, 0x01, 0xE0]);
    file.extend(chunk(&[
        (0, vec![0xFF, 0x51, 0x03, 0x09, 0x27, 0xC0]), // 600,000 µs per beat
        (0, vec![0xFF, 0x58, 0x04, 3, 2, 24, 8]),
    ]));
    let mut bass = vec![(0, name("Bass")), (0, vec![0xC1, 33])];
    for (i, pitch) in [36u8, 40, 43, 48, 43, 40, 36, 40, 43, 48, 43, 36]
        .iter()
        .enumerate()
    {
        // Running status after the first note-on; note-off as velocity 0.
        let on = if i == 0 {
            vec![0x91, *pitch, 90]
        } else {
            vec![*pitch, 90]
        };
        bass.push((0, on));
        bass.push((480, vec![*pitch, 0]));
    }
    file.extend(chunk(&bass));
    let mut drums = vec![(0, name("Drums"))];
    for _ in 0..12 {
        drums.push((0, vec![0x99, 36, 100]));
        drums.push((240, vec![0x89, 36, 0]));
        drums.push((240, vec![0xFF, 0x01, 0x00])); // empty text: just time passing
    }
    file.extend(chunk(&drums));
    file
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn orchestrion(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestrion"))
        .args(args)
        .output()
        .expect("run orchestrion")
}

#[test]
fn inspect_json_describes_the_file() {
    let path = write("inspect-sample.mid", &sample_midi());
    let output = orchestrion(&["inspect", path.to_str().unwrap(), "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(json["schema"], 1);
    assert_eq!(json["ticks_per_beat"], 480);
    assert_eq!(json["notes"], 24);
    assert_eq!(json["bars"], 4);
    assert_eq!(json["meters"][0]["numerator"], 3);
    assert_eq!(json["meters"][0]["denominator"], 4);
    assert_eq!(json["meters"].as_array().unwrap().len(), 1);
    let bpm = json["tempos"][0]["bpm"].as_f64().unwrap();
    assert!((bpm - 100.0).abs() < 1e-9, "{bpm}");
    // 12 beats at 0.6 s.
    let seconds = json["duration_seconds"].as_f64().unwrap();
    assert!((seconds - 7.2).abs() < 1e-6, "{seconds}");
    assert_eq!(json["key"]["tonic_name"], "C");
    assert_eq!(json["key"]["mode"], "major");
    assert_eq!(json["pitch_range"]["lowest"], 36);
    assert_eq!(json["pitch_range"]["highest"], 48);
    let tracks = json["tracks"].as_array().unwrap();
    let bass = tracks
        .iter()
        .find(|t| t["name"] == "Bass")
        .expect("bass track");
    assert_eq!(bass["role"], "bass");
    assert_eq!(bass["program"], 33);
    assert_eq!(bass["channel"], 1);
    assert_eq!(bass["notes"], 12);
    let drums = tracks
        .iter()
        .find(|t| t["is_drum"] == true)
        .expect("drum track");
    assert_eq!(drums["role"], "drums");
    assert_eq!(drums["channel"], 9);
    assert_eq!(drums["notes"], 12);

    let table = orchestrion(&["inspect", path.to_str().unwrap()]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("3/4 from bar 1"), "{text}");
    assert!(text.contains("C major"), "{text}");
}

#[test]
fn a_corrupt_file_is_a_clear_error() {
    let mut bytes = sample_midi();
    bytes.truncate(10); // the header chunk cut in half
    let path = write("inspect-corrupt.mid", &bytes);
    let output = orchestrion(&["inspect", path.to_str().unwrap(), "--json"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing on stdout for a bad file");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("inspect-corrupt.mid"), "{stderr}");
    assert!(stderr.to_lowercase().contains("midi"), "{stderr}");

    let path = write("inspect-text.mid", b"this is not a MIDI file at all");
    let output = orchestrion(&["inspect", path.to_str().unwrap()]);
    assert!(!output.status.success());
}

#[test]
fn limits_name_their_flag() {
    let path = write("inspect-limits.mid", &sample_midi());
    let output = orchestrion(&["inspect", path.to_str().unwrap(), "--max-notes", "10"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-notes"), "{stderr}");
    let output = orchestrion(&["inspect", path.to_str().unwrap(), "--max-tracks", "1"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--max-tracks"));
    let missing = orchestrion(&["inspect", "/nonexistent/song.mid"]);
    assert!(!missing.status.success());
}
