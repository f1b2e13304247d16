//! Renders songs built in code and judges the files by measurement: level, clipping, duration,
//! silence of a stem where its track rests, tempo, drums, determinism, bad SoundFonts.

mod common;

use common::{STRINGS_SILENT_FROM, TPB, band_song, soundfont_or_skip};
use orchestrion_music::{Note, Song, TempoChange, Track, TrackRole};
use orchestrion_render::{Audio, ErrorKind, RenderOptions, Renderer, SoundFontChoice, render_wav};
use std::path::Path;

fn options(soundfont: SoundFontChoice) -> RenderOptions {
    RenderOptions {
        soundfont,
        humanize: None,
        ..RenderOptions::default()
    }
}

/// Level, clipping and duration of a mix, for any instrument.
fn check_mix(song: &Song, renderer: &Renderer) {
    let mut bytes = Vec::new();
    let report = renderer
        .render_to_writer(song, std::io::Cursor::new(&mut bytes), &mut |_| {})
        .unwrap();
    let audio = Audio::from_wav_bytes(&bytes).unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (44_100, 2));
    let rms = audio.rms();
    let peak = audio.peak();
    eprintln!(
        "rms {rms:.4} peak {peak:.3} before limiter {:.3} seconds {:.3} song {:.3}",
        report.peak_before_limiter,
        audio.seconds(),
        report.song_seconds
    );
    assert!(rms > 0.02, "mix too quiet: rms {rms}");
    assert!(peak < 0.9, "mix reaches full scale: peak {peak}");
    // The song's own duration from the music crate's tempo map.
    let expected = song.duration_seconds();
    assert!(
        (report.song_seconds - expected).abs() < 0.001,
        "{} vs {expected}",
        report.song_seconds
    );
    let tail = audio.seconds() - expected;
    assert!((0.0..=3.0 + 0.01).contains(&tail), "tail {tail} s");
    assert!((audio.seconds() - report.seconds).abs() < 1e-6);
    // Sound reaches to the last bar: the final second is not silent.
    assert!(audio.rms_in(expected - 1.0..expected) > 0.01);
}

#[test]
fn soundfont_mix_is_loud_enough_unclipped_and_as_long_as_the_song() {
    let Some(font) = soundfont_or_skip("soundfont mix") else {
        return;
    };
    let renderer = Renderer::new(options(SoundFontChoice::File(font))).unwrap();
    assert!(renderer.fallback_notice().is_none());
    check_mix(&band_song(8), &renderer);
}

#[test]
fn builtin_synth_renders_when_asked_and_says_so() {
    let renderer = Renderer::new(options(SoundFontChoice::BuiltIn)).unwrap();
    assert!(
        renderer
            .fallback_notice()
            .unwrap()
            .contains("built-in synth")
    );
    check_mix(&band_song(8), &renderer);
    let bytes = renderer.render_wav(&band_song(2)).unwrap();
    assert!(Audio::from_wav_bytes(&bytes).unwrap().rms() > 0.02);
}

