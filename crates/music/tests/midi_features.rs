//! One test per MIDI feature the reader promises (docs/midi.md), each on a small file built here
//! byte by byte, so the expected result is known exactly.

use orchestrion_music::{ErrorKind, Limits, Song, TrackRole};

/// A MIDI variable-length quantity.
fn vlq(mut value: u32) -> Vec<u8> {
    let mut bytes = vec![(value & 0x7F) as u8];
    value >>= 7;
    while value > 0 {
        bytes.insert(0, 0x80 | (value & 0x7F) as u8);
        value >>= 7;
    }
    bytes
}

/// Builds the events of one track chunk: `(delta, raw event bytes)`.
#[derive(Default)]
struct TrackBytes(Vec<u8>);

impl TrackBytes {
    fn event(mut self, delta: u32, raw: &[u8]) -> Self {
        self.0.extend(vlq(delta));
        self.0.extend_from_slice(raw);
        self
    }
    fn meta(self, delta: u32, kind: u8, data: &[u8]) -> Self {
        let mut raw = vec![0xFF, kind];
        raw.extend(vlq(data.len() as u32));
        raw.extend_from_slice(data);
        self.event(delta, &raw)
    }
    fn name(self, name: &str) -> Self {
        self.meta(0, 0x03, name.as_bytes())
    }
    fn tempo(self, delta: u32, micros: u32) -> Self {
        self.meta(delta, 0x51, &micros.to_be_bytes()[1..])
    }
    fn on(self, delta: u32, channel: u8, pitch: u8, velocity: u8) -> Self {
        self.event(delta, &[0x90 | channel, pitch, velocity])
    }
    fn off(self, delta: u32, channel: u8, pitch: u8) -> Self {
        self.event(delta, &[0x80 | channel, pitch, 64])
    }
    fn end(self, delta: u32) -> Vec<u8> {
        self.meta(delta, 0x2F, &[]).0
    }
}

fn smf(format: u16, division: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = b"MThd\0\0\0\x06".to_vec();
    bytes.extend(format.to_be_bytes());
    bytes.extend((tracks.len() as u16).to_be_bytes());
    bytes.extend(division.to_be_bytes());
    for track in tracks {
        bytes.extend(b"MTrk");
        bytes.extend((track.len() as u32).to_be_bytes());
        bytes.extend(track);
    }
    bytes
}

fn read(bytes: &[u8]) -> Song {
    Song::from_midi_bytes(bytes, &Limits::default()).expect("the test file reads")
}

fn read_err(bytes: &[u8], limits: &Limits) -> ErrorKind {
    Song::from_midi_bytes(bytes, limits)
        .expect_err("the test file must be refused")
        .kind
}

/// (pitch, velocity, start, duration) of every note of a track.
fn notes(song: &Song, track: usize) -> Vec<(u8, u8, u64, u64)> {
    song.tracks[track]
        .notes
        .iter()
        .map(|note| (note.pitch, note.velocity, note.start, note.duration))
        .collect()
}

fn one_note_track(channel: u8) -> Vec<u8> {
    TrackBytes::default()
        .on(0, channel, 60, 100)
        .off(480, channel, 60)
        .end(0)
}

#[test]
fn format_0_splits_channels_into_tracks() {
    let track = TrackBytes::default()
        .name("Song title")
        .event(0, &[0xC1, 33]) // bass program on channel 2
        .on(0, 0, 72, 90)
        .on(0, 1, 36, 80)
        .on(0, 9, 36, 100)
        .off(240, 0, 72)
        .off(0, 1, 36)
        .off(0, 9, 36)
        .end(0);
    let song = read(&smf(0, 480, &[track]));
    let channels: Vec<u8> = song.tracks.iter().map(|track| track.channel).collect();
    assert_eq!(channels, [0, 1, 9]);
    assert_eq!(song.tracks[1].program, 33);
    assert_eq!(song.tracks[1].role, TrackRole::Bass);
    assert!(song.tracks[2].is_drum);
    assert_eq!(song.tracks[2].role, TrackRole::Drums);
    // A split chunk's name is the song title, so it does not decide roles.
    assert_eq!(song.tracks[0].role, TrackRole::Piano);
    assert_eq!(notes(&song, 0), [(72, 90, 0, 240)]);
}

#[test]
fn format_1_keeps_one_track_per_chunk_and_drops_empty_ones() {
    let conductor = TrackBytes::default()
        .name("Conductor")
        .tempo(0, 600_000)
        .end(0);
    let melody = TrackBytes::default()
        .name("Melody")
        .on(0, 0, 60, 100)
        .off(480, 0, 60)
        .end(0);
    let empty = TrackBytes::default().name("Nothing").end(0);
    let song = read(&smf(1, 480, &[conductor, melody, empty]));
    assert_eq!(song.tracks.len(), 1);
    assert_eq!(song.tracks[0].name, "Melody");
    assert_eq!(song.tracks[0].role, TrackRole::Melody);
    assert_eq!(song.tempos[0].micros_per_beat, 600_000);
}

