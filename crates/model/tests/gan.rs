//! End-to-end checks of the GAN crate on small synthetic data: determinism, resume, canvas
//! pasting, melody preservation, any length, reproduction from the seed, clear errors.

use orchestrion_dataset::{Dataset, DatasetMeta, Window, WindowNote};
use orchestrion_model::training::{TrainOptions, Trainer};
use orchestrion_model::{Error, GenerateOptions, GenreModel};
use orchestrion_music::grid::swing_tick;
use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orchestrion-model-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn meta() -> DatasetMeta {
    DatasetMeta {
        name: "synthetic".into(),
        roles: vec![TrackRole::Melody, TrackRole::Bass, TrackRole::Drums],
        programs: vec![0, 33, 0],
        steps_per_beat: 4,
        window_bars: 2,
        max_window_steps: 32,
        pitch_ranges: vec![(60, 24), (36, 24), (35, 12)],
        meters: vec![(4, 4), (3, 4)],
        recipe_hash: "synthetic".into(),
        transpose: (-2, 2),
    }
}

/// Windows where the bass plays the melody's first note an octave or two down on every beat and
/// the kick marks the downbeats: easy structure a model can pick up in a few hundred steps.
fn synthetic(count: usize) -> Vec<Window> {
    (0..count)
        .map(|i| {
            let bar = if i % 4 == 3 { 12u32 } else { 16 };
            let root = 60 + (i % 7) as u8;
            let mut notes = Vec::new();
            for b in 0..2u32 {
                let start = (b * bar) as u16;
                notes.push(WindowNote {
                    track: 0,
                    pitch: root + 4 * b as u8,
                    velocity: 90,
                    start,
                    duration: 4,
                });
                notes.push(WindowNote {
                    track: 0,
                    pitch: root + 7,
                    velocity: 90,
                    start: start + 8,
                    duration: 4,
                });
                for beat in 0..bar / 4 {
                    let s = start + (beat * 4) as u16;
                    notes.push(WindowNote {
                        track: 1,
                        pitch: root - 24,
                        velocity: 80,
                        start: s,
                        duration: 3,
                    });
                }
                notes.push(WindowNote {
                    track: 2,
                    pitch: 36,
                    velocity: 100,
                    start,
                    duration: 1,
                });
            }
            Window {
                song: i as u32,
                bar_steps: vec![bar, bar],
                notes,
            }
        })
        .collect()
}

fn dataset() -> Dataset {
    let windows = synthetic(64);
    Dataset {
        meta: meta(),
        train: windows[..56].to_vec(),
        validation: windows[56..].to_vec(),
    }
}

fn tiny_options(steps: u64) -> TrainOptions {
    TrainOptions {
        steps,
        batch: 8,
        eval_every: 1000,
        eval_windows: 4,
        channels: 16,
        beat_channels: 16,
        critic_channels: 8,
        latent: 8,
        ..TrainOptions::default()
    }
}

fn train(out: &Path, steps: u64, resume: bool) -> Trainer {
    let mut trainer = Trainer::new(dataset(), None, out, tiny_options(steps), resume).unwrap();
    trainer
        .run(&AtomicBool::new(false), &mut |_| {}, &mut |_| {})
        .unwrap();
    trainer
}

/// The tensor bytes of the checkpoint (the safetensors header's key order is not stable, the
/// data is).
fn weights(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["generator", "critic"] {
        let file = std::fs::read(dir.join(format!("checkpoint/{name}.safetensors"))).unwrap();
        let header = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
        bytes.extend_from_slice(&file[8 + header..]);
    }
    bytes
}

