//! The step grid and the bar structure: where a song's ticks become the discrete steps the piano
//! roll, the model and the metrics count in.
//!
//! # Quantization
//! A [`Grid`] has `steps_per_beat` steps per quarter note (4 = sixteenths, 12 = sixteenth
//! triplets and swing). A note's onset goes to the *nearest* step (halfway rounds up); its
//! duration is rounded to the nearest whole number of steps on its own (so a long note keeps its
//! length even when its onset moved), and is never shorter than one step.
//!
//! # Bars
//! [`Song::bars`] walks the meter map. The rules, in order:
//! 1. Every meter event starts a new bar, even one that restates the meter in force. A bar that
//!    a meter event interrupts ends there, short. This is how notation programs write a pickup
//!    (anacrusis) into MIDI: a short meter such as 1/4 at tick 0 followed by the real meter, or
//!    the real meter restated off the bar line. Such a short first bar is the song's pickup
//!    ([`Song::pickup`]).
//! 2. A pickup that a file writes as a full first bar padded with rests (the first notes start
//!    late in bar 0) keeps that full bar: its bar lines already fall on the downbeats, and moving
//!    them by where the first note happens to start would misalign every song that merely
//!    begins with a rest. [`Song::pickup`] still reports it, measured from the first note.
//! 3. Bars cover the whole song: from tick 0 to the end of the last note (a zero-length note
//!    counts as one tick), the last bar running to its full length. A song without notes has no
//!    bars.
//!
//! Bar `i` covers steps `[step(start_tick), step(start_tick + ticks))` with onsets' nearest-step
//! rounding, so the bars of a song tile its steps without gaps even when a bar is not a whole
//! number of steps long.

use crate::song::{Meter, Note, Song};
use serde::{Deserialize, Serialize};

/// Most bars [`Song::bars`] returns. Reading limits (file size, notes, minutes) bound real songs
/// far below this (60 minutes at 300 BPM in 4/4 is 4,500 bars); the cap keeps a song whose
/// tempo map lies from costing unbounded memory.
pub const MAX_BARS: usize = 1 << 20;

/// A step grid: how finely a beat (a quarter note) is divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grid {
    /// Steps per quarter note: 4 (sixteenths) by default, 12 for triplets.
    pub steps_per_beat: u32,
}

impl Default for Grid {
    fn default() -> Self {
        Grid::SIXTEENTHS
    }
}

/// A note on the grid: onset and length in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StepNote {
    pub start_step: u64,
    /// At least 1.
    pub duration_steps: u64,
    pub pitch: u8,
    pub velocity: u8,
}

impl StepNote {
    /// First step after the note.
    pub fn end_step(&self) -> u64 {
        self.start_step + self.duration_steps
    }
}

impl Grid {
    /// Four steps per beat: sixteenth notes in 4/4.
    pub const SIXTEENTHS: Grid = Grid { steps_per_beat: 4 };
    /// Twelve steps per beat: holds both sixteenths and sixteenth triplets.
    pub const TRIPLETS: Grid = Grid { steps_per_beat: 12 };

    /// A grid with `steps_per_beat` steps per quarter note (at least 1).
    pub fn new(steps_per_beat: u32) -> Grid {
        Grid {
            steps_per_beat: steps_per_beat.max(1),
        }
    }

    /// The step nearest to `tick` (halfway rounds up).
    pub fn nearest_step(&self, tick: u64, ticks_per_beat: u16) -> u64 {
        let tpb = u128::from(ticks_per_beat.max(1));
        let scaled = u128::from(tick) * u128::from(self.steps_per_beat.max(1));
        saturate((scaled * 2 + tpb) / (2 * tpb))
    }

    /// A length in ticks as a whole number of steps, rounded to nearest (0 stays 0).
    pub fn length_in_steps(&self, ticks: u64, ticks_per_beat: u16) -> u64 {
        self.nearest_step(ticks, ticks_per_beat)
    }