#[test]
fn format_2_is_refused() {
    let err = read_err(&smf(2, 480, &[one_note_track(0)]), &Limits::default());
    assert!(matches!(err, ErrorKind::UnsupportedFormat));
    assert!(err.to_string().contains("format 2"));
}

#[test]
fn running_status_is_followed() {
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .event(0, &[64, 90]) // running status: note on 64
        .event(120, &[60, 0]) // note on velocity 0 = off
        .event(0, &[64, 0])
        .end(0);
    let song = read(&smf(1, 96, &[track]));
    assert_eq!(notes(&song, 0), [(60, 100, 0, 120), (64, 90, 0, 120)]);
}

#[test]
fn any_ticks_per_beat_and_tempo_changes_give_seconds() {
    let conductor = TrackBytes::default()
        .tempo(0, 500_000)
        .tempo(7, 250_000) // twice as fast after one beat
        .end(0);
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .off(14, 0, 60)
        .end(0);
    let song = read(&smf(1, 7, &[conductor, track]));
    assert_eq!(song.ticks_per_beat, 7);
    assert_eq!(song.tempos.len(), 2);
    assert!((song.tick_to_seconds(7) - 0.5).abs() < 1e-12);
    assert!((song.tick_to_seconds(14) - 0.75).abs() < 1e-12);
    assert_eq!(song.end_tick(), 14);
    assert!((song.duration_seconds() - 0.75).abs() < 1e-12);
}

#[test]
fn tempo_and_meter_maps_start_at_tick_zero_with_defaults() {
    let conductor = TrackBytes::default()
        .tempo(480, 400_000)
        .meta(480, 0x58, &[3, 2, 24, 8]) // 3/4 from tick 960
        .end(0);
    let song = read(&smf(1, 480, &[conductor, one_note_track(0)]));
    let tempos: Vec<(u64, u32)> = song
        .tempos
        .iter()
        .map(|t| (t.tick, t.micros_per_beat))
        .collect();
    assert_eq!(tempos, [(0, 500_000), (480, 400_000)]);
    let meters: Vec<(u64, u8, u8)> = song
        .meters
        .iter()
        .map(|m| (m.tick, m.numerator, m.denominator))
        .collect();
    assert_eq!(meters, [(0, 4, 4), (960, 3, 4)]);
}

#[test]
fn time_and_key_signatures_are_read() {
    let conductor = TrackBytes::default()
        .meta(0, 0x58, &[6, 3, 36, 8]) // 6/8
        .meta(0, 0x59, &[0xFD, 1]) // 3 flats, minor: C minor
        .meta(960, 0x59, &[2, 0]) // D major
        .meta(0, 0x59, &[9, 0]) // invalid: 9 sharps, skipped
        .end(0);
    let song = read(&smf(1, 480, &[conductor, one_note_track(0)]));
    assert_eq!(
        (
            song.meters[0].tick,
            song.meters[0].numerator,
            song.meters[0].denominator
        ),
        (0, 6, 8)
    );
    let keys: Vec<(u64, i8, bool)> = song
        .key_signatures
        .iter()
        .map(|k| (k.tick, k.sharps, k.minor))
        .collect();
    assert_eq!(keys, [(0, -3, true), (960, 2, false)]);
}

#[test]
fn smpte_division_becomes_a_fixed_tempo() {
    // 25 frames per second, 40 ticks per frame: 1000 ticks per second.
    let division = u16::from_be_bytes([(-25i8) as u8, 40]);
    let track = TrackBytes::default()
        .tempo(0, 300_000) // ignored: SMPTE time is absolute
        .on(0, 0, 60, 100)
        .off(1500, 0, 60)
        .end(0);
    let song = read(&smf(1, division, &[track]));
    assert_eq!(song.ticks_per_beat, 1000);
    assert_eq!(song.tempos.len(), 1);
    assert!((song.duration_seconds() - 1.5).abs() < 1e-12);

    // 29.97 fps drop frame: 30 frames take 1.001 s.
    let division = u16::from_be_bytes([(-29i8) as u8, 10]);
    let song = read(&smf(1, division, &[one_note_track(0)]));
    assert_eq!(song.ticks_per_beat, 300);
    assert!((song.tick_to_seconds(300) - 1.001).abs() < 1e-12);
}