/// Stems: one file per track, all as long as the mix, silent where their track rests, and
/// together they make the mix.
fn check_stems(soundfont: SoundFontChoice) {
    let dir = tempfile::tempdir().unwrap();
    let song = band_song(8);
    let renderer = Renderer::new(options(soundfont)).unwrap();
    let mix_path = dir.path().join("mix.wav");
    let stems_dir = dir.path().join("stems");
    let report = renderer
        .render_files(&song, Some(&mix_path), Some(&stems_dir), &mut |_| {})
        .unwrap();
    let names: Vec<String> = report
        .stems
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "01-melody.wav",
            "02-bass.wav",
            "03-piano.wav",
            "04-drums.wav",
            "05-strings.wav"
        ]
    );
    #[cfg(unix)]
    {
        // Outputs are readable by others (as any file the umask allows), not left 0600.
        use std::os::unix::fs::PermissionsExt;
        for path in report.stems.iter().chain([&mix_path]) {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o600, 0o600, "{}", path.display());
            assert_ne!(mode & 0o044, 0, "{}: mode {mode:o}", path.display());
        }
    }
    let read = |path: &Path| Audio::read(std::fs::File::open(path).unwrap()).unwrap();
    let mix = read(&mix_path);
    let stems: Vec<Audio> = report.stems.iter().map(|p| read(p)).collect();
    for (name, stem) in names.iter().zip(&stems) {
        assert_eq!(stem.frames(), mix.frames(), "{name} length");
        assert!(stem.rms() > 0.003, "{name} is silent: {}", stem.rms());
    }
    let strings = &stems[4];
    let during = strings.rms_in(0.0..3.0);
    let after = strings.rms_in(STRINGS_SILENT_FROM..mix.seconds());
    eprintln!("strings rms during {during:.5} after {after:.7}");
    assert!(
        during > 0.005,
        "strings stem silent while playing: {during}"
    );
    assert!(
        after < 1e-4,
        "strings stem not silent after its part: {after}"
    );
    // The mix is the sum of the stems (the limiter did not act on this song), up to rounding.
    assert_eq!(report.limiter_min_gain, 1.0);
    let mut error = 0.0f64;
    for i in 0..mix.samples.len() {
        let sum: f64 = stems.iter().map(|s| f64::from(s.samples[i])).sum();
        error += (sum - f64::from(mix.samples[i])).powi(2);
    }
    let error_rms = (error / mix.samples.len() as f64).sqrt() / 32768.0;
    assert!(
        error_rms < 1e-4,
        "mix differs from the sum of stems: rms {error_rms}"
    );
    // Nothing but the finished files is left in the folders (temporary files were renamed).
    let leftovers = std::fs::read_dir(&stems_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn soundfont_stems_sum_to_the_mix_and_rest_in_silence() {
    if let Some(font) = soundfont_or_skip("soundfont stems") {
        check_stems(SoundFontChoice::File(font));
    }
}

#[test]
fn builtin_stems_sum_to_the_mix_and_rest_in_silence() {
    check_stems(SoundFontChoice::BuiltIn);
}

/// One drum hit at beat 12: 4 beats at 120 BPM then 8 at 60 BPM = 2 + 8 = 10 s.
fn late_hit_song(channel: u8, is_drum: bool, pitch: u8) -> Song {
    Song {
        ticks_per_beat: TPB as u16,
        tempos: vec![
            TempoChange {
                tick: 0,
                micros_per_beat: 500_000,
            },
            TempoChange {
                tick: 4 * TPB,
                micros_per_beat: 1_000_000,
            },
        ],
        meters: vec![],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "hit".into(),
            program: 0,
            channel,
            is_drum,
            role: if is_drum {
                TrackRole::Drums
            } else {
                TrackRole::Piano
            },
            notes: vec![Note {
                pitch,
                velocity: 110,
                start: 12 * TPB,
                duration: TPB / 2,
            }],
        }],
        texts: vec![],
    }
}

fn onset_seconds(audio: &Audio) -> f64 {
    let first = audio
        .samples
        .iter()
        .position(|&s| i32::from(s).abs() > 300)
        .expect("no sound at all");
    (first / 2) as f64 / f64::from(audio.sample_rate)
}

#[test]
fn tempo_map_places_notes_in_time_and_drums_play_on_channel_10() {
    let soundfont = match soundfont_or_skip("tempo and drums with a SoundFont") {
        Some(font) => SoundFontChoice::File(font),
        None => SoundFontChoice::BuiltIn,
    };
    let renderer = Renderer::new(options(soundfont)).unwrap();
    let render = |song: &Song| renderer.render_wav(song).unwrap();
    let drum = render(&late_hit_song(9, true, 38));
    let onset = onset_seconds(&Audio::from_wav_bytes(&drum).unwrap());
    assert!(
        (onset - 10.0).abs() < 0.01,
        "hit at {onset} s, expected 10 s"
    );
    // A drum track plays as drums whatever channel it was read from...
    assert_eq!(render(&late_hit_song(3, true, 38)), drum);
    // ...and a pitched track never lands on the drum channel.
    let piano = render(&late_hit_song(0, false, 38));
    assert_ne!(piano, drum);
    assert_eq!(render(&late_hit_song(9, false, 38)), piano);
}

#[test]
fn humanized_render_is_deterministic_by_seed() {
    let song = band_song(2);
    let with = |seed: Option<u64>| {
        render_wav(
            &song,
            &RenderOptions {
                soundfont: SoundFontChoice::BuiltIn,
                humanize: seed,
                ..RenderOptions::default()
            },
        )
        .unwrap()
    };
    let a = with(Some(5));
    assert_eq!(a, with(Some(5)));
    assert_ne!(a, with(Some(6)));
    assert_ne!(a, with(None));
}

#[test]
fn corrupt_or_missing_soundfont_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("broken.sf2");
    std::fs::write(&corrupt, b"RIFF\x04\x00\x00\x00sfbk not really a soundfont").unwrap();
    let err = Renderer::new(options(SoundFontChoice::File(corrupt.clone()))).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::SoundFontInvalid { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&corrupt.display().to_string()),
        "{err}"
    );

    let missing = dir.path().join("missing.sf2");
    let err = Renderer::new(options(SoundFontChoice::File(missing.clone()))).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::SoundFontNotFound { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
}

