//! Decoding, calibration, seams and the quality report on a small model trained here, on
//! synthetic songs with plain structure (a I–IV–V–I melody, a bass line on the roots, a drum
//! groove) in 4/4 and 3/4: calibration must bring each part's density to the data's, the
//! calibrated decoding must survive a save and reload, generation across windows must show no
//! seam, the melody must come back unchanged, and 6/8 must be written on the 3/4 grid while a
//! bar length the model never saw is refused.

use orchestrion_dataset::{Dataset, DatasetMeta, Window, WindowNote};
use orchestrion_metrics::{MetricsAccumulator, MetricsReport, evaluate};
use orchestrion_model::calibrate::{CalibrateOptions, calibrate, write_decoding};
use orchestrion_model::quality::{QualityOptions, evaluate_model};
use orchestrion_model::training::{TrainOptions, Trainer};
use orchestrion_model::{Error, GenerateOptions, GenreModel};
use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

const BARS: u32 = 12;

fn meta() -> DatasetMeta {
    DatasetMeta {
        name: "synthetic-songs".into(),
        roles: vec![TrackRole::Melody, TrackRole::Bass, TrackRole::Drums],
        programs: vec![0, 33, 0],
        steps_per_beat: 4,
        window_bars: 4,
        max_window_steps: 64,
        pitch_ranges: vec![(55, 36), (28, 24), (35, 12)],
        meters: vec![(4, 4), (3, 4)],
        recipe_hash: "synthetic-songs".into(),
        transpose: (-2, 2),
    }
}

/// All notes of song `id`: bars of 16 steps (4/4) for even ids, 12 (3/4) for odd ones.
fn song_notes(id: u32) -> (u32, Vec<WindowNote>) {
    let bar = if id.is_multiple_of(2) { 16u32 } else { 12 };
    let key = 60 + (id % 5) as u8;
    let mut notes = Vec::new();
    let mut note = |track: u8, pitch: u8, start: u32, duration: u32| {
        notes.push(WindowNote {
            track,
            pitch,
            velocity: 80,
            start: start as u16,
            duration: duration as u16,
        })
    };
    for b in 0..BARS {
        let root = key + [0u8, 5, 7, 0][(b % 4) as usize];
        let at = b * bar;
        for (k, interval) in [0u8, 4, 7, 12].iter().take((bar / 4) as usize).enumerate() {
            note(0, root + interval, at + 4 * k as u32, 4);
        }
        note(1, root - 24, at, 8);
        note(1, root - 17, at + 8, bar - 8);
        for beat in 0..bar / 4 {
            note(2, if beat % 2 == 0 { 36 } else { 38 }, at + 4 * beat, 1);
        }
    }
    (bar, notes)
}

/// Windows of 4 bars every 2 bars, as the dataset builder cuts them.
fn windows(id: u32) -> Vec<Window> {
    let (bar, notes) = song_notes(id);
    (0..=(BARS - 4) / 2)
        .map(|k| {
            let start = 2 * k * bar;
            let end = start + 4 * bar;
            Window {
                song: id,
                bar_steps: vec![bar; 4],
                notes: notes
                    .iter()
                    .filter(|n| u32::from(n.start) >= start && u32::from(n.start) < end)
                    .map(|n| WindowNote {
                        start: (u32::from(n.start) - start) as u16,
                        ..*n
                    })
                    .collect(),
            }
        })
        .collect()
}

fn dataset() -> Dataset {
    Dataset {
        meta: meta(),
        train: (0..20).flat_map(windows).collect(),
        validation: (20..26).flat_map(windows).collect(),
    }
}

fn reference(dataset: &Dataset) -> MetricsReport {
    let mut total = MetricsAccumulator::new();
    for w in dataset.train.iter().chain(&dataset.validation) {
        total.add(&evaluate(&w.to_roll(&dataset.meta, 0)).unwrap());
    }
    total.finish()
}

fn melody(numerator: u8, denominator: u8, bars: u64) -> Song {
    let beat = 480 * 4 / u64::from(denominator);
    let notes = (0..bars * u64::from(numerator))
        .map(|k| Note {
            pitch: 60 + [0u8, 4, 7, 5, 2][(k % 5) as usize],
            velocity: 90,
            start: k * beat,
            duration: beat - 10,
        })
        .collect();
    Song {
        ticks_per_beat: 480,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator,
            denominator,
        }],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "Melody".into(),
            program: 0,
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes,
        }],
        texts: vec![],
    }
}

