//! `orchestrion render` end to end: the real binary on a MIDI file this test writes byte by byte.
//! A missing or corrupt SoundFont fails with a message naming the file and leaves no output
//! behind; the built-in synth writes the mix and one stem per track.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Format 0, 480 ticks per beat, 120 BPM: two piano notes, then a snare on channel 10.
fn tiny_midi() -> Vec<u8> {
    let events: &[u8] = &[
        0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // tempo 500 000 µs per beat
        0x00, 0xC0, 0x00, // piano
        0x00, 0x90, 60, 100, // C4 on
        0x83, 0x60, 0x80, 60, 0, // after 480 ticks, off
        0x00, 0x90, 64, 100, // E4 on
        0x83, 0x60, 0x80, 64, 0, // off
        0x00, 0x99, 38, 110, // snare on (channel 10)
        0x83, 0x60, 0x89, 38, 0, // off
        0x00, 0xFF, 0x2F, 0x00, // end of track
    ];
    let mut bytes = b"MThd".to_vec();
    bytes.extend(6u32.to_be_bytes());
    bytes.extend([0, 0, 0, 1, 0x01, 0xE0]);
    bytes.extend(b"MTrk");
    bytes.extend((events.len() as u32).to_be_bytes());
    bytes.extend(events);
    bytes
}

/// A fresh folder under the system's temp dir holding `song.mid`.
fn workspace(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "orchestrion-render-cli-{test}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("song.mid"), tiny_midi()).unwrap();
    dir
}

fn render(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestrion"))
        .arg("render")
        .arg(dir.join("song.mid"))
        .arg("-o")
        .arg(dir.join("out.wav"))
        .args(extra)
        .env_remove("ORCHESTRION_SOUNDFONT")
        .output()
        .expect("run orchestrion")
}

/// Files in `dir` other than the input.
fn outputs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "song.mid" && name != "bad.sf2")
        .collect();
    names.sort();
    names
}

#[test]
fn missing_or_corrupt_soundfont_fails_naming_the_file_and_writes_nothing() {
    let dir = workspace("bad-font");
    let missing = dir.join("no-such-font.sf2");
    let corrupt = dir.join("bad.sf2");
    std::fs::write(&corrupt, b"RIFF\x04\x00\x00\x00sfbk cut short").unwrap();
    for font in [&missing, &corrupt] {
        let output = render(&dir, &["--soundfont", font.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(
            stderr.contains(&font.display().to_string()),
            "the error does not name {}: {stderr}",
            font.display()
        );
        assert_eq!(outputs(&dir), Vec::<String>::new(), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn builtin_synth_writes_the_mix_and_stems() {
    let dir = workspace("builtin");
    let stems = dir.join("stems");
    let output = render(
        &dir,
        &["--builtin-synth", "--stems", stems.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let wav = std::fs::read(dir.join("out.wav")).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..16], b"WAVEfmt ");
    // Three beats at 120 BPM (1.5 s, give or take the humanizer's few milliseconds) of 44.1 kHz
    // stereo 16-bit, plus at most 3 s of tail.
    let data = wav.len() - 44;
    assert!(
        (4 * 64_000..=4 * (67_000 + 3 * 44_100)).contains(&data),
        "{data} bytes of audio"
    );
    let stem_count = std::fs::read_dir(&stems).unwrap().count();
    assert_eq!(stem_count, 2, "one stem per track (piano, drums)");
    std::fs::remove_dir_all(&dir).unwrap();
}
