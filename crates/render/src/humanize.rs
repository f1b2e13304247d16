//! Humanized performance: a generated arrangement has every note exactly on the grid at one
//! velocity, which sounds mechanical. This shapes velocities by where a note falls in the bar
//! and by the part's role, optionally swings off-beat eighths, and nudges timing by a few
//! milliseconds — all from a seed, so the same seed gives the same performance.
//!
//! Randomness is a hash of (seed, track, note) rather than a stream, so one note's offset does
//! not depend on how many notes came before it. The melody is left alone by default: it is the
//! person's own input and Orchestrion copies it through note for note.

use orchestrion_music::grid::swing_span;
use orchestrion_music::{Note, Song, Track, TrackRole};

/// How to humanize. [`HumanizeOptions::new`] gives the defaults used for audio.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanizeOptions {
    /// Same seed, same performance.
    pub seed: u64,
    /// Delay of off-beat eighths as a fraction of an eighth: 0 straight, 1/3 triplet swing,
    /// 0.5 dotted-eighth feel. Applies to x/2 and x/4 meters (quarter-note beats).
    pub swing: f32,
    /// Scale of the velocity shaping and jitter (0 = velocities unchanged).
    pub velocity_amount: f32,
    /// Largest timing offset in milliseconds (0 = timing unchanged apart from swing).
    pub timing_ms: f32,
    /// Also humanize tracks with the melody role.
    pub include_melody: bool,
}

impl HumanizeOptions {
    /// Defaults: no swing, full velocity shaping, offsets up to 12 ms, melody untouched.
    pub fn new(seed: u64) -> Self {
        HumanizeOptions {
            seed,
            swing: 0.0,
            velocity_amount: 1.0,
            timing_ms: 12.0,
            include_melody: false,
        }
    }
}

/// Timing resolution humanized songs get at least, so millisecond offsets are representable.
const MIN_TICKS_PER_BEAT: u16 = 480;

/// A humanized copy of `song` (tempo, meters and track list unchanged; ticks per beat raised
/// to at least 480 when lower).
pub fn humanize(song: &Song, options: &HumanizeOptions) -> Song {
    let mut song = upscale(song);
    let swing = options.swing.clamp(0.0, 0.5) as f64;
    // Tracks are taken out so the song (its tempo map) can be read while they change.
    let mut tracks = std::mem::take(&mut song.tracks);
    for (track_index, track) in tracks.iter_mut().enumerate() {
        if track.role == TrackRole::Melody && !options.include_melody {
            continue;
        }
        let role = RoleFeel::of(track);
        let ticks_per_beat = u64::from(song.ticks_per_beat);
        let mut notes: Vec<Note> = Vec::with_capacity(track.notes.len());
        for (note_index, note) in track.notes.iter().enumerate() {
            let (start, end) = swing_span(
                &song.meters,
                note.start,
                note.start + note.duration.max(1),
                ticks_per_beat,
                swing,
            );
            let accent = metric_accent(&song.meters, ticks_per_beat, note.start);
            let key = [options.seed, track_index as u64, note_index as u64];
            let jitter = triangular(hash(&key, 1)) * 6.0;
            let shaped = f32::from(note.velocity)
                + options.velocity_amount
                    * (role.accent(note.pitch) * accent + jitter * role.jitter);
            let velocity = shaped.round().clamp(1.0, 127.0) as u8;
            // Notes struck together (a chord) move together, plus a hair of spread.
            let group = [options.seed, track_index as u64, note.start];
            let offset_ms = options.timing_ms
                * role.timing
                * (0.85 * triangular(hash(&group, 2)) + 0.15 * triangular(hash(&key, 3)));
            // The tempo in force at `start`, from the song's one tempo map.
            let per_tick =
                (song.tick_to_seconds(start + 1) - song.tick_to_seconds(start)).max(1e-9);
            let offset = (f64::from(offset_ms) / 1000.0 / per_tick).round() as i64;
            let moved_start = start.saturating_add_signed(offset);
            let moved_end = end.saturating_add_signed(offset).max(moved_start + 1);
            notes.push(Note {
                pitch: note.pitch,
                velocity,
                start: moved_start,
                duration: moved_end - moved_start,
            });
        }
        notes.sort_by_key(|note| (note.start, note.pitch));
        trim_overlaps(&mut notes);
        track.notes = notes;
    }
    song.tracks = tracks;
    song
}

