//! Songs built in code for the render tests and the benchmark, and a way to find a SoundFont.

#![allow(dead_code)]

use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use std::path::PathBuf;

pub const TPB: u64 = 480;

/// A SoundFont to test with: the small TimGM6mb first (fast to load), then FluidR3.
pub fn test_soundfont() -> Option<PathBuf> {
    [
        "/usr/share/sounds/sf2/TimGM6mb.sf2",
        "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|path| path.is_file())
}

/// Returns the SoundFont or prints why the test is skipped.
pub fn soundfont_or_skip(test: &str) -> Option<PathBuf> {
    let found = test_soundfont();
    if found.is_none() {
        eprintln!(
            "skipping {test}: no SoundFont at /usr/share/sounds/sf2 \
             (apt-get install timgm6mb-soundfont fluid-soundfont-gm)"
        );
    }
    found
}

fn track(name: &str, role: TrackRole, program: u8, channel: u8, notes: Vec<Note>) -> Track {
    Track {
        name: name.into(),
        program,
        channel,
        is_drum: role == TrackRole::Drums,
        role,
        notes,
    }
}

fn note(pitch: u8, velocity: u8, start: u64, duration: u64) -> Note {
    Note {
        pitch,
        velocity,
        start,
        duration,
    }
}

/// A 4/4 band song of `bars` bars: melody, bass, piano chords, drums, plus strings that play
/// only the first two bars (their stem must be silent afterwards). 120 BPM for the first half,
/// then 90 BPM, so the tempo map matters.
pub fn band_song(bars: u64) -> Song {
    let bar = 4 * TPB;
    let progression: [[u8; 3]; 4] = [[60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62]];
    let scale = [60u8, 62, 64, 65, 67, 69, 71, 72];
    let mut melody = Vec::new();
    let mut bass = Vec::new();
    let mut piano = Vec::new();
    let mut drums = Vec::new();
    for b in 0..bars {
        let chord = progression[(b % 4) as usize];
        let start = b * bar;
        for beat in 0..4 {
            let pitch = scale[((b * 3 + beat * 2) % 8) as usize] + 12;
            melody.push(note(pitch, 90, start + beat * TPB, TPB * 3 / 4));
            bass.push(note(chord[0] - 24, 95, start + beat * TPB, TPB * 7 / 8));
            drums.push(note(42, 70, start + beat * TPB, TPB / 4));
            drums.push(note(42, 55, start + beat * TPB + TPB / 2, TPB / 4));
            drums.push(note(
                if beat % 2 == 0 { 36 } else { 38 },
                100,
                start + beat * TPB,
                TPB / 4,
            ));
        }
        for half in 0..2 {
            for &pitch in &chord {
                piano.push(note(pitch, 70, start + half * 2 * TPB, 2 * TPB - 20));
            }
        }
    }
    let strings: Vec<Note> = progression[0]
        .iter()
        .map(|&pitch| note(pitch, 80, 0, 2 * bar - TPB))
        .collect();
    let sort = |mut notes: Vec<Note>| {
        notes.sort_by_key(|n| (n.start, n.pitch));
        notes
    };
    Song {
        ticks_per_beat: TPB as u16,
        tempos: vec![
            TempoChange {
                tick: 0,
                micros_per_beat: 500_000,
            },
            TempoChange {
                tick: bars / 2 * bar,
                micros_per_beat: 666_667,
            },
        ],
        meters: vec![Meter {
            tick: 0,
            numerator: 4,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![
            track("Melody", TrackRole::Melody, 73, 0, sort(melody)),
            track("Bass", TrackRole::Bass, 33, 1, sort(bass)),
            track("Piano", TrackRole::Piano, 0, 2, sort(piano)),
            track("Drums", TrackRole::Drums, 0, 9, sort(drums)),
            track("Strings", TrackRole::Strings, 48, 3, sort(strings)),
        ],
        texts: vec![],
    }
}

/// Seconds at which the strings part has certainly died away (its last note ends after 1.75
/// bars at 120 BPM = 3.5 s; releases and reverb get 2 s).
pub const STRINGS_SILENT_FROM: f64 = 5.5;