#[test]
fn an_empty_song_renders_an_empty_file() {
    let mut song = band_song(1);
    song.tracks.iter_mut().for_each(|t| t.notes.clear());
    let bytes = render_wav(&song, &options(SoundFontChoice::BuiltIn)).unwrap();
    assert_eq!(Audio::from_wav_bytes(&bytes).unwrap().frames(), 0);
}

/// Snare hits under four tempos (120, 75, 150 and 50 BPM), at least 0.8 s apart.
fn tempo_change_song() -> Song {
    let change = |beat: u64, micros_per_beat: u32| TempoChange {
        tick: beat * TPB,
        micros_per_beat,
    };
    let notes = [1u64, 3, 6, 10, 12]
        .iter()
        .map(|&beat| Note {
            pitch: 38,
            velocity: 110,
            start: beat * TPB,
            duration: TPB / 4,
        })
        .collect();
    Song {
        ticks_per_beat: TPB as u16,
        tempos: vec![
            change(0, 500_000),
            change(2, 800_000),
            change(5, 400_000),
            change(9, 1_200_000),
        ],
        meters: vec![],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "snare".into(),
            program: 0,
            channel: 9,
            is_drum: true,
            role: TrackRole::Drums,
            notes,
        }],
        texts: vec![],
    }
}

/// Seconds where sound rises above `loud` after at least 0.3 s below it.
fn onsets(audio: &Audio, loud: i32) -> Vec<f64> {
    let rate = f64::from(audio.sample_rate);
    let needed_quiet = (0.3 * rate) as usize;
    let mut quiet_frames = needed_quiet;
    let mut found = Vec::new();
    for (frame, pair) in audio.samples.chunks_exact(2).enumerate() {
        let level = i32::from(pair[0]).abs().max(i32::from(pair[1]).abs());
        if level > loud {
            if quiet_frames >= needed_quiet {
                found.push(frame as f64 / rate);
            }
            quiet_frames = 0;
        } else {
            quiet_frames += 1;
        }
    }
    found
}

#[test]
fn onsets_in_the_wav_land_at_the_music_crates_times() {
    let song = tempo_change_song();
    let expected: Vec<f64> = song.tracks[0]
        .notes
        .iter()
        .map(|note| song.tick_to_seconds(note.start))
        .collect();
    // 0.5, 1.8, 3.8, 6.2 and 8.6 s by hand: the map really changes tempo four times.
    for (got, want) in expected.iter().zip([0.5, 1.8, 3.8, 6.2, 8.6]) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }
    let mut choices = vec![SoundFontChoice::BuiltIn];
    choices.extend(soundfont_or_skip("onsets with a SoundFont").map(SoundFontChoice::File));
    for choice in choices {
        let renderer = Renderer::new(RenderOptions {
            effects: false,
            ..options(choice.clone())
        })
        .unwrap();
        let audio = Audio::from_wav_bytes(&renderer.render_wav(&song).unwrap()).unwrap();
        let found = onsets(&audio, 400);
        assert_eq!(found.len(), expected.len(), "{choice:?}: onsets {found:?}");
        for (got, want) in found.iter().zip(&expected) {
            // A hit's attack takes a few milliseconds to cross the threshold.
            assert!(
                (0.0..0.005).contains(&(got - want)),
                "{choice:?}: onset at {got} s, the music crate says {want} s"
            );
        }
    }
}

#[test]
fn truncated_or_non_sf2_soundfont_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = vec![(
        dir.path().join("midi-not-sf2.sf2"),
        b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0".to_vec(),
    )];
    // A real SoundFont cut short, as an interrupted download leaves it.
    if let Some(font) = soundfont_or_skip("truncated SoundFont") {
        use std::io::Read;
        let mut head = Vec::new();
        std::fs::File::open(&font)
            .unwrap()
            .take(256 * 1024)
            .read_to_end(&mut head)
            .unwrap();
        cases.push((dir.path().join("truncated.sf2"), head));
    }
    cases.push((dir.path().join("empty.sf2"), Vec::new()));
    for (path, bytes) in cases {
        std::fs::write(&path, bytes).unwrap();
        let err = Renderer::new(options(SoundFontChoice::File(path.clone()))).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::SoundFontInvalid { .. }),
            "{}: {err:?}",
            path.display()
        );
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