#[test]
fn same_seed_gives_the_same_weights_and_resume_continues_exactly() {
    let a = temp_dir("run-a");
    let b = temp_dir("run-b");
    let c = temp_dir("run-c");
    train(&a, 6, false);
    train(&b, 6, false);
    assert_eq!(weights(&a), weights(&b), "same seed, same weights");
    // Interrupted after 3 steps, resumed to 6.
    train(&c, 3, false);
    assert_ne!(weights(&a), weights(&c));
    let resumed = train(&c, 6, true);
    assert_eq!(resumed.step(), 6);
    assert_eq!(
        weights(&a),
        weights(&c),
        "resume gives the uninterrupted result"
    );
    let log = |d: &Path| {
        std::fs::read_to_string(d.join("events.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"kind\":\"step\""))
            .map(|l| l.split("\"millis\"").next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(log(&a).len(), 6);
    assert_eq!(
        log(&a),
        log(&c),
        "the resumed log has every step's losses once, identical"
    );
    assert!(
        Trainer::new(dataset(), None, &a, tiny_options(6), false).is_err(),
        "no silent overwrite"
    );
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn melody_song(bars: u32, numerator: u8) -> Song {
    let beat = 480u64;
    let bar = beat * numerator as u64;
    let mut notes = Vec::new();
    for b in 0..bars as u64 {
        for k in 0..numerator as u64 {
            notes.push(Note {
                pitch: 60 + ((b * 3 + k * 2) % 12) as u8,
                velocity: 70 + (k as u8) * 5,
                start: b * bar + k * beat,
                duration: beat - 30,
            });
        }
    }
    Song {
        ticks_per_beat: 480,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "Lead".into(),
            program: 73,
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes,
        }],
        texts: vec![],
    }
}

fn shared_model() -> PathBuf {
    static MODEL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let out = temp_dir("model");
            train(&out, 4, false);
            out.join("checkpoint")
        })
        .clone()
}

#[test]
fn any_length_keeps_the_melody_and_reproduces_from_the_seed() {
    let model = GenreModel::load(&shared_model()).unwrap();
    for bars in [3u32, 8, 37] {
        let song = melody_song(bars, 4);
        let options = GenerateOptions {
            seed: 11,
            candidates: 3,
            ..Default::default()
        };
        let generation = model.generate(&song, &options).unwrap();
        let report =
            orchestrion_metrics::melody::melody_preserved(&song.tracks[0].notes, &generation.song);
        assert!(report.missing.is_empty(), "{bars} bars: melody changed");
        assert_eq!(generation.song.tracks[0].notes, song.tracks[0].notes);
        assert_eq!(generation.song.tracks.len(), 3);
        let end = bars as u64 * 4 * 480;
        for track in &generation.song.tracks[1..] {
            assert!(
                track.notes.iter().all(|n| n.start < end),
                "{bars} bars: notes past the end"
            );
        }
        assert_eq!(generation.candidates.len(), 3);
        assert!(
            generation
                .song
                .texts
                .iter()
                .any(|t| t.contains(&generation.model_hash)
                    && t.contains(&format!("seed={}", generation.seed)))
        );
        let again = model.generate(&song, &options).unwrap();
        assert_eq!(
            again.song.to_midi_bytes(),
            generation.song.to_midi_bytes(),
            "same command, same bytes"
        );
        let alone = GenerateOptions {
            seed: generation.seed,
            candidates: 1,
            ..Default::default()
        };
        let reproduced = model.generate(&song, &alone).unwrap();
        assert_eq!(
            reproduced.song.to_midi_bytes(),
            generation.song.to_midi_bytes(),
            "the printed seed reproduces it"
        );
        let bar_count = orchestrion_model::grid::bars(&generation.song, 4, end, 0).len();
        assert_eq!(bar_count as u32, bars);
    }
    let waltz = model
        .generate(&melody_song(5, 3), &GenerateOptions::default())
        .unwrap();
    assert_eq!(
        waltz.song.tracks[0].notes,
        melody_song(5, 3).tracks[0].notes
    );
}

/// "Ode to Joy", four bars in C major, moved by `semitones`.
fn ode_to_joy(semitones: i32) -> Song {
    let tune = [
        64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62, 60,
    ];
    let mut song = melody_song(4, 4);
    for (note, pitch) in song.tracks[0].notes.iter_mut().zip(tune) {
        note.pitch = pitch;
    }
    song.transpose(semitones);
    song
}

#[test]
fn transposing_the_melody_transposes_the_band() {
    // The networks work in one key (orchestrion_model::key): from 6 semitones down to 5 up, a
    // C major melody is moved back onto the very same canvas, so the parts must move with the
    // melody note for note.
    let model = GenreModel::load(&shared_model()).unwrap();
    assert!(model.config().key_normalized);
    let options = GenerateOptions {
        seed: 5,
        ..Default::default()
    };
    let parts = |semitones: i32| {
        let generation = model.generate(&ode_to_joy(semitones), &options).unwrap();
        generation.song.tracks[1..]
            .iter()
            .map(|t| {
                let mut notes: Vec<(u64, u64, i32)> = t
                    .notes
                    .iter()
                    .map(|n| {
                        let pitch = n.pitch as i32 - if t.is_drum { 0 } else { semitones };
                        (n.start, n.duration, pitch)
                    })
                    .collect();
                notes.sort();
                notes
            })
            .collect::<Vec<_>>()
    };
    let in_c = parts(0);
    assert!(
        in_c.iter().any(|notes| !notes.is_empty()),
        "the model wrote nothing: nothing to compare"
    );
    for semitones in [-6, -5, -2, 3, 5] {
        assert_eq!(parts(semitones), in_c, "melody moved by {semitones}");
    }
}