#[test]
fn impossible_smpte_rate_is_read_as_wide_ticks_per_beat() {
    // 0xD890 = 55440 ticks per beat, as in some Weimar Jazz Database files.
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .off(55_440, 0, 60)
        .end(0);
    let song = read(&smf(1, 0xD890, &[track]));
    assert_eq!(song.ticks_per_beat, 55_440);
    assert!((song.duration_seconds() - 0.5).abs() < 1e-12);
}

#[test]
fn zero_ticks_per_beat_is_refused() {
    let err = read_err(&smf(1, 0, &[one_note_track(0)]), &Limits::default());
    assert!(matches!(err, ErrorKind::BadTimeDivision(_)), "{err}");
}

#[test]
fn channel_10_is_drums() {
    let track = TrackBytes::default()
        .name("Piano?")
        .on(0, 9, 38, 100)
        .off(10, 9, 38)
        .end(0);
    let song = read(&smf(1, 480, &[track]));
    assert!(song.tracks[0].is_drum);
    assert_eq!(song.tracks[0].channel, 9);
    assert_eq!(song.tracks[0].role, TrackRole::Drums);
}

#[test]
fn pitch_bends_controllers_and_sysex_are_ignored() {
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .event(10, &[0xE0, 0x00, 0x60]) // pitch bend
        .event(0, &[0xB0, 7, 100]) // volume
        .event(0, &[0xA0, 60, 50]) // aftertouch
        .event(0, &[0xD0, 30]) // channel pressure
        .event(0, &[0xF0, 3, 0x7E, 0x7F, 0xF7]) // sysex
        .off(10, 0, 60)
        .end(0);
    let song = read(&smf(1, 480, &[track]));
    assert_eq!(notes(&song, 0), [(60, 100, 0, 20)]);
}

#[test]
fn rmid_files_are_unwrapped() {
    let inner = smf(1, 480, &[one_note_track(0)]);
    let mut data_chunk = b"data".to_vec();
    data_chunk.extend((inner.len() as u32).to_le_bytes());
    data_chunk.extend(&inner);
    let mut rmid = b"RIFF".to_vec();
    rmid.extend(((4 + data_chunk.len()) as u32).to_le_bytes());
    rmid.extend(b"RMID");
    rmid.extend(&data_chunk);
    assert_eq!(read(&rmid), read(&inner));
}

#[test]
fn velocity_zero_note_on_is_a_note_off() {
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .on(100, 0, 60, 0)
        .end(50);
    let song = read(&smf(1, 480, &[track]));
    assert_eq!(notes(&song, 0), [(60, 100, 0, 100)]);
}

#[test]
fn overlapping_notes_of_one_pitch_pair_first_in_first_out() {
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .on(50, 0, 60, 90)
        .off(50, 0, 60) // tick 100 closes the first note
        .off(50, 0, 60) // tick 150 closes the second
        .off(10, 0, 60) // nothing left to close: ignored
        .end(0);
    let song = read(&smf(1, 480, &[track]));
    assert_eq!(notes(&song, 0), [(60, 100, 0, 100), (60, 90, 50, 100)]);
}

#[test]
fn notes_never_switched_off_end_with_their_track() {
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .on(10, 0, 64, 100)
        .off(10, 0, 64)
        .end(300);
    let song = read(&smf(1, 480, &[track]));
    assert_eq!(notes(&song, 0), [(60, 100, 0, 320), (64, 100, 10, 10)]);
}

#[test]
fn first_program_change_is_the_program() {
    let track = TrackBytes::default()
        .event(0, &[0xC0, 40]) // violin
        .on(0, 0, 60, 100)
        .event(10, &[0xC0, 0])
        .off(10, 0, 60)
        .end(0);
    let song = read(&smf(1, 480, &[track]));
    assert_eq!(song.tracks[0].program, 40);
    assert_eq!(song.tracks[0].role, TrackRole::Strings);
}

#[test]
fn program_change_in_another_chunk_is_used_when_the_track_has_none() {
    let setup = TrackBytes::default().event(0, &[0xC2, 26]).end(0);
    let part = one_note_track(2);
    let song = read(&smf(1, 480, &[setup, part]));
    assert_eq!(song.tracks[0].program, 26);
    assert_eq!(song.tracks[0].role, TrackRole::Guitar);
}

