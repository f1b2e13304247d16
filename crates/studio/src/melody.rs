//! Melodies as the API sees them (notes in beats, a tempo, a meter) and as the music crate sees
//! them ([`Song`] in ticks), plus the piano-roll JSON of a finished composition.
//!
//! JSON notes are quantized to the 16th-note grid the models use (4 steps per beat) and stored
//! at [`TICKS_PER_BEAT`]; the melody is one track with role `melody`.

use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Limits;
use crate::http::error::Error;

/// Resolution of songs made from JSON notes.
pub const TICKS_PER_BEAT: u16 = 480;
/// Grid steps per beat that JSON notes snap to.
pub const STEPS_PER_BEAT: u32 = 4;
/// Velocity of a note sent without one.
pub const DEFAULT_VELOCITY: u8 = 90;

/// A time signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeterJson {
    /// Beats per bar as written (1-16).
    pub numerator: u8,
    /// Note value of a beat as written: 2, 4, 8 or 16.
    pub denominator: u8,
}

impl MeterJson {
    /// Quarter-note beats in one bar (6/8 → 3).
    pub fn beats_per_bar(&self) -> f64 {
        f64::from(self.numerator) * 4.0 / f64::from(self.denominator.max(1))
    }
}

/// One note in beats, as the console's keyboard records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NoteJson {
    /// MIDI note number, 0-127.
    pub pitch: u8,
    /// 1-127; 90 when absent.
    #[serde(default)]
    pub velocity: Option<u8>,
    /// Onset in quarter-note beats from the start.
    pub start_beats: f64,
    /// Length in quarter-note beats.
    pub duration_beats: f64,
}

/// A melody given as notes (the JSON form of `POST /api/melodies`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NotesMelody {
    pub name: Option<String>,
    pub tempo_bpm: f64,
    pub meter: MeterJson,
    pub notes: Vec<NoteJson>,
}

/// What lists and validation need to know about a melody without its notes.
#[derive(Debug, Clone, PartialEq)]
pub struct MelodySummary {
    pub tempo_bpm: f64,
    pub meter: MeterJson,
    pub bars: u32,
    pub note_count: usize,
    pub duration_beats: f64,
}

fn check_meter(meter: MeterJson) -> Result<(), Error> {
    if !(1..=16).contains(&meter.numerator) || ![2, 4, 8, 16].contains(&meter.denominator) {
        return Err(Error::Validation(format!(
            "meter {}/{} is not supported: numerator 1-16, denominator 2, 4, 8 or 16",
            meter.numerator, meter.denominator
        )));
    }
    Ok(())
}

fn check_tempo(bpm: f64) -> Result<(), Error> {
    if !bpm.is_finite() || !(20.0..=400.0).contains(&bpm) {
        return Err(Error::Validation(format!(
            "tempo must be 20-400 BPM, not {bpm}"
        )));
    }
    Ok(())
}

/// A one-track song from JSON notes: validated, quantized, sorted.
pub fn song_from_notes(input: &NotesMelody, limits: &Limits) -> Result<Song, Error> {
    check_tempo(input.tempo_bpm)?;
    check_meter(input.meter)?;
    if input.notes.is_empty() {
        return Err(Error::Validation("a melody needs at least one note".into()));
    }
    if input.notes.len() > limits.max_notes {
        return Err(Error::Validation(format!(
            "a melody may have at most {} notes, not {}",
            limits.max_notes,
            input.notes.len()
        )));
    }
    let max_beats = f64::from(limits.max_bars) * input.meter.beats_per_bar();
    let step_ticks = u64::from(TICKS_PER_BEAT) / u64::from(STEPS_PER_BEAT);
    let mut notes = Vec::with_capacity(input.notes.len());
    for (i, n) in input.notes.iter().enumerate() {
        let velocity = n.velocity.unwrap_or(DEFAULT_VELOCITY);
        if n.pitch > 127 || !(1..=127).contains(&velocity) {
            return Err(Error::Validation(format!(
                "note {i}: pitch must be 0-127 and velocity 1-127"
            )));
        }
        if !n.start_beats.is_finite()
            || !n.duration_beats.is_finite()
            || n.start_beats < 0.0
            || n.duration_beats <= 0.0
        {
            return Err(Error::Validation(format!(
                "note {i}: start must be ≥ 0 and duration > 0 beats"
            )));
        }
        if n.start_beats + n.duration_beats > max_beats {
            return Err(Error::Validation(format!(
                "note {i} ends after bar {}: melodies are at most {} bars",
                limits.max_bars, limits.max_bars
            )));
        }
        let steps_per_beat = f64::from(STEPS_PER_BEAT);
        let start_step = (n.start_beats * steps_per_beat).round() as u64;
        let duration_steps = ((n.duration_beats * steps_per_beat).round() as u64).max(1);
        notes.push(Note {
            pitch: n.pitch,
            velocity,
            start: start_step * step_ticks,
            duration: duration_steps * step_ticks,
        });
    }
    notes.sort_by_key(|n| (n.start, n.pitch));
    // The same pitch twice at one onset is one key pressed once.
    notes.dedup_by_key(|n| (n.start, n.pitch));
    Ok(Song {
        ticks_per_beat: TICKS_PER_BEAT,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: (60_000_000.0 / input.tempo_bpm).round() as u32,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: input.meter.numerator,
            denominator: input.meter.denominator,
        }],
        key_signatures: Vec::new(),
        tracks: vec![Track {
            name: "Melody".into(),
            program: 0,
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes,
        }],
        texts: Vec::new(),
    })
}

