//! Every model shipped in the repository's `models/` (discovered, not listed) generates a sane
//! arrangement: the parts its config promises, with their General MIDI programs, drums on MIDI
//! channel 10, the melody unchanged, nothing past the melody's last bar, and metrics in a sane
//! band (every part plays, few empty bars, mostly in the melody's key). Melodies are written
//! here: an 8-bar folk-like tune in 4/4 in three keys, one in 3/4 and one in 6/8 (other keys
//! again: a model that plays one key whatever the melody's must fail); a model takes those whose
//! bar fits (no longer than its longest trained bar) and must refuse longer ones with a clear
//! error.
//! One generation per model also goes through the real binary and must give the library's bytes.

use orchestrion_metrics::in_scale::best_scale;
use orchestrion_metrics::{evaluate_in_scale, melody_preserved};
use orchestrion_model::{Error, GenerateOptions, GenreModel, store};
use orchestrion_music::{
    Grid, KeySignature, Limits, Meter, Note, PianoRoll, PlaneSpec, Song, TempoChange, Track,
    TrackRole,
};
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tune in G major: (scale degree, length in eighths) per note, repeated to fill `bars` bars
/// of `numerator/denominator`.
fn tune(numerator: u8, denominator: u8, bars: u64) -> Song {
    let tpb = 480u64;
    let eighth = tpb / 2;
    let bar = u64::from(numerator) * tpb * 4 / u64::from(denominator);
    // G major from D4: D E F# G A B C D.
    let scale = [62u8, 64, 66, 67, 69, 71, 72, 74];
    let phrase: &[(usize, u64)] = &[
        (3, 2),
        (4, 1),
        (5, 1),
        (4, 2),
        (3, 2),
        (2, 1),
        (1, 1),
        (0, 2),
        (3, 3),
        (5, 1),
        (7, 2),
        (6, 2),
        (4, 4),
    ];
    let end = bars * bar;
    let mut notes = Vec::new();
    let mut at = 0u64;
    'fill: loop {
        for &(degree, eighths) in phrase {
            let length = eighths * eighth;
            if at + length > end {
                break 'fill;
            }
            notes.push(Note {
                pitch: scale[degree],
                velocity: 72 + (at / eighth % 3) as u8 * 8,
                start: at,
                duration: length - 20,
            });
            at += length;
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
            numerator,
            denominator,
        }],
        key_signatures: vec![KeySignature {
            tick: 0,
            sharps: 1,
            minor: false,
        }],
        tracks: vec![Track {
            name: "Tune".into(),
            program: 73,
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes,
        }],
        texts: vec![],
    }
}

/// Whether a bar of `n/d` fits the model's windows: no longer than its longest trained bar
/// (shorter bars, e.g. 3/4 or 6/8 on a 4/4 model, are arranged on the same grid).
fn fits_bar_length(model: &GenreModel, n: u8, d: u8) -> bool {
    let grid = Grid::new(model.config().steps_per_beat);
    grid.steps_per_bar(n, d)
        .is_some_and(|steps| steps <= model.config().longest_bar_steps())
}