#[test]
fn locked_parts_are_kept_note_for_note() {
    let model = GenreModel::load(&shared_model()).unwrap();
    let song = melody_song(6, 4);
    // Swung parts too: a locked part is written as it was, not re-quantized and swung again.
    for swing in [None, Some(1.0 / 3.0)] {
        let first = model
            .generate(
                &song,
                &GenerateOptions {
                    seed: 1,
                    swing,
                    ..Default::default()
                },
            )
            .unwrap();
        let lock = Some((first.song.clone(), vec![TrackRole::Bass]));
        let second = model
            .generate(
                &song,
                &GenerateOptions {
                    seed: 2,
                    lock,
                    swing,
                    ..Default::default()
                },
            )
            .unwrap();
        let bass = |s: &Song| {
            s.tracks
                .iter()
                .find(|t| t.role == TrackRole::Bass)
                .unwrap()
                .notes
                .clone()
        };
        assert_eq!(bass(&first.song), bass(&second.song), "swing {swing:?}");
    }
}

#[test]
fn swing_delays_the_off_beat_eighths_of_the_parts_not_the_melody() {
    let model = GenreModel::load(&shared_model()).unwrap();
    let swing = 1.0 / 3.0;
    for (bars, beats) in [(8u32, 4u8), (6, 3)] {
        let song = melody_song(bars, beats);
        let with = |swing: f32| {
            let options = GenerateOptions {
                seed: 4,
                swing: Some(swing),
                ..Default::default()
            };
            model.generate(&song, &options).unwrap().song
        };
        let (straight, swung) = (with(0.0), with(swing));
        assert_eq!(swung.tracks[0].notes, song.tracks[0].notes);
        let mut off_beats = 0;
        for (a, b) in straight.tracks[1..].iter().zip(&swung.tracks[1..]) {
            let moved: Vec<u64> = a
                .notes
                .iter()
                .map(|n| swing_tick(n.start, 480, f64::from(swing)))
                .collect();
            let starts: Vec<u64> = b.notes.iter().map(|n| n.start).collect();
            assert_eq!(starts, moved, "{:?} in {beats}/4", a.role);
            off_beats += a.notes.iter().filter(|n| n.start % 480 == 240).count();
        }
        assert!(off_beats > 0, "no off-beat eighth to swing: nothing tested");
    }
    let bad = GenerateOptions {
        swing: Some(0.9),
        ..Default::default()
    };
    assert!(model.generate(&melody_song(2, 4), &bad).is_err());
}

#[test]
fn bad_requests_get_clear_errors() {
    let model = GenreModel::load(&shared_model()).unwrap();
    let mut empty = melody_song(2, 4);
    empty.tracks[0].notes.clear();
    assert!(matches!(
        model.generate(&empty, &GenerateOptions::default()),
        Err(Error::EmptyMelody)
    ));
    // Bars longer than any trained bar (5/4 on a 4/4 + 3/4 model) do not fit a window.
    let mut five_four = melody_song(2, 4);
    five_four.meters[0] = Meter {
        tick: 0,
        numerator: 5,
        denominator: 4,
    };
    let err = model
        .generate(&five_four, &GenerateOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("5/4"), "{err}");
    let long = GenerateOptions {
        bars: Some(100_000),
        ..Default::default()
    };
    assert!(matches!(
        model.generate(&melody_song(2, 4), &long),
        Err(Error::TooLong { .. })
    ));
    let missing = GenreModel::load(Path::new("/no/such/model")).err().unwrap();
    assert!(missing.to_string().contains("/no/such/model"), "{missing}");
    let listed = orchestrion_model::list_models(shared_model().parent().unwrap());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].as_ref().unwrap().roles, meta().roles);
}