#[test]
fn calibrated_decoding_matches_the_data_without_seams_in_every_meter() {
    let base = std::env::temp_dir().join(format!("orchestrion-quality-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let data = dataset();
    let reference = reference(&data);
    let options = TrainOptions {
        steps: 240,
        batch: 8,
        lr: 2e-3,
        eval_every: 10_000,
        eval_windows: 4,
        channels: 16,
        beat_channels: 24,
        critic_channels: 8,
        latent: 8,
        ..TrainOptions::default()
    };
    let mut trainer = Trainer::new(data.clone(), None, &base, options, false).unwrap();
    trainer
        .run(&AtomicBool::new(false), &mut |_| {}, &mut |_| {})
        .unwrap();
    let dir: PathBuf = base.join("checkpoint");
    let mut model = GenreModel::load(&dir).unwrap();

    // Calibration brings every part's density to the data's (within 25 %).
    let calibration = calibrate(&model, &data, &reference, &CalibrateOptions::default()).unwrap();
    eprint!("{}", calibration.markdown());
    assert_eq!(calibration.roles.len(), 2);
    for fit in &calibration.roles {
        assert!(fit.loss_after <= fit.loss_before, "{fit:?}");
        let ratio = fit.after.notes_per_bar / fit.target.notes_per_bar;
        assert!(
            (0.75..=1.25).contains(&ratio),
            "{:?}: {:.2} notes per bar against the data's {:.2}",
            fit.role,
            fit.after.notes_per_bar,
            fit.target.notes_per_bar
        );
    }
    let bass = &calibration.roles[0];
    assert_eq!(bass.role, TrackRole::Bass);
    assert_eq!(
        bass.decoding.max_polyphony, 1,
        "the data's bass is one line"
    );
    assert_eq!(bass.after.polyphonic_rate, Some(0.0));

    // Stored in config.json, read back on load, and generation changes with it.
    let before = model
        .generate(&melody(4, 4, 8), &GenerateOptions::default())
        .unwrap();
    write_decoding(&dir, &calibration.decoding).unwrap();
    let reloaded = GenreModel::load(&dir).unwrap();
    assert_eq!(reloaded.config().decoding, calibration.decoding);
    assert_ne!(reloaded.info().hash, model.info().hash);
    model.set_decoding(calibration.decoding.clone());
    let after = model
        .generate(&melody(4, 4, 8), &GenerateOptions::default())
        .unwrap();
    let again = reloaded
        .generate(&melody(4, 4, 8), &GenerateOptions::default())
        .unwrap();
    assert_eq!(after.song.tracks, again.song.tracks);
    assert_ne!(before.song.tracks, after.song.tracks);

    // The quality report: melody intact, several window borders, no seam.
    let report = evaluate_model(
        &reloaded,
        &data,
        &reference,
        &QualityOptions {
            melodies: 6,
            max_bars: 12,
            seed: 1,
        },
    )
    .unwrap();
    eprint!("{}", report.markdown());
    assert_eq!(report.melodies, 6);
    assert_eq!(report.melody_preserved, report.melody_notes);
    assert!(report.melody_notes > 0);
    assert_eq!(report.bar_lengths, vec![12, 16], "both meters measured");
    let seams = &report.seams;
    assert!(seams.border_transitions >= 12, "{seams:?}");
    assert!(
        (seams.density_ratio - 1.0).abs() < 0.25 && (seams.overlap_ratio - 1.0).abs() < 0.25,
        "window borders differ from the inside: {seams:?}"
    );
    let markdown = report.markdown();
    assert!(markdown.contains("| bass | notes/bar |"), "{markdown}");

    // 6/8 is written on the 3/4 grid (12 steps a bar), the melody kept; 2/4 is refused.
    let six_eight = melody(6, 8, 7);
    let generation = reloaded
        .generate(&six_eight, &GenerateOptions::default())
        .unwrap();
    assert_eq!(generation.song.meters, six_eight.meters);
    assert_eq!(generation.song.tracks[0].notes, six_eight.tracks[0].notes);
    let bass_notes = &generation.song.tracks[1].notes;
    assert!(!bass_notes.is_empty());
    assert!(bass_notes.iter().all(|n| n.start + n.duration <= 7 * 1440));
    // 2/4 is shorter than the trained bars: arranged on the same grid. 5/4 is longer than any
    // trained bar and cannot fit a window: refused.
    let two_four = melody(2, 4, 4);
    let generation = reloaded
        .generate(&two_four, &GenerateOptions::default())
        .unwrap();
    assert_eq!(generation.song.tracks[0].notes, two_four.tracks[0].notes);
    match reloaded.generate(&melody(5, 4, 4), &GenerateOptions::default()) {
        Err(Error::UnknownMeter {
            numerator: 5,
            denominator: 4,
            ..
        }) => {}
        other => panic!("5/4 must be refused, got {:?}", other.map(|g| g.seed)),
    }
    let _ = std::fs::remove_dir_all(&base);
}