/// Raises ticks per beat to [`MIN_TICKS_PER_BEAT`] by a whole factor (times stay exact).
fn upscale(song: &Song) -> Song {
    let mut song = song.clone();
    let current = song.ticks_per_beat.max(1);
    if current >= MIN_TICKS_PER_BEAT {
        return song;
    }
    let factor = MIN_TICKS_PER_BEAT.div_ceil(current);
    let scale = u64::from(factor);
    song.ticks_per_beat = current * factor;
    song.tempos.iter_mut().for_each(|t| t.tick *= scale);
    song.meters.iter_mut().for_each(|m| m.tick *= scale);
    song.key_signatures.iter_mut().for_each(|k| k.tick *= scale);
    for note in song
        .tracks
        .iter_mut()
        .flat_map(|track| track.notes.iter_mut())
    {
        note.start *= scale;
        note.duration *= scale;
    }
    song
}

/// (meter start tick, written denominator, numerator) in force at `tick`.
fn meter_at(meters: &[orchestrion_music::Meter], tick: u64) -> (u64, u8, u8) {
    meters
        .iter()
        .rev()
        .find(|meter| meter.tick <= tick)
        .map_or((0, 4, 4), |meter| {
            (meter.tick, meter.denominator.max(1), meter.numerator.max(1))
        })
}

/// Velocity offset (before role scaling) for a note starting at `tick`: downbeats strongest,
/// then the bar's other strong beats, then plain beats; off-beat eighths and sixteenths softer.
fn metric_accent(meters: &[orchestrion_music::Meter], ticks_per_beat: u64, tick: u64) -> f32 {
    let (meter_start, denominator, numerator) = meter_at(meters, tick);
    let beat = (ticks_per_beat * 4 / u64::from(denominator)).max(1);
    let bar = beat * u64::from(numerator);
    let in_bar = (tick - meter_start) % bar;
    let beat_index = in_bar / beat;
    let fraction = (in_bar % beat) as f64 / beat as f64;
    let near = |target: f64| (fraction - target).abs() < 1.0 / 24.0;
    let compound = denominator == 8 && numerator % 3 == 0 && numerator > 3;
    if near(0.0) || near(1.0) {
        let strong = if compound {
            beat_index.is_multiple_of(3)
        } else {
            numerator % 2 == 0 && beat_index == u64::from(numerator) / 2
        };
        if beat_index == 0 {
            10.0
        } else if strong {
            5.0
        } else {
            1.5
        }
    } else if near(0.5) {
        -4.0
    } else if near(0.25) || near(0.75) {
        -7.0
    } else {
        -2.0
    }
}

/// How strongly a role follows the accents, how much it wanders in velocity and timing.
struct RoleFeel {
    accent_scale: f32,
    jitter: f32,
    timing: f32,
    is_drum: bool,
}

impl RoleFeel {
    fn of(track: &Track) -> Self {
        let (accent_scale, jitter, timing) = match track.role {
            _ if track.is_drum => (1.0, 1.0, 0.4),
            TrackRole::Drums => (1.0, 1.0, 0.4),
            TrackRole::Bass => (0.6, 0.7, 0.6),
            TrackRole::Piano | TrackRole::Guitar => (0.8, 1.0, 1.0),
            TrackRole::Strings | TrackRole::Pad => (0.3, 0.5, 1.5),
            TrackRole::Brass | TrackRole::Reed => (0.7, 0.8, 1.0),
            TrackRole::Melody => (0.5, 0.6, 0.8),
            TrackRole::Other => (0.6, 0.8, 1.0),
        };
        RoleFeel {
            accent_scale,
            jitter,
            timing,
            is_drum: track.is_drum,
        }
    }

    fn accent(&self, pitch: u8) -> f32 {
        // Hi-hats and rides carry the off-beat pattern most; kick and snare stay solid.
        let drum_scale = match pitch {
            42 | 44 | 46 | 51 | 59 => 1.4,
            35 | 36 | 38 | 40 => 0.6,
            _ => 1.0,
        };
        self.accent_scale * if self.is_drum { drum_scale } else { 1.0 }
    }
}

/// Shortens a note that would still sound when the same pitch strikes again, so the next
/// note's attack is not cut by the previous note's release.
fn trim_overlaps(notes: &mut [Note]) {
    let mut next_start_by_pitch = [u64::MAX; 128];
    for note in notes.iter_mut().rev() {
        let next = next_start_by_pitch[usize::from(note.pitch & 0x7f)];
        if note.start + note.duration > next {
            note.duration = next.saturating_sub(note.start).max(1);
        }
        next_start_by_pitch[usize::from(note.pitch & 0x7f)] = note.start;
    }
}