/// The melody part of an uploaded file: the track marked melody, else the first pitched track
/// with notes, alone in a song with the file's tempo and meter maps.
pub fn melody_of_upload(song: Song, limits: &Limits) -> Result<Song, Error> {
    let pick = song
        .tracks
        .iter()
        .position(|t| t.role == TrackRole::Melody && !t.notes.is_empty())
        .or_else(|| {
            song.tracks
                .iter()
                .position(|t| !t.is_drum && !t.notes.is_empty())
        })
        .ok_or_else(|| {
            Error::Validation("the file has no pitched notes to use as a melody".into())
        })?;
    let mut tracks = song.tracks;
    let mut melody = tracks.swap_remove(pick);
    melody.role = TrackRole::Melody;
    let out = Song {
        tracks: vec![melody],
        texts: Vec::new(),
        ..song
    };
    let summary = summarize(&out);
    check_tempo(summary.tempo_bpm)?;
    check_meter(summary.meter)?;
    if summary.note_count > limits.max_notes {
        return Err(Error::Validation(format!(
            "a melody may have at most {} notes; this one has {}",
            limits.max_notes, summary.note_count
        )));
    }
    if summary.bars > limits.max_bars {
        return Err(Error::Validation(format!(
            "a melody may be at most {} bars; this one is {}",
            limits.max_bars, summary.bars
        )));
    }
    Ok(out)
}

fn first_meter(song: &Song) -> MeterJson {
    song.meters
        .first()
        .map(|m| MeterJson {
            numerator: m.numerator,
            denominator: m.denominator,
        })
        .unwrap_or(MeterJson {
            numerator: 4,
            denominator: 4,
        })
}

fn first_bpm(song: &Song) -> f64 {
    song.tempos.first().map(|t| t.bpm()).unwrap_or(120.0)
}

/// Tempo, meter and size of a melody song (first tempo and meter count).
pub fn summarize(song: &Song) -> MelodySummary {
    let meter = first_meter(song);
    let tpb = f64::from(song.ticks_per_beat.max(1));
    let duration_beats = song.end_tick() as f64 / tpb;
    let bars = (duration_beats / meter.beats_per_bar() - 1e-9)
        .ceil()
        .max(1.0) as u32;
    MelodySummary {
        tempo_bpm: first_bpm(song),
        meter,
        bars,
        note_count: song.note_count(),
        duration_beats,
    }
}

/// The notes of a melody song in beats.
pub fn notes_in_beats(song: &Song) -> Vec<NoteJson> {
    let tpb = f64::from(song.ticks_per_beat.max(1));
    song.tracks
        .iter()
        .flat_map(|t| t.notes.iter())
        .map(|n| NoteJson {
            pitch: n.pitch,
            velocity: Some(n.velocity),
            start_beats: n.start as f64 / tpb,
            duration_beats: n.duration as f64 / tpb,
        })
        .collect()
}

/// One note of a piano roll, in beats.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RollNote {
    pub pitch: u8,
    pub velocity: u8,
    pub start: f64,
    pub duration: f64,
}

/// One track of a piano roll.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RollTrack {
    /// Lower-case role name (`melody`, `drums`, ...).
    pub role: String,
    pub name: String,
    pub program: u8,
    pub channel: u8,
    pub is_drum: bool,
    pub notes: Vec<RollNote>,
}

/// A whole song laid out for a piano-roll view (times in beats).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Roll {
    pub tempo_bpm: f64,
    pub meter: MeterJson,
    pub beats_per_bar: f64,
    pub total_beats: f64,
    pub tracks: Vec<RollTrack>,
}

