//! Writing a song and reading it back gives the same song (for every song MIDI can express),
//! and the file on disk is replaced atomically.

use orchestrion_music::{KeySignature, Limits, Meter, Note, Song, TempoChange, Track, TrackRole};
use proptest::prelude::*;

fn role() -> impl Strategy<Value = TrackRole> {
    proptest::sample::select(TrackRole::ALL.to_vec())
}

/// Notes MIDI can hold unambiguously: sorted, and overlapping notes of one pitch end in the
/// order they start (first-in first-out pairing).
fn notes() -> impl Strategy<Value = Vec<Note>> {
    prop::collection::vec((0u8..128, 1u8..128, 0u64..5000, 1u64..3000), 1..40).prop_map(|raw| {
        let mut notes: Vec<Note> = raw
            .into_iter()
            .map(|(pitch, velocity, start, duration)| Note {
                pitch,
                velocity,
                start,
                duration,
            })
            .collect();
        notes.sort_by_key(|note| (note.start, note.pitch, note.duration));
        let mut last_end = [0u64; 128];
        notes.retain(|note| {
            let keep = note.end() >= last_end[usize::from(note.pitch)];
            if keep {
                last_end[usize::from(note.pitch)] = note.end();
            }
            keep
        });
        notes
    })
}

fn track() -> impl Strategy<Value = Track> {
    (
        "[A-Za-z0-9]{0,3}( [A-Za-z0-9]{1,6}){0,2}",
        0u8..128,
        role(),
        notes(),
    )
        .prop_map(|(name, program, role, notes)| Track {
            // The reader trims names (editors pad them), so a written name has no padding.
            name: name.trim().to_string(),
            program,
            channel: 0,
            is_drum: false,
            role,
            notes,
        })
}

fn song() -> impl Strategy<Value = Song> {
    (
        1u16..=0x7FFF,
        prop::collection::vec((1u64..2000, 1u32..0x100_0000), 0..4),
        prop::collection::vec((1u64..2000, 1u8..33, 0u32..7), 0..3),
        prop::collection::vec((0u64..2000, -7i8..=7, any::<bool>()), 0..3),
        prop::collection::vec("[a-z=0-9 ]{0,16}", 0..3),
        prop::collection::vec(track(), 1..6),
        any::<bool>(),
        1u32..0x100_0000,
    )
        .prop_map(
            |(
                ticks_per_beat,
                tempo_gaps,
                meter_gaps,
                key_gaps,
                texts,
                mut tracks,
                drums,
                first,
            )| {
                // Distinct channels (as the writer would assign them), optionally one drum track.
                let pitched: Vec<u8> = (0..16).filter(|&channel| channel != 9).collect();
                for (index, track) in tracks.iter_mut().enumerate() {
                    track.channel = pitched[index];
                }
                if drums {
                    tracks[0].channel = 9;
                    tracks[0].is_drum = true;
                }
                let mut tick = 0;
                let mut tempos = vec![TempoChange {
                    tick: 0,
                    micros_per_beat: first,
                }];
                for (gap, micros_per_beat) in tempo_gaps {
                    tick += gap;
                    tempos.push(TempoChange {
                        tick,
                        micros_per_beat,
                    });
                }
                let mut meters = vec![Meter {
                    tick: 0,
                    numerator: 4,
                    denominator: 4,
                }];
                let mut tick = 0;
                for (gap, numerator, denominator_pow) in meter_gaps {
                    tick += gap;
                    meters.push(Meter {
                        tick,
                        numerator,
                        denominator: 1 << denominator_pow,
                    });
                }
                let mut tick = 0;
                let mut key_signatures = Vec::new();
                for (index, (gap, sharps, minor)) in key_gaps.into_iter().enumerate() {
                    tick += if index == 0 { gap } else { gap + 1 };
                    key_signatures.push(KeySignature {
                        tick,
                        sharps,
                        minor,
                    });
                }
                Song {
                    ticks_per_beat,
                    tempos,
                    meters,
                    key_signatures,
                    tracks,
                    texts,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn read_of_write_is_identity(song in song()) {
        let bytes = song.to_midi_bytes();
        let read = Song::from_midi_bytes(&bytes, &Limits::unlimited()).unwrap();
        prop_assert_eq!(read, song);
    }
}

#[test]
fn generated_parts_get_their_own_channels_and_drums_channel_10() {
    let part = |channel, is_drum| Track {
        name: String::new(),
        program: 0,
        channel,
        is_drum,
        role: TrackRole::Other,
        notes: vec![Note {
            pitch: 60,
            velocity: 90,
            start: 0,
            duration: 10,
        }],
    };
    let song = Song {
        ticks_per_beat: 480,
        tempos: vec![],
        meters: vec![],
        key_signatures: vec![],
        tracks: vec![
            part(0, false),
            part(0, false),
            part(9, false),
            part(3, true),
        ],
        texts: vec![],
    };
    assert_eq!(song.output_channels(), [0, 1, 2, 9]);
    let read = Song::from_midi_bytes(&song.to_midi_bytes(), &Limits::default()).unwrap();
    let channels: Vec<u8> = read.tracks.iter().map(|track| track.channel).collect();
    assert_eq!(channels, [0, 1, 2, 9]);
    assert!(read.tracks[3].is_drum);
    // Defaults are filled in on the way back.
    assert_eq!(read.tempos[0].micros_per_beat, 500_000);
    assert_eq!(
        (read.meters[0].numerator, read.meters[0].denominator),
        (4, 4)
    );
}

#[test]
fn write_file_replaces_atomically_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("song.mid");
    std::fs::write(&path, b"old contents").unwrap();
    let song = Song {
        ticks_per_beat: 96,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: 3,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "Melody".into(),
            program: 73,
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes: vec![Note {
                pitch: 72,
                velocity: 80,
                start: 0,
                duration: 96,
            }],
        }],
        texts: vec!["seed=7".into()],
    };
    song.write_file(&path).unwrap();
    assert_eq!(Song::read_file(&path, &Limits::default()).unwrap(), song);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["song.mid"]);

    // A folder that does not exist: a clear error naming the path, nothing written.
    let bad = dir.path().join("missing").join("song.mid");
    let err = song.write_file(&bad).unwrap_err();
    assert!(err.to_string().contains("song.mid"), "{err}");
}

#[test]
fn very_long_gaps_and_wide_ticks_per_beat_are_written() {
    let song = Song {
        ticks_per_beat: 55_440,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: 4,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![Track {
            name: String::new(),
            program: 0,
            channel: 0,
            is_drum: false,
            role: TrackRole::Piano,
            notes: vec![Note {
                pitch: 60,
                velocity: 80,
                start: 1 << 30,
                duration: 2,
            }],
        }],
        texts: vec![],
    };
    let read = Song::from_midi_bytes(&song.to_midi_bytes(), &Limits::unlimited()).unwrap();
    // 55440 does not fit the header: ticks are halved, time in seconds is kept.
    assert_eq!(read.ticks_per_beat, 27_720);
    assert_eq!(read.tracks[0].notes[0].start, 1 << 29);
    assert!((read.duration_seconds() - song.duration_seconds()).abs() < 1e-9);
}