/// SplitMix64 over the key words and a salt: uniform 64-bit value per (key, salt).
fn hash(words: &[u64], salt: u64) -> u64 {
    let mut state = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &word in words {
        state ^= word;
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        state = z ^ (z >> 31);
    }
    state
}

/// A value in (-1, 1), more often near 0 (sum of two uniforms), from 64 random bits.
fn triangular(bits: u64) -> f32 {
    let a = (bits >> 40) as f32 / (1u64 << 24) as f32;
    let b = (bits & 0xff_ffff) as f32 / (1u64 << 24) as f32;
    a + b - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrion_music::{Meter, TempoChange};

    fn song(tpb: u16, role: TrackRole, notes: Vec<Note>) -> Song {
        Song {
            ticks_per_beat: tpb,
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
                name: "t".into(),
                program: 0,
                channel: 0,
                is_drum: false,
                role,
                notes,
            }],
            texts: vec![],
        }
    }

    fn eighths(tpb: u64, bars: u64) -> Vec<Note> {
        (0..bars * 8)
            .map(|i| Note {
                pitch: 60,
                velocity: 80,
                start: i * tpb / 2,
                duration: tpb / 2,
            })
            .collect()
    }

    #[test]
    fn swing_moves_only_off_beats_by_the_fraction() {
        let mut options = HumanizeOptions::new(1);
        options.timing_ms = 0.0;
        options.velocity_amount = 0.0;
        options.swing = 1.0 / 3.0;
        let out = humanize(&song(480, TrackRole::Piano, eighths(480, 1)), &options);
        let starts: Vec<u64> = out.tracks[0].notes.iter().map(|n| n.start).collect();
        // Off-beat eighth at 240 moves by a third of an eighth (80 ticks) to 320.
        assert_eq!(starts, vec![0, 320, 480, 800, 960, 1280, 1440, 1760]);
        assert!(out.tracks[0].notes.iter().all(|n| n.velocity == 80));
    }

    #[test]
    fn downbeats_end_up_louder_than_offbeats_on_average() {
        let out = humanize(
            &song(480, TrackRole::Piano, eighths(480, 16)),
            &HumanizeOptions::new(7),
        );
        let mean = |keep: &dyn Fn(u64) -> bool| {
            let chosen: Vec<f32> = out.tracks[0]
                .notes
                .iter()
                .zip(eighths(480, 16))
                .filter(|(_, original)| keep(original.start))
                .map(|(note, _)| f32::from(note.velocity))
                .collect();
            chosen.iter().sum::<f32>() / chosen.len() as f32
        };
        let downbeats = mean(&|start| start % 1920 == 0);
        let offbeats = mean(&|start| start % 480 == 240);
        assert!(downbeats > offbeats + 8.0, "{downbeats} vs {offbeats}");
    }

    #[test]
    fn timing_offsets_stay_within_the_limit_and_melody_is_untouched() {
        let options = HumanizeOptions::new(3);
        let original = song(96, TrackRole::Bass, eighths(96, 8));
        let out = humanize(&original, &options);
        assert_eq!(out.ticks_per_beat, 480);
        let mut moved = 0;
        for (note, before) in out.tracks[0].notes.iter().zip(&original.tracks[0].notes) {
            let ideal = before.start as i64 * 5;
            let delta_ms = (note.start as i64 - ideal) as f64 * 500.0 / 480.0;
            assert!(
                delta_ms.abs() <= f64::from(options.timing_ms) + 1.1,
                "{delta_ms} ms"
            );
            moved += usize::from(delta_ms.abs() > 0.5);
        }
        assert!(moved > 10, "timing barely changed");
        let melody = song(480, TrackRole::Melody, eighths(480, 2));
        assert_eq!(humanize(&melody, &options).tracks, melody.tracks);
    }

    #[test]
    fn same_seed_same_result_other_seed_differs() {
        let original = song(480, TrackRole::Guitar, eighths(480, 8));
        let a = humanize(&original, &HumanizeOptions::new(42));
        let b = humanize(&original, &HumanizeOptions::new(42));
        let c = humanize(&original, &HumanizeOptions::new(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