    /// The tick where `step` begins, rounded to the nearest tick. Exact when `ticks_per_beat` is
    /// a multiple of `steps_per_beat`; whenever `ticks_per_beat >= steps_per_beat`,
    /// [`Grid::nearest_step`] of the result gives `step` back.
    pub fn step_to_tick(&self, step: u64, ticks_per_beat: u16) -> u64 {
        let spb = u128::from(self.steps_per_beat.max(1));
        let scaled = u128::from(step) * u128::from(ticks_per_beat);
        saturate((scaled * 2 + spb) / (2 * spb))
    }

    /// A note on this grid: onset to the nearest step, duration rounded to nearest, at least 1.
    pub fn quantize(&self, note: &Note, ticks_per_beat: u16) -> StepNote {
        StepNote {
            start_step: self.nearest_step(note.start, ticks_per_beat),
            duration_steps: self.length_in_steps(note.duration, ticks_per_beat).max(1),
            pitch: note.pitch,
            velocity: note.velocity,
        }
    }

    /// Steps in one full bar of `numerator/denominator`, or `None` when the bar is not a whole
    /// number of steps (e.g. 5/32 on a grid of 4 steps per beat). 4/4 → 16, 3/4 → 12 and
    /// 6/8 → 12 at 4 steps per beat.
    pub fn steps_per_bar(&self, numerator: u8, denominator: u8) -> Option<u32> {
        if numerator == 0 || denominator == 0 {
            return None;
        }
        // A bar is numerator × (4 / denominator) quarter notes.
        let scaled = u64::from(numerator) * 4 * u64::from(self.steps_per_beat);
        let denominator = u64::from(denominator);
        (scaled % denominator == 0)
            .then(|| u32::try_from(scaled / denominator).ok())
            .flatten()
    }
}

fn saturate(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// One bar of a song, in the meter in force where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub start_tick: u64,
    /// Length in ticks; shorter than [`Bar::full_ticks`] where a meter event cut it short.
    pub ticks: u64,
    pub numerator: u8,
    pub denominator: u8,
}

impl Bar {
    /// First tick after the bar.
    pub fn end_tick(&self) -> u64 {
        self.start_tick.saturating_add(self.ticks)
    }

    /// Ticks in a complete bar of this bar's meter.
    pub fn full_ticks(&self, ticks_per_beat: u16) -> u64 {
        full_bar_ticks(self.numerator, self.denominator, ticks_per_beat)
    }

    /// Whether a meter event cut this bar short (a pickup, or a bar before a meter change that
    /// falls off the bar line).
    pub fn is_partial(&self, ticks_per_beat: u16) -> bool {
        self.ticks < self.full_ticks(ticks_per_beat)
    }

    /// The steps this bar covers on `grid` (see the module docs for the rounding).
    pub fn step_range(&self, grid: Grid, ticks_per_beat: u16) -> std::ops::Range<u64> {
        grid.nearest_step(self.start_tick, ticks_per_beat)
            ..grid.nearest_step(self.end_tick(), ticks_per_beat)
    }
}

/// Ticks in a full bar of `numerator/denominator`, at least 1 so that bar walks always advance.
pub fn full_bar_ticks(numerator: u8, denominator: u8, ticks_per_beat: u16) -> u64 {
    let scaled = u64::from(numerator) * 4 * u64::from(ticks_per_beat);
    let denominator = u64::from(denominator.max(1));
    ((scaled + denominator / 2) / denominator).max(1)
}