/// Lower-case name of a role, as the API spells it.
pub fn role_name(role: TrackRole) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "other".into())
}

/// Parses a role name as the API spells it.
pub fn parse_role(name: &str) -> Result<TrackRole, Error> {
    serde_json::from_value(serde_json::Value::String(name.to_ascii_lowercase()))
        .map_err(|_| Error::Validation(format!("unknown track role '{name}'")))
}

/// The piano-roll JSON of a song.
pub fn roll_of(song: &Song) -> Roll {
    let meter = first_meter(song);
    let tpb = f64::from(song.ticks_per_beat.max(1));
    let beats_per_bar = meter.beats_per_bar();
    let end_beats = song.end_tick() as f64 / tpb;
    let total_beats = ((end_beats / beats_per_bar - 1e-9).ceil().max(1.0)) * beats_per_bar;
    Roll {
        tempo_bpm: first_bpm(song),
        meter,
        beats_per_bar,
        total_beats,
        tracks: song
            .tracks
            .iter()
            .map(|t| RollTrack {
                role: role_name(t.role),
                name: t.name.clone(),
                program: t.program,
                channel: t.channel,
                is_drum: t.is_drum,
                notes: t
                    .notes
                    .iter()
                    .map(|n| RollNote {
                        pitch: n.pitch,
                        velocity: n.velocity,
                        start: n.start as f64 / tpb,
                        duration: n.duration as f64 / tpb,
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(notes: Vec<NoteJson>) -> NotesMelody {
        NotesMelody {
            name: None,
            tempo_bpm: 100.0,
            meter: MeterJson {
                numerator: 3,
                denominator: 4,
            },
            notes,
        }
    }

    fn note(pitch: u8, start: f64, dur: f64) -> NoteJson {
        NoteJson {
            pitch,
            velocity: None,
            start_beats: start,
            duration_beats: dur,
        }
    }

    #[test]
    fn notes_are_quantized_to_sixteenths_and_summarized() {
        let song = song_from_notes(
            &input(vec![
                note(60, 0.02, 0.98),
                note(62, 1.0, 0.1),
                note(64, 5.5, 1.0),
            ]),
            &Limits::default(),
        )
        .unwrap();
        let notes = &song.tracks[0].notes;
        assert_eq!(notes[0].start, 0);
        assert_eq!(notes[0].duration, 480);
        // 0.1 beats rounds to zero steps; a note keeps at least one step.
        assert_eq!(notes[1].duration, 120);
        let s = summarize(&song);
        assert_eq!(s.bars, 3); // 6.5 beats of 3/4 → 3 bars
        assert_eq!(s.note_count, 3);
        assert!((s.tempo_bpm - 100.0).abs() < 0.01);
        let back = notes_in_beats(&song);
        assert_eq!(back[2].start_beats, 5.5);
    }

    #[test]
    fn out_of_range_input_is_refused() {
        let limits = Limits {
            max_notes: 2,
            ..Limits::default()
        };
        let three = input(vec![note(60, 0.0, 1.0); 3]);
        assert!(matches!(
            song_from_notes(&three, &limits),
            Err(Error::Validation(_))
        ));
        let bad_pitch = input(vec![note(128, 0.0, 1.0)]);
        assert!(song_from_notes(&bad_pitch, &Limits::default()).is_err());
        let too_long = input(vec![note(60, 3.0 * 256.0, 1.0)]);
        assert!(song_from_notes(&too_long, &Limits::default()).is_err());
        let mut bad_meter = input(vec![note(60, 0.0, 1.0)]);
        bad_meter.meter.denominator = 3;
        assert!(song_from_notes(&bad_meter, &Limits::default()).is_err());
        assert!(song_from_notes(&input(vec![]), &Limits::default()).is_err());
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        assert_eq!(role_name(TrackRole::Drums), "drums");
        assert_eq!(parse_role("Bass").unwrap(), TrackRole::Bass);
        assert!(parse_role("kazoo").is_err());
    }

    #[test]
    fn roll_is_in_beats_and_whole_bars() {
        let song = song_from_notes(&input(vec![note(60, 0.0, 4.0)]), &Limits::default()).unwrap();
        let roll = roll_of(&song);
        assert_eq!(roll.beats_per_bar, 3.0);
        assert_eq!(roll.total_beats, 6.0);
        assert_eq!(roll.tracks[0].role, "melody");
        assert_eq!(roll.tracks[0].notes[0].duration, 4.0);
    }
}
