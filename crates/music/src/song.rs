//! The in-memory model of a piece: what a MIDI file says, in a form the rest of Orchestrion can use.

use serde::{Deserialize, Serialize};

/// What a track does in an arrangement. The model generates one part per role; the melody is the
/// conditioning input and is never generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackRole {
    Melody,
    Drums,
    Bass,
    Piano,
    Guitar,
    Strings,
    Pad,
    Brass,
    Reed,
    Other,
}

/// One note. Times are in ticks of the owning [`Song`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Note {
    pub pitch: u8,
    pub velocity: u8,
    pub start: u64,
    pub duration: u64,
}

/// One part: a MIDI track (or one channel of a format-0 file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub name: String,
    /// General MIDI program (0–127) from the first program change; 0 when none.
    pub program: u8,
    /// MIDI channel 0–15 the notes were on (9 = drums).
    pub channel: u8,
    pub is_drum: bool,
    pub role: TrackRole,
    /// Sorted by (start, pitch).
    pub notes: Vec<Note>,
}

/// A tempo change at `tick`, in microseconds per quarter note (MIDI's own unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TempoChange {
    pub tick: u64,
    pub micros_per_beat: u32,
}

/// A time signature in force from `tick` (numerator / 2^denominator_pow as written, e.g. 6/8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub tick: u64,
    pub numerator: u8,
    /// The written denominator (4 for x/4, 8 for x/8).
    pub denominator: u8,
}

/// A key-signature event as written in the file (not an estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySignature {
    pub tick: u64,
    /// Sharps (positive) or flats (negative), -7..=7.
    pub sharps: i8,
    pub minor: bool,
}

/// A whole piece. Tempo and meter maps are sorted by tick and always have an entry at tick 0
/// (defaults 120 BPM and 4/4 when the file has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Song {
    pub ticks_per_beat: u16,
    pub tempos: Vec<TempoChange>,
    pub meters: Vec<Meter>,
    pub key_signatures: Vec<KeySignature>,
    pub tracks: Vec<Track>,
    /// Free text carried into the file as text meta events (e.g. seed and model hash).
    pub texts: Vec<String>,
}

impl TempoChange {
    /// MIDI's default tempo (120 beats per minute), in force when a file has no tempo event.
    pub const DEFAULT_MICROS_PER_BEAT: u32 = 500_000;

    /// Beats per minute of this tempo.
    pub fn bpm(&self) -> f64 {
        60_000_000.0 / f64::from(self.micros_per_beat.max(1))
    }
}

impl Song {
    /// Seconds from the start of the piece to `tick`, following the tempo map.
    ///
    /// Tempo entries are expected sorted by tick (the reader guarantees it); before the first
    /// entry the MIDI default of 120 BPM applies.
    pub fn tick_to_seconds(&self, tick: u64) -> f64 {
        let ticks_per_beat = f64::from(self.ticks_per_beat.max(1));
        let mut seconds = 0.0;
        let mut segment_start = 0u64;
        let mut micros_per_beat = TempoChange::DEFAULT_MICROS_PER_BEAT;
        for change in &self.tempos {
            if change.tick >= tick {
                break;
            }
            let ticks = change.tick.saturating_sub(segment_start);
            seconds += ticks as f64 * f64::from(micros_per_beat) / ticks_per_beat / 1e6;
            segment_start = segment_start.max(change.tick);
            micros_per_beat = change.micros_per_beat;
        }
        let ticks = tick.saturating_sub(segment_start);
        seconds + ticks as f64 * f64::from(micros_per_beat) / ticks_per_beat / 1e6
    }

    /// The tick where the last note ends (0 for a song without notes).
    pub fn end_tick(&self) -> u64 {
        self.tracks
            .iter()
            .flat_map(|track| track.notes.iter())
            .map(|note| note.start.saturating_add(note.duration))
            .max()
            .unwrap_or(0)
    }

    /// Playing time in seconds, up to the end of the last note.
    pub fn duration_seconds(&self) -> f64 {
        self.tick_to_seconds(self.end_tick())
    }

    /// Number of notes over all tracks.
    pub fn note_count(&self) -> usize {
        self.tracks.iter().map(|track| track.notes.len()).sum()
    }
}

impl Note {
    /// The tick just after the note ends.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.duration)
    }
}