/// Swing: moves `tick` within its quarter-note beat so that the off-beat eighth comes `amount`
/// of an eighth later (0 straight, 1/3 the triplet feel of jazz). The two halves of the beat
/// stretch and shrink linearly around it, so sixteenths move in proportion and beats stay put.
pub fn swing_tick(tick: u64, ticks_per_beat: u64, amount: f64) -> u64 {
    let ticks_per_beat = ticks_per_beat.max(1);
    let beat_start = tick / ticks_per_beat * ticks_per_beat;
    let fraction = (tick - beat_start) as f64 / ticks_per_beat as f64;
    let pivot = 0.5 + amount / 2.0;
    let warped = if fraction < 0.5 {
        fraction / 0.5 * pivot
    } else {
        pivot + (fraction - 0.5) / 0.5 * (1.0 - pivot)
    };
    beat_start + (warped * ticks_per_beat as f64).round() as u64
}

/// A note's `(start, end)` swung by `amount` ([`swing_tick`]) where the meter in force at its
/// start counts quarter notes or longer (4/4, 3/4, 2/2). In eighth-note meters such as 6/8 the
/// beat is a dotted quarter, so the span stays straight. The end never moves before the start.
pub fn swing_span(
    meters: &[Meter],
    start: u64,
    end: u64,
    ticks_per_beat: u64,
    amount: f64,
) -> (u64, u64) {
    let denominator = meters
        .iter()
        .rev()
        .find(|meter| meter.tick <= start)
        .map_or(4, |meter| meter.denominator.max(1));
    if amount <= 0.0 || denominator > 4 {
        return (start, end);
    }
    let start = swing_tick(start, ticks_per_beat, amount);
    (
        start,
        swing_tick(end, ticks_per_beat, amount).max(start + 1),
    )
}

/// A song's anacrusis: the notes before the first full bar's downbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pickup {
    /// Ticks from the first note to the first downbeat after it.
    pub ticks: u64,
    /// `true` when the file wrote it as a short first bar, `false` when as a full first bar
    /// padded with rests.
    pub short_bar: bool,
}

impl Song {
    /// The song's bars from its meter map, by the rules in the [module docs](self): every meter
    /// event starts a bar, bars cover tick 0 to the end of the last note, at most [`MAX_BARS`].
    pub fn bars(&self) -> Vec<Bar> {
        // A zero-length note still needs a bar to start in.
        let end = self
            .tracks
            .iter()
            .flat_map(|track| &track.notes)
            .map(|note| note.start.saturating_add(note.duration.max(1)))
            .max()
            .unwrap_or(0);
        let mut bars = Vec::new();
        if end == 0 {
            return bars;
        }
        let mut meters: Vec<_> = self.meters.clone();
        meters.sort_by_key(|meter| meter.tick);
        // The map promises an entry at tick 0; a song built without one gets 4/4 before its
        // first meter event.
        let mut numerator = 4;
        let mut denominator = 4;
        let mut next_meter = 0;
        let mut tick = 0u64;
        while tick < end && bars.len() < MAX_BARS {
            while next_meter < meters.len() && meters[next_meter].tick <= tick {
                numerator = meters[next_meter].numerator;
                denominator = meters[next_meter].denominator;
                next_meter += 1;
            }
            let mut ticks = full_bar_ticks(numerator, denominator, self.ticks_per_beat);
            if let Some(meter) = meters.get(next_meter) {
                ticks = ticks.min(meter.tick - tick);
            }
            bars.push(Bar {
                start_tick: tick,
                ticks,
                numerator,
                denominator,
            });
            tick = tick.saturating_add(ticks);
        }
        bars
    }