fn check_arrangement(model: &GenreModel, melody: &Song, out: &Song, what: &str) {
    let config = model.config();
    assert_eq!(
        out.tracks.len(),
        config.roles.len(),
        "{what}: one track per role"
    );
    for (r, track) in out.tracks.iter().enumerate() {
        assert_eq!(track.role, config.roles[r], "{what}: track {r} role");
        let drum = track.role == TrackRole::Drums;
        assert_eq!(track.is_drum, drum, "{what}: {:?} drum flag", track.role);
        if r > 0 {
            assert_eq!(
                track.program, config.programs[r],
                "{what}: {:?} program",
                track.role
            );
        }
    }
    for (track, channel) in out.tracks.iter().zip(out.output_channels()) {
        assert_eq!(
            channel == 9,
            track.is_drum,
            "{what}: drums and only drums on MIDI channel 10 ({:?} on {channel})",
            track.role
        );
    }
    let kept = melody_preserved(&melody.tracks[0].notes, out);
    assert!(
        kept.is_complete(),
        "{what}: melody changed: {:?}",
        kept.missing
    );
    assert_eq!(
        out.tracks[0].notes.len(),
        melody.tracks[0].notes.len(),
        "{what}: nothing added to the melody"
    );
    // Nothing sounds past the melody's last bar.
    let meter = melody.meters[0];
    let bar = u64::from(melody.ticks_per_beat) * 4 * u64::from(meter.numerator)
        / u64::from(meter.denominator);
    let song_end = melody.end_tick().div_ceil(bar) * bar;
    for track in &out.tracks[1..] {
        let last = track.notes.iter().map(|n| n.start + n.duration).max();
        assert!(
            last.is_some_and(|end| end <= song_end),
            "{what}: {:?} is empty or runs past the song's end ({last:?} > {song_end})",
            track.role
        );
    }
    // The file round trip keeps every part.
    let back = Song::from_midi_bytes(&out.to_midi_bytes(), &Limits::default()).unwrap();
    assert_eq!(
        back.note_count(),
        out.note_count(),
        "{what}: MIDI round trip"
    );

    let roles: Vec<TrackRole> = out.tracks.iter().map(|t| t.role).collect();
    let roll = PianoRoll::from_song(
        out,
        Grid::new(config.steps_per_beat),
        &PlaneSpec::by_role(out, &roles),
        24,
        84,
    )
    .unwrap();
    // In-scale against the melody's key: a part stuck on a foreign pitch must not pull the
    // song's best-fitting scale towards itself.
    let mut histogram = [0u64; 12];
    for note in &melody.tracks[0].notes {
        histogram[usize::from(note.pitch % 12)] += 1;
    }
    let key = best_scale(&histogram).unwrap();
    let report = evaluate_in_scale(&roll, key).unwrap();
    for (r, role) in config.roles.iter().enumerate().skip(1) {
        let t = report.track(*role).unwrap();
        let empty = t.empty_bar_rate.unwrap();
        assert!(t.notes > 0, "{what}: {role:?} plays nothing");
        // A part may rest in half the bars, or a quarter of the bars more than its data does
        // (calibration records that: rock's keys rest in 63 % of the data's bars).
        let data_empty = config.role_decoding(r).data_empty_bar_rate.unwrap_or(0.0);
        let allowed = (f64::from(data_empty) + 0.25).max(0.5);
        assert!(
            empty < allowed,
            "{what}: {role:?} empty in {empty:.2} of the bars (allowed below {allowed:.2})"
        );
        if let Some(in_scale) = t.in_scale_rate {
            assert!(
                in_scale > 0.6,
                "{what}: {role:?} only {in_scale:.2} of its notes in the key"
            );
        }
    }
}

#[test]
fn every_shipped_model_writes_a_sane_arrangement() {
    // ORCHESTRION_MODELS_DIR checks candidate models before they are copied into models/.
    let root = std::env::var_os("ORCHESTRION_MODELS_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models"));
    let dirs = store::model_dirs(&root);
    assert!(!dirs.is_empty(), "no model found in {}", root.display());
    let bin = env!("CARGO_BIN_EXE_orchestrion");
    let tmp = std::env::temp_dir().join(format!("orchestrion-shipped-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let model =
            GenreModel::load(&dir).unwrap_or_else(|e| panic!("model {name} does not load: {e}"));
        let mut generated = 0;
        // G, E♭ and A major in 4/4; F major in 3/4; D major in 6/8.
        for (n, d, semitones) in [(4u8, 4u8, 0), (4, 4, -4), (4, 4, 2), (3, 4, -2), (6, 8, -5)] {
            let mut melody = tune(n, d, 8);
            melody.transpose(semitones);
            let what = format!("{name} on {n}/{d}, {semitones:+} semitones from G");
            let options = GenerateOptions {
                seed: 3,
                ..Default::default()
            };
            match model.generate(&melody, &options) {
                Ok(generation) => {
                    assert!(fits_bar_length(&model, n, d), "{what}: unexpected success");
                    check_arrangement(&model, &melody, &generation.song, &what);
                    generated += 1;
                    if n == 4 && semitones == 0 {
                        // The binary gives the same bytes as the library.
                        let input = tmp.join(format!("{name}-melody.mid"));
                        let output = tmp.join(format!("{name}-out.mid"));
                        melody.write_file(&input).unwrap();
                        let status = Command::new(bin)
                            .args(["generate", "--seed", "3", "--model"])
                            .arg(&dir)
                            .arg("--melody")
                            .arg(&input)
                            .arg("-o")
                            .arg(&output)
                            .output()
                            .unwrap();
                        assert!(
                            status.status.success(),
                            "{what}: orchestrion generate failed: {}",
                            String::from_utf8_lossy(&status.stderr)
                        );
                        let file = Song::read_file(&output, &Limits::default()).unwrap();
                        let library = Song::from_midi_bytes(
                            &generation.song.to_midi_bytes(),
                            &Limits::default(),
                        )
                        .unwrap();
                        assert_eq!(file, library, "{what}: binary and library disagree");
                    }
                }
                Err(Error::UnknownMeter { .. }) => {
                    assert!(
                        !fits_bar_length(&model, n, d),
                        "{what}: refused a known meter"
                    );
                }
                Err(e) => panic!("{what}: {e}"),
            }
        }
        assert!(
            generated > 0,
            "{name}: generated for none of the test melodies"
        );
        eprintln!("{name}: {generated} melodies generated and checked");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