#[test]
fn track_names_and_instrument_names() {
    let named = TrackBytes::default()
        .name("  Violin 1\0")
        .on(0, 0, 60, 100)
        .off(10, 0, 60)
        .end(0);
    let instrument = TrackBytes::default()
        .meta(0, 0x04, b"Bass")
        .on(0, 1, 40, 100)
        .off(10, 1, 40)
        .end(0);
    let latin1 = TrackBytes::default()
        .meta(0, 0x03, b"Fl\xfcgelhorn")
        .on(0, 2, 70, 100)
        .off(10, 2, 70)
        .end(0);
    let song = read(&smf(1, 480, &[named, instrument, latin1]));
    assert_eq!(song.tracks[0].name, "Violin 1");
    assert_eq!(song.tracks[1].name, "Bass");
    assert_eq!(song.tracks[1].role, TrackRole::Bass);
    assert_eq!(song.tracks[2].name, "Flügelhorn");
}

#[test]
fn notes_are_sorted_by_start_then_pitch() {
    let track = TrackBytes::default()
        .on(0, 0, 67, 100)
        .on(0, 0, 60, 100)
        .on(5, 0, 50, 100)
        .end(10);
    let song = read(&smf(1, 480, &[track]));
    let order: Vec<(u64, u8)> = song.tracks[0]
        .notes
        .iter()
        .map(|n| (n.start, n.pitch))
        .collect();
    assert_eq!(order, [(0, 60), (0, 67), (5, 50)]);
}

#[test]
fn texts_of_the_first_chunk_become_song_texts() {
    let conductor = TrackBytes::default().meta(0, 0x01, b"seed=42").end(0);
    let song = read(&smf(1, 480, &[conductor, one_note_track(0)]));
    assert_eq!(song.texts, ["seed=42"]);
}

#[test]
fn each_limit_names_its_flag() {
    let bytes = smf(1, 480, &[one_note_track(0), one_note_track(1)]);
    let cases = [
        (
            Limits {
                max_file_bytes: 10,
                ..Limits::default()
            },
            "--max-file-mib",
        ),
        (
            Limits {
                max_tracks: 1,
                ..Limits::default()
            },
            "--max-tracks",
        ),
        (
            Limits {
                max_notes: 1,
                ..Limits::default()
            },
            "--max-notes",
        ),
        (
            Limits {
                max_seconds: 0.4,
                ..Limits::default()
            },
            "--max-minutes",
        ),
    ];
    for (limits, flag) in cases {
        let message = read_err(&bytes, &limits).to_string();
        assert!(message.contains(flag), "{message}");
    }
    assert_eq!(read(&bytes).tracks.len(), 2);
}

#[test]
fn read_file_checks_the_size_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.mid");
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    let limits = Limits {
        max_file_bytes: 1024,
        ..Limits::default()
    };
    let err = Song::read_file(&path, &limits).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::FileTooLarge { .. }), "{err}");
    let missing = Song::read_file(&dir.path().join("missing.mid"), &limits).unwrap_err();
    assert!(missing.to_string().contains("missing.mid"), "{missing}");
}

#[test]
fn garbage_is_a_clear_error() {
    let err = read_err(b"hello, I am not MIDI", &Limits::default());
    assert!(
        err.to_string().starts_with("not a valid MIDI file"),
        "{err}"
    );
    let err = read_err(b"", &Limits::default());
    assert!(matches!(err, ErrorKind::Malformed(_)));
}

#[test]
fn lying_length_fields_do_not_allocate_or_panic() {
    // A track chunk that claims 4 GiB and a SysEx that claims 256 MiB, in a 40-byte file.
    let mut bytes = smf(1, 480, &[one_note_track(0)]);
    let length_at = 14 + 4;
    bytes[length_at..length_at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    assert_eq!(read(&bytes).note_count(), 1);

    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .off(10, 0, 60)
        .event(0, &[0xF0, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2])
        .end(0);
    let song = read(&smf(1, 480, &[track]));
    assert_eq!(song.note_count(), 1);
}

#[test]
fn truncated_file_keeps_what_came_before() {
    let track = TrackBytes::default()
        .on(0, 0, 60, 100)
        .off(10, 0, 60)
        .on(0, 0, 62, 100)
        .off(10, 0, 62)
        .end(0);
    let bytes = smf(1, 480, &[track]);
    let song = read(&bytes[..bytes.len() - 6]);
    assert_eq!(song.tracks[0].notes[0].pitch, 60);
}

/// Found by cargo-fuzz: a second `MThd` chunk with division byte 0x80 made `midly` overflow.
#[test]
fn regression_extra_header_with_frame_rate_minus_128() {
    let mut bytes = smf(1, 480, &[one_note_track(0)]);
    bytes.extend(b"MThd\0\0\0\x06\0\x01\0\x01\x80\x00");
    assert_eq!(read(&bytes).note_count(), 1);
    let first_header = smf(1, 0x8000, &[one_note_track(0)]);
    assert_eq!(read(&first_header).ticks_per_beat, 0x8000);
}
