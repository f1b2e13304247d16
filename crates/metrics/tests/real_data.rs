//! The metrics on real songs from `../shared/datasets`: they read a roll's notes exactly as the
//! music crate does, and the tonal distance tells a melody's own accompaniment from another
//! song's (the property Orchestrion relies on to judge that an arrangement follows the melody).
//! Skips, saying why, when the datasets are absent.

use orchestrion_metrics::view::TrackView;
use orchestrion_metrics::{MetricsAccumulator, evaluate, tonal_distance};
use orchestrion_music::{Grid, Limits, PianoRoll, PlaneSpec, Song, TrackRole};
use std::path::{Path, PathBuf};

fn corpus(name: &str) -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(name)
        .join("midi");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no datasets at {}", dir.display());
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mid"))
        .collect();
    files.sort();
    Some(files)
}

fn roll(path: &Path, roles: &[TrackRole]) -> PianoRoll {
    let song = Song::read_file(path, &Limits::default()).expect("readable dataset file");
    let planes = PlaneSpec::by_role(&song, roles);
    PianoRoll::from_song(&song, Grid::SIXTEENTHS, &planes, 24, 84).expect("roll")
}

#[test]
fn notes_are_the_notes_the_music_crate_reads_from_the_roll() {
    let Some(files) = corpus("freedoom-rock-midi") else {
        return;
    };
    let roles = [
        TrackRole::Drums,
        TrackRole::Bass,
        TrackRole::Guitar,
        TrackRole::Piano,
    ];
    let mut compared = 0usize;
    for path in files.iter().step_by(10) {
        let roll = roll(path, &roles);
        // Windows cut inside notes exercise sustain runs without onsets.
        for window in [roll.clone(), roll.slice_steps(5..roll.steps.min(133))] {
            for (track, view) in TrackView::all_from_roll(&window)
                .unwrap()
                .iter()
                .enumerate()
            {
                let ours: Vec<_> = view
                    .notes
                    .iter()
                    .map(|n| (n.start as u64, n.len as u64, n.pitch))
                    .collect();
                let mut theirs: Vec<_> = window
                    .step_notes(track)
                    .iter()
                    .map(|n| (n.start_step, n.duration_steps, n.pitch))
                    .collect();
                theirs.sort_by_key(|&(start, _, pitch)| (start, pitch));
                assert_eq!(ours, theirs, "{} plane {track}", path.display());
                compared += ours.len();
            }
        }
    }
    assert!(compared > 10_000, "only {compared} notes compared");
}

/// Tonal distance between each song's melody and its own piano part, and between the melody and
/// the piano part of the next song in the list, over 4-bar windows aligned from the start.
#[test]
fn melody_is_tonally_closer_to_its_own_accompaniment_than_to_another_songs() {
    let Some(files) = corpus("pop909") else {
        return;
    };
    let rolls: Vec<PianoRoll> = files
        .iter()
        .step_by(30)
        .map(|p| roll(p, &[TrackRole::Melody, TrackRole::Piano]))
        .collect();
    let views: Vec<Vec<TrackView>> = rolls
        .iter()
        .map(|r| TrackView::all_from_roll(r).unwrap())
        .collect();
    let (mut matched, mut shuffled) = (Vec::new(), Vec::new());
    for (i, song) in views.iter().enumerate() {
        let other = &views[(i + 1) % views.len()];
        let bars = song[0].bars().min(other[1].bars());
        let cut = |v: &TrackView| {
            let steps = v.bar_bounds[bars];
            TrackView::from_notes(
                v.role,
                v.is_drum,
                v.steps_per_beat,
                &v.bar_bounds
                    .windows(2)
                    .take(bars)
                    .map(|b| (b[1] - b[0]) as u32)
                    .collect::<Vec<_>>(),
                v.notes
                    .iter()
                    .filter(|n| n.start < steps)
                    .copied()
                    .collect(),
            )
        };
        let (melody, own, foreign) = (cut(&song[0]), cut(&song[1]), cut(&other[1]));
        matched.extend(tonal_distance::tonal_distance(&melody, &own));
        shuffled.extend(tonal_distance::tonal_distance(&melody, &foreign));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let closer = matched.iter().zip(&shuffled).filter(|(m, s)| m < s).count();
    eprintln!(
        "TD melody ↔ own piano {:.3}, ↔ another song's piano {:.3}; closer in {closer} of {} songs",
        mean(&matched),
        mean(&shuffled),
        matched.len().min(shuffled.len())
    );
    assert!(matched.len() >= 25 && shuffled.len() >= 25);
    assert!(mean(&matched) < 0.8 * mean(&shuffled));
    assert!(
        closer * 10 >= matched.len() * 8,
        "closer in only {closer} songs"
    );
}

/// The whole report on real windows: every value in its range, and the reference values of a
/// pop corpus look like pop (a melody is mostly monophonic, in key, and rarely empty).
#[test]
fn pop909_windows_have_plausible_values() {
    let Some(files) = corpus("pop909") else {
        return;
    };
    let mut acc = MetricsAccumulator::new();
    for path in files.iter().step_by(45) {
        let roll = roll(
            path,
            &[TrackRole::Melody, TrackRole::Piano, TrackRole::Drums],
        );
        for start in (0..roll.bar_steps.len().saturating_sub(3)).step_by(4) {
            let report = evaluate(&roll.slice_bars(start..start + 4)).unwrap();
            for t in &report.tracks {
                for rate in [
                    t.empty_bar_rate,
                    t.polyphonic_rate,
                    t.qualified_note_rate,
                    t.drum_pattern,
                    t.in_scale_rate,
                    t.groove_consistency,
                ]
                .into_iter()
                .flatten()
                {
                    assert!((0.0..=1.0).contains(&rate), "{rate} in {}", path.display());
                }
                assert!(
                    t.used_pitch_classes
                        .is_none_or(|u| (1.0..=12.0).contains(&u))
                );
                assert!(
                    t.pitch_class_entropy
                        .is_none_or(|e| (0.0..=12f64.log2() + 1e-9).contains(&e))
                );
            }
            acc.add(&report);
        }
    }
    let mean = acc.finish();
    eprintln!("{mean}");
    let melody = mean.track(TrackRole::Melody).unwrap();
    assert!(melody.polyphonic_rate.unwrap() < 0.1, "{melody:?}");
    assert!(melody.in_scale_rate.unwrap() > 0.9, "{melody:?}");
    assert!(melody.empty_bar_rate.unwrap() < 0.3, "{melody:?}");
    let piano = mean.track(TrackRole::Piano).unwrap();
    assert!(piano.polyphonic_rate.unwrap() > 0.3, "{piano:?}");
    // pop909 has no drums: the drum plane is always empty, and has no groove.
    let drums = mean.track(TrackRole::Drums).unwrap();
    assert_eq!(
        (drums.empty_bar_rate, drums.groove_consistency),
        (Some(1.0), None)
    );
}
