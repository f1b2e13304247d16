//! End-to-end builds: small songs written here, plus a few real POP909 files when the shared
//! datasets are present.

use orchestrion_dataset::{Dataset, LoadedRecipe, Side, Silent, SongEntry, build, load_stats};
use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const RECIPE: &str = r#"
name = "tiny"
[source]
folders = ["corpus"]
[grid]
window_bars = 2
hop_bars = 1
meters = ["4/4"]
[melody]
name = "^MELODY$"
[[roles]]
role = "bass"
program = 33
derive = { from = "piano", voice = "lowest", below = 52, remove = true }
[[roles]]
role = "piano"
from = [{ name = "^PIANO$" }]
[augment]
transpose = [-5, 6]
[filter]
min_melody_notes = 2
[split]
validation = 0.3
salt = "test"
"#;

fn track(name: &str, channel: u8, notes: Vec<Note>) -> Track {
    Track {
        name: name.into(),
        program: 0,
        channel,
        is_drum: false,
        role: TrackRole::Other,
        notes,
    }
}

/// A song of `bars` 4/4 bars: a melody of quarter notes and a piano of whole-bar chords with a
/// low root, transposed by `shift`.
fn song(bars: u64, shift: u8) -> Song {
    let tpb = 480u64;
    let mut melody = Vec::new();
    let mut piano = Vec::new();
    for bar in 0..bars {
        for beat in 0..4 {
            melody.push(Note {
                pitch: 67 + shift + (beat as u8 * 2) % 5,
                velocity: 90,
                start: (bar * 4 + beat) * tpb,
                duration: tpb,
            });
        }
        for pitch in [43, 59, 62, 67] {
            piano.push(Note {
                pitch: pitch + shift,
                velocity: 70,
                start: bar * 4 * tpb,
                duration: 4 * tpb,
            });
        }
    }
    Song {
        ticks_per_beat: tpb as u16,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: 4,
            denominator: 4,
        }],
        key_signatures: Vec::new(),
        tracks: vec![track("MELODY", 0, melody), track("PIANO", 1, piano)],
        texts: Vec::new(),
    }
}

/// A datasets folder with 12 good songs, one corrupt file and one without a melody track.
fn corpus(root: &Path) {
    let dir = root.join("corpus");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..12u8 {
        let sub = if i % 3 == 0 { "sub/" } else { "" };
        song(6 + u64::from(i % 4), i % 5)
            .write_file(&dir.join(format!("{sub}song{i:02}.mid")))
            .unwrap();
    }
    std::fs::write(dir.join("corrupt.mid"), b"MThd\x00\x00\x00\x06garbage").unwrap();
    let mut no_melody = song(4, 0);
    no_melody.tracks.remove(0);
    no_melody.write_file(&dir.join("no_melody.mid")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not midi").unwrap();
}

fn load(root: &Path) -> LoadedRecipe {
    let path = root.join("tiny.toml");
    std::fs::write(&path, RECIPE).unwrap();
    LoadedRecipe::load(&path, Some(root)).unwrap()
}

fn read_dir_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn build_is_deterministic_skips_bad_files_and_splits_by_song() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let recipe = load(tmp.path());
    let out_a = tmp.path().join("out/a");
    let out_b = tmp.path().join("out/b");
    let stats = build(&recipe, &out_a, &Silent).unwrap();
    // A second build with a different thread count gives the same bytes.
    orchestrion_dataset::build_with_threads(&recipe, &out_b, &Silent, Some(1)).unwrap();
    let a = read_dir_bytes(&out_a);
    let b = read_dir_bytes(&out_b);
    assert_eq!(
        a.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [
            "meta.json",
            "recipe.toml",
            "songs.json",
            "stats.json",
            "train.safetensors",
            "validation.safetensors"
        ]
    );
    assert!(a == b, "same recipe, different bytes");

    // The corrupt file and the one without a melody are skipped and counted, not fatal.
    assert_eq!(stats.files.found, 14);
    assert_eq!(stats.files.skipped, 2);
    assert_eq!(stats.files.used, 12);
    assert_eq!(stats.skipped_by_reason.get("unreadable"), Some(&1));
    assert_eq!(stats.skipped_by_reason.get("no melody"), Some(&1));
    assert_eq!(stats.skipped[0].path, "corpus/corrupt.mid");
    // (serde_json's float parsing may differ in the last bit, so compare the counts.)
    let reloaded = load_stats(&out_a.join("stats.json")).unwrap();
    assert_eq!(reloaded.files, stats.files);
    assert_eq!(reloaded.skipped, stats.skipped);
    assert_eq!(reloaded.metrics.tracks.len(), stats.metrics.tracks.len());

    // Windows: songs of 6..9 bars, 2-bar windows every bar.
    let dataset = Dataset::open(&out_a).unwrap();
    let total = dataset.train.len() + dataset.validation.len();
    let expected: usize = (0..12u64).map(|i| 6 + i % 4 - 1).sum::<u64>() as usize;
    assert_eq!(total, expected);
    assert_eq!(stats.windows.train + stats.windows.validation, total);
    assert_eq!(
        dataset.meta.roles,
        [TrackRole::Melody, TrackRole::Bass, TrackRole::Piano]
    );
    assert_eq!(dataset.meta.programs, [0, 33, 0]);
    assert_eq!(dataset.meta.max_window_steps, 32);

    // The split is by song: no song on both sides, and songs.json agrees with the shards.
    let songs: Vec<SongEntry> =
        serde_json::from_slice(&std::fs::read(out_a.join("songs.json")).unwrap()).unwrap();
    let train: HashSet<u32> = dataset.train.iter().map(|w| w.song).collect();
    let validation: HashSet<u32> = dataset.validation.iter().map(|w| w.song).collect();
    assert!(train.is_disjoint(&validation));
    assert!(!train.is_empty() && !validation.is_empty());
    for id in &validation {
        assert_eq!(songs[*id as usize].side, Side::Validation);
    }
    for id in &train {
        assert_eq!(songs[*id as usize].side, Side::Train);
    }

    // The derived bass took each bar's low root out of the piano, so the planes are disjoint.
    let window = &dataset.train[0];
    let bass: Vec<_> = window.notes.iter().filter(|n| n.track == 1).collect();
    assert_eq!(bass.len(), 2, "one root per bar");
    assert!(bass.iter().all(|n| n.pitch < 52 && n.duration == 16));
    assert!(
        window
            .notes
            .iter()
            .filter(|n| n.track == 2)
            .all(|n| n.pitch >= 52)
    );

    // Reference metrics come from those windows.
    let melody = stats.metrics.track(TrackRole::Melody).unwrap();
    assert_eq!(melody.empty_bar_rate, Some(0.0));
    assert_eq!(stats.metrics.rolls, total);
    let bass_metrics = stats.metrics.track(TrackRole::Bass).unwrap();
    assert_eq!(bass_metrics.polyphonic_rate, Some(0.0));
}

