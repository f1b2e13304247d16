//! Bars of a song on the step grid: where each bar starts, how long it is and in which meter.
//!
//! Windows are made of whole bars of the song's own meter, so the dataset needs the bar map
//! before it can cut anything. A meter change in the middle of a bar cuts that bar short; a
//! short bar (a pickup, a cut bar) is marked not `whole` and never enters a window.

use crate::recipe::{MeterSig, bar_steps_of};
use orchestrion_music::Song;

/// One bar on the step grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// First step of the bar (steps counted from tick 0).
    pub start_step: u64,
    /// Length in steps.
    pub steps: u32,
    /// The time signature in force, as written.
    pub meter: MeterSig,
    /// The bar has the full length its meter gives it.
    pub whole: bool,
}

/// Step of a tick on a grid of `steps_per_beat`, rounded to the nearest step (ties go later).
pub fn tick_to_step(tick: u64, ticks_per_beat: u16, steps_per_beat: u32) -> u64 {
    let tpb = u128::from(ticks_per_beat.max(1));
    let scaled = u128::from(tick) * u128::from(steps_per_beat) * 2 + tpb;
    u64::try_from(scaled / (2 * tpb)).unwrap_or(u64::MAX)
}

/// The bars covering ticks `0..end_tick`, from the song's meter map or from `force` (a single
/// meter from tick 0, for corpora whose time signatures are wrong).
pub fn bars(song: &Song, force: Option<MeterSig>, steps_per_beat: u32, end_tick: u64) -> Vec<Bar> {
    let tpb = u64::from(song.ticks_per_beat.max(1));
    let mut segments: Vec<(u64, MeterSig)> = match force {
        Some(meter) => vec![(0, meter)],
        None => song
            .meters
            .iter()
            .map(|m| (m.tick, (m.numerator, m.denominator)))
            .collect(),
    };
    if segments.first().is_none_or(|&(tick, _)| tick > 0) {
        segments.insert(0, (0, (4, 4)));
    }
    let mut starts: Vec<(u64, MeterSig)> = Vec::new();
    for (i, &(tick, meter)) in segments.iter().enumerate() {
        let segment_end = segments.get(i + 1).map_or(end_tick, |&(next, _)| next);
        let bar_ticks = u64::from(meter.0) * 4 * tpb / u64::from(meter.1.max(1));
        if bar_ticks == 0 || segment_end <= tick {
            continue;
        }
        let mut start = tick;
        while start < segment_end {
            starts.push((start, meter));
            start += bar_ticks;
        }
    }
    let step = |tick: u64| tick_to_step(tick, song.ticks_per_beat, steps_per_beat);
    let last_end = {
        // The final bar runs to its full length even when the music stops early.
        starts.last().map_or(0, |&(start, meter)| {
            let bar_ticks = u64::from(meter.0) * 4 * tpb / u64::from(meter.1.max(1));
            let next_segment = segments
                .iter()
                .map(|&(t, _)| t)
                .find(|&t| t > start)
                .unwrap_or(u64::MAX);
            (start + bar_ticks).min(next_segment)
        })
    };
    let mut result = Vec::with_capacity(starts.len());
    for (i, &(start, meter)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(last_end, |&(next, _)| next);
        let start_step = step(start);
        let steps = step(end).saturating_sub(start_step);
        let Ok(steps) = u32::try_from(steps) else {
            continue;
        };
        if steps == 0 {
            continue;
        }
        let whole = bar_steps_of(meter, steps_per_beat) == Some(steps);
        result.push(Bar {
            start_step,
            steps,
            meter,
            whole,
        });
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrion_music::Meter;

    fn song(tpb: u16, meters: &[(u64, u8, u8)]) -> Song {
        Song {
            ticks_per_beat: tpb,
            tempos: Vec::new(),
            meters: meters
                .iter()
                .map(|&(tick, numerator, denominator)| Meter {
                    tick,
                    numerator,
                    denominator,
                })
                .collect(),
            key_signatures: Vec::new(),
            tracks: Vec::new(),
            texts: Vec::new(),
        }
    }

    #[test]
    fn ticks_round_to_the_nearest_step() {
        assert_eq!(tick_to_step(0, 480, 4), 0);
        assert_eq!(tick_to_step(119, 480, 4), 1);
        assert_eq!(tick_to_step(59, 480, 4), 0);
        assert_eq!(tick_to_step(60, 480, 4), 1);
        assert_eq!(tick_to_step(480 * 4, 480, 4), 16);
    }

    #[test]
    fn pickup_bar_is_not_whole_and_the_rest_are() {
        // A 1/4 pickup, then 3/4.
        let s = song(480, &[(0, 1, 4), (480, 3, 4)]);
        let bars = bars(&s, None, 4, 480 + 3 * 480 * 3);
        assert_eq!(bars.len(), 4);
        assert_eq!(bars[0].meter, (1, 4));
        assert!(bars[0].whole, "a 1/4 bar is whole in 1/4");
        assert_eq!(bars[1].start_step, 4);
        assert!(bars[1..].iter().all(|b| b.whole && b.steps == 12));
    }

    #[test]
    fn meter_change_mid_bar_cuts_the_bar() {
        let s = song(96, &[(0, 4, 4), (96 * 6, 6, 8)]);
        let bars = bars(&s, None, 4, 96 * 12);
        assert_eq!(bars[0].steps, 16);
        assert!(bars[0].whole);
        assert_eq!(bars[1].steps, 8);
        assert!(!bars[1].whole);
        assert_eq!(bars[2].meter, (6, 8));
        assert_eq!(bars[2].steps, 12);
    }

    #[test]
    fn forced_meter_ignores_the_file() {
        let s = song(480, &[(0, 1, 4)]);
        let bars = bars(&s, Some((4, 4)), 4, 480 * 8);
        assert_eq!(bars.len(), 2);
        assert!(bars.iter().all(|b| b.whole && b.meter == (4, 4)));
    }
}