    /// The pickup (anacrusis), if the song has one: a first bar cut short by a meter event or
    /// shorter than the bar after it (rule 1 of the module docs), or a full first bar whose first
    /// note starts after its downbeat (rule 2).
    pub fn pickup(&self) -> Option<Pickup> {
        let bars = self.bars();
        let first = bars.first()?;
        let first_onset = self
            .tracks
            .iter()
            .flat_map(|track| &track.notes)
            .map(|note| note.start)
            .min()?;
        if first_onset >= first.end_tick() {
            return None;
        }
        let shorter_than_next = bars.get(1).is_some_and(|next| first.ticks < next.ticks);
        if first.is_partial(self.ticks_per_beat) || shorter_than_next {
            let ticks = first.end_tick() - first_onset;
            return Some(Pickup {
                ticks,
                short_bar: true,
            });
        }
        (first_onset > first.start_tick).then(|| Pickup {
            ticks: first.end_tick() - first_onset,
            short_bar: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::song::{Meter, Track, TrackRole};

    pub(crate) fn song_with(meters: &[(u64, u8, u8)], notes: &[(u8, u64, u64)]) -> Song {
        Song {
            ticks_per_beat: 480,
            tempos: vec![],
            meters: meters
                .iter()
                .map(|&(tick, numerator, denominator)| Meter {
                    tick,
                    numerator,
                    denominator,
                })
                .collect(),
            key_signatures: vec![],
            tracks: vec![Track {
                name: "lead".into(),
                program: 0,
                channel: 0,
                is_drum: false,
                role: TrackRole::Melody,
                notes: notes
                    .iter()
                    .map(|&(pitch, start, duration)| Note {
                        pitch,
                        velocity: 90,
                        start,
                        duration,
                    })
                    .collect(),
            }],
            texts: vec![],
        }
    }

    #[test]
    fn steps_per_bar_for_common_meters() {
        let grid = Grid::default();
        assert_eq!(grid.steps_per_bar(4, 4), Some(16));
        assert_eq!(grid.steps_per_bar(3, 4), Some(12));
        assert_eq!(grid.steps_per_bar(6, 8), Some(12));
        assert_eq!(grid.steps_per_bar(7, 8), Some(14));
        assert_eq!(grid.steps_per_bar(2, 2), Some(16));
        assert_eq!(grid.steps_per_bar(5, 32), None);
        assert_eq!(Grid::TRIPLETS.steps_per_bar(4, 4), Some(48));
        assert_eq!(Grid::TRIPLETS.steps_per_bar(6, 8), Some(36));
    }

    #[test]
    fn onsets_go_to_the_nearest_step_and_durations_are_at_least_one() {
        let grid = Grid::default();
        // 120 ticks per sixteenth at 480 ticks per beat; 59 rounds down, 60 rounds up.
        assert_eq!(grid.nearest_step(59, 480), 0);
        assert_eq!(grid.nearest_step(60, 480), 1);
        assert_eq!(grid.nearest_step(479, 480), 4);
        let note = Note {
            pitch: 60,
            velocity: 80,
            start: 470,
            duration: 10,
        };
        let quantized = grid.quantize(&note, 480);
        assert_eq!((quantized.start_step, quantized.duration_steps), (4, 1));
        let long = Note {
            duration: 900,
            ..note
        };
        assert_eq!(grid.quantize(&long, 480).duration_steps, 8);
    }

    #[test]
    fn step_to_tick_inverts_nearest_step_when_ticks_are_finer_than_steps() {
        for (grid, tpb) in [
            (Grid::default(), 480),
            (Grid::TRIPLETS, 96),
            (Grid::TRIPLETS, 100),
            (Grid::default(), 5),
        ] {
            for step in 0..200 {
                let tick = grid.step_to_tick(step, tpb);
                assert_eq!(grid.nearest_step(tick, tpb), step, "{grid:?} at {tpb}");
            }
        }
    }

    #[test]
    fn bars_follow_meter_changes_and_cover_the_song() {
        // Two bars of 4/4, then 3/4 for the rest; the last note ends inside bar 4 (3/4).
        let song = song_with(
            &[(0, 4, 4), (3840, 3, 4)],
            &[(60, 0, 100), (62, 3840 + 1440 + 10, 10)],
        );
        let bars = song.bars();
        let starts: Vec<_> = bars.iter().map(|bar| bar.start_tick).collect();
        assert_eq!(starts, vec![0, 1920, 3840, 5280]);
        assert_eq!(bars[3].ticks, 1440);
        assert_eq!((bars[3].numerator, bars[3].denominator), (3, 4));
        assert!(bars.iter().all(|bar| !bar.is_partial(480)));
        let grid = Grid::default();
        let steps: Vec<_> = bars.iter().map(|bar| bar.step_range(grid, 480)).collect();
        assert_eq!(steps, vec![0..16, 16..32, 32..44, 44..56]);
        assert_eq!(song.pickup(), None);
    }

    #[test]
    fn a_short_meter_at_the_start_is_a_pickup() {
        // 1/4 pickup, then 4/4.
        let song = song_with(&[(0, 1, 4), (480, 4, 4)], &[(67, 0, 480), (72, 480, 1920)]);
        let bars = song.bars();
        assert_eq!(bars.len(), 2);
        assert_eq!((bars[0].ticks, bars[0].numerator), (480, 1));
        assert!(
            !bars[0].is_partial(480),
            "a 1/4 bar is complete in its own meter"
        );
        let pickup = song.pickup().expect("pickup");
        assert_eq!(pickup.ticks, 480);
    }

    #[test]
    fn a_meter_event_before_a_full_bar_cuts_the_bar_short() {
        // 4/4 written at tick 0 and restated at tick 480: the first bar is one beat long.
        let song = song_with(&[(0, 4, 4), (480, 4, 4)], &[(67, 0, 480), (72, 480, 1920)]);
        let bars = song.bars();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].ticks, 480);
        assert!(bars[0].is_partial(480));
        assert_eq!(
            song.pickup(),
            Some(Pickup {
                ticks: 480,
                short_bar: true
            })
        );
        // A meter change in the middle of a bar cuts that bar too.
        let song = song_with(&[(0, 4, 4), (2400, 3, 4)], &[(60, 0, 4000)]);
        let ticks: Vec<_> = song.bars().iter().map(|bar| bar.ticks).collect();
        assert_eq!(ticks, vec![1920, 480, 1440, 1440]);
    }

    #[test]
    fn a_padded_pickup_keeps_its_full_bar() {
        let song = song_with(&[(0, 4, 4)], &[(67, 1440, 480), (72, 1920, 1920)]);
        let bars = song.bars();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].ticks, 1920);
        assert_eq!(
            song.pickup(),
            Some(Pickup {
                ticks: 480,
                short_bar: false
            })
        );
        // Whole silent bars before the first note are leading silence, not a pickup.
        let song = song_with(&[(0, 4, 4)], &[(72, 1920, 1920)]);
        assert_eq!(song.pickup(), None);
    }

    #[test]
    fn an_empty_song_has_no_bars_and_a_lying_meter_map_is_bounded() {
        assert!(song_with(&[(0, 4, 4)], &[]).bars().is_empty());
        let mut song = song_with(&[(0, 1, 32)], &[(60, 0, u64::MAX / 2)]);
        song.ticks_per_beat = 1;
        assert_eq!(song.bars().len(), MAX_BARS);
        // Meters missing at tick 0 fall back to 4/4.
        let song = song_with(&[(1920, 3, 4)], &[(60, 0, 3000)]);
        let bars = song.bars();
        assert_eq!((bars[0].numerator, bars[0].ticks), (4, 1920));
        assert_eq!((bars[1].numerator, bars[1].ticks), (3, 1440));
    }

    #[test]
    fn swing_moves_the_off_beat_eighth_and_keeps_the_beats() {
        // At 480 ticks per beat the off-beat eighth (240) moves a third of an eighth later.
        assert_eq!(swing_tick(240, 480, 1.0 / 3.0), 320);
        assert_eq!(swing_tick(960, 480, 1.0 / 3.0), 960);
        assert_eq!(swing_tick(960 + 240, 480, 1.0 / 3.0), 960 + 320);
        // Straight stays straight; the sixteenth after the beat stretches with the first half.
        assert_eq!(swing_tick(360, 480, 0.0), 360);
        assert_eq!(swing_tick(120, 480, 1.0 / 3.0), 160);
    }
}