#[test]
fn rebuilding_replaces_the_directory_whole() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let recipe = load(tmp.path());
    let out = tmp.path().join("data");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("stale.txt"), "old").unwrap();
    build(&recipe, &out, &Silent).unwrap();
    assert!(!out.join("stale.txt").exists());
    assert!(out.join("meta.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".data"))
        .collect();
    assert!(leftovers.is_empty(), "temporary directories left behind");
}

#[test]
fn missing_source_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = load(tmp.path());
    let err = build(&recipe, &tmp.path().join("out"), &Silent).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

fn shared_datasets() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    if dir.join("pop909/midi/001.mid").exists() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/datasets/pop909 is not present");
        None
    }
}

/// The shipped pop recipe on the first 8 POP909 songs and three Groove MIDI beats (copied into
/// a temporary corpus): the beats' drums are laid over the songs' windows.
#[test]
fn pop_recipe_on_real_files() {
    let Some(datasets) = shared_datasets() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let midi = tmp.path().join("pop909/midi");
    std::fs::create_dir_all(&midi).unwrap();
    for i in 1..=8 {
        let name = format!("{i:03}.mid");
        std::fs::copy(datasets.join("pop909/midi").join(&name), midi.join(&name)).unwrap();
    }
    let grooves = [
        "drummer2/session1/2_rock_102_beat_4-4.mid",
        "drummer2/session1/1_rock_110_beat_4-4.mid",
        "drummer5/session1/16_rock_136_beat_4-4.mid",
        // Left out by the drums recipe's `include`: not rock, pop or punk.
        "drummer1/session1/102_funk_95_beat_4-4.mid",
    ];
    for name in grooves {
        let to = tmp.path().join("groove-midi-drums/midi").join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(datasets.join("groove-midi-drums/midi").join(name), &to).unwrap();
    }
    let recipe_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes/pop.toml");
    let recipe = LoadedRecipe::load(&recipe_path, Some(tmp.path())).unwrap();
    let out = tmp.path().join("out");
    let stats = build(&recipe, &out, &Silent).unwrap();
    assert_eq!(stats.files.found, 8 + 4);
    assert_eq!(stats.files.excluded, 1, "the funk beat is not included");
    assert_eq!(stats.files.used, 8 + 3, "skipped: {:?}", stats.skipped);
    let dataset = Dataset::open(&out).unwrap();
    assert!(dataset.train.len() + dataset.validation.len() > 8 * 10);
    let roles = &dataset.meta.roles;
    assert_eq!(roles[0], TrackRole::Melody);
    assert_eq!(
        roles.last(),
        Some(&TrackRole::Drums),
        "drums come after pop's own roles"
    );
    let drums = roles.len() - 1;
    for window in dataset.train.iter().chain(&dataset.validation) {
        let counts = window.notes_per_track(roles.len());
        assert!(
            counts[0] >= 4,
            "only POP909 windows are examples: {counts:?}"
        );
        assert!(counts[drums] >= 16, "every window got a groove: {counts:?}");
    }
    for window in dataset.train.iter().take(50) {
        assert_eq!(window.steps(), 64);
        let counts = window.notes_per_track(roles.len());
        assert!(counts[0] >= 4 && counts[2] >= 4, "filters hold: {counts:?}");
        // Every plane's notes fit its recorded pitch range under any allowed transposition.
        let roll = window.to_roll(&dataset.meta, 6);
        let notes: usize = roll.onset.iter().map(|&c| usize::from(c)).sum();
        assert!(notes > 0);
    }
    let piano = stats.metrics.track(TrackRole::Piano).unwrap();
    assert!(
        piano.polyphonic_rate.unwrap() > 0.2,
        "the piano plays chords"
    );
    let melody = stats.metrics.track(TrackRole::Melody).unwrap();
    assert_eq!(
        melody.polyphonic_rate,
        Some(0.0),
        "the melody is monophonic"
    );
}

/// A drums-only corpus blended into the tiny one, and the blends a recipe refuses.
#[test]
fn with_lends_drums_and_refuses_blends_that_do_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path());
    let grooves = tmp.path().join("grooves");
    std::fs::create_dir_all(&grooves).unwrap();
    for i in 0..3 {
        let mut beat = song(8, 0);
        let kicks = (0..32)
            .map(|beat| Note {
                pitch: if beat % 2 == 0 { 36 } else { 38 },
                velocity: 100,
                start: beat * 480,
                duration: 120,
            })
            .collect();
        beat.tracks = vec![Track {
            is_drum: true,
            channel: 9,
            ..track("DRUMS", 9, kicks)
        }];
        beat.write_file(&grooves.join(format!("beat{i}.mid")))
            .unwrap();
    }
    let drums = |bars: u32| {
        format!(
            "name = \"beats\"\n[source]\nfolders = [\"grooves\"]\n[grid]\nwindow_bars = {bars}\n\
             meters = [\"4/4\"]\n[melody]\nabsent = true\n[[roles]]\nrole = \"drums\"\n\
             from = [{{ drums = true }}]\n[filter]\nmin_melody_notes = 0\n"
        )
    };
    let write = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    write("beats.toml", &drums(2));
    let blended = write(
        "blended.toml",
        &format!("{RECIPE}\n[[with]]\nrecipe = \"beats.toml\"\n"),
    );
    let recipe = LoadedRecipe::load(&blended, Some(tmp.path())).unwrap();
    assert_ne!(recipe.hash, load(tmp.path()).hash);
    let out = tmp.path().join("out");
    build(&recipe, &out, &Silent).unwrap();
    let dataset = Dataset::open(&out).unwrap();
    assert_eq!(
        dataset.meta.roles,
        [
            TrackRole::Melody,
            TrackRole::Bass,
            TrackRole::Piano,
            TrackRole::Drums
        ]
    );
    for window in dataset.train.iter().chain(&dataset.validation) {
        let counts = window.notes_per_track(4);
        assert!(counts[0] >= 2 && counts[3] == 8, "{counts:?}");
    }

    // Another window length, a melody corpus with a role we lack, a nested blend.
    write("long-beats.toml", &drums(4));
    let refused = [
        ("long-beats.toml", "4-bar windows, this recipe 4 and 2"),
        ("guitar.toml", "the role guitar"),
        ("blended.toml", "blends recipes itself"),
    ];
    write(
        "guitar.toml",
        &RECIPE
            .replace("role = \"piano\"", "role = \"guitar\"")
            .replace("from = \"piano\"", "from = \"guitar\""),
    );
    for (other, reason) in refused {
        let path = write(
            "refused.toml",
            &format!("{RECIPE}\n[[with]]\nrecipe = \"{other}\"\n"),
        );
        let err = LoadedRecipe::load(&path, Some(tmp.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(reason), "{other}: {err}");
    }
}
