//! Bars and steps of a song as generation needs them: where each bar starts in ticks and in
//! steps, and a melody's notes on the step grid. Kept small and local: generation only needs the
//! bar map and rounding, and must convert back to ticks exactly.

use crate::data::GridNote;
use orchestrion_music::{Note, Song};

/// One bar of the song.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub start_tick: u64,
    pub ticks: u64,
    pub start_step: u32,
    pub steps: u32,
    pub numerator: u8,
    pub denominator: u8,
}

/// Bars from the meter map until `end_tick` is covered (at least `min_bars`).
pub fn bars(song: &Song, steps_per_beat: u32, end_tick: u64, min_bars: u32) -> Vec<Bar> {
    let tpb = song.ticks_per_beat.max(1) as u64;
    let mut out: Vec<Bar> = Vec::new();
    let mut tick = 0u64;
    let mut step = 0u32;
    loop {
        let meter = song
            .meters
            .iter()
            .rev()
            .find(|m| m.tick <= tick)
            .copied()
            .unwrap_or(orchestrion_music::Meter {
                tick: 0,
                numerator: 4,
                denominator: 4,
            });
        let (num, den) = (meter.numerator.max(1), meter.denominator.max(1));
        let ticks = (num as u64 * tpb * 4 / den as u64).max(1);
        let steps = (num as u32 * steps_per_beat * 4 / den as u32).max(1);
        if tick >= end_tick && out.len() as u32 >= min_bars.max(1) {
            break;
        }
        out.push(Bar {
            start_tick: tick,
            ticks,
            start_step: step,
            steps,
            numerator: num,
            denominator: den,
        });
        tick += ticks;
        step += steps;
        if out.len() > 100_000 {
            break;
        }
    }
    out
}

/// The bar containing `tick` (the last bar for ticks past the end).
fn bar_at(bars: &[Bar], tick: u64) -> &Bar {
    let i = bars
        .partition_point(|b| b.start_tick <= tick)
        .saturating_sub(1);
    &bars[i]
}

/// Nearest step of a tick.
pub fn tick_to_step(bars: &[Bar], tick: u64, ticks_per_beat: u16, steps_per_beat: u32) -> u32 {
    let bar = bar_at(bars, tick);
    let within = tick - bar.start_tick;
    let tpb = ticks_per_beat.max(1) as u64;
    bar.start_step + ((within * steps_per_beat as u64 + tpb / 2) / tpb) as u32
}

/// Tick of a step (exact when the resolution divides the ticks per beat).
pub fn step_to_tick(bars: &[Bar], step: u32, ticks_per_beat: u16, steps_per_beat: u32) -> u64 {
    let i = bars
        .partition_point(|b| b.start_step <= step)
        .saturating_sub(1);
    let bar = &bars[i];
    bar.start_tick + (step - bar.start_step) as u64 * ticks_per_beat as u64 / steps_per_beat as u64
}

/// Notes of one track on the grid (absolute steps), as role `role`.
pub fn notes_to_grid(
    notes: &[Note],
    role: usize,
    song: &Song,
    bars: &[Bar],
    spb: u32,
) -> Vec<GridNote> {
    notes
        .iter()
        .map(|n| {
            let start = tick_to_step(bars, n.start, song.ticks_per_beat, spb);
            let end = tick_to_step(bars, n.start + n.duration, song.ticks_per_beat, spb);
            GridNote {
                role,
                pitch: n.pitch,
                velocity: n.velocity,
                start,
                duration: end.saturating_sub(start).max(1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrion_music::Meter;

    fn song(meters: Vec<Meter>) -> Song {
        Song {
            ticks_per_beat: 480,
            tempos: vec![],
            meters,
            key_signatures: vec![],
            tracks: vec![],
            texts: vec![],
        }
    }

    #[test]
    fn bars_follow_meter_changes_and_steps_round_trip() {
        let s = song(vec![
            Meter {
                tick: 0,
                numerator: 4,
                denominator: 4,
            },
            Meter {
                tick: 1920,
                numerator: 6,
                denominator: 8,
            },
        ]);
        let b = bars(&s, 4, 1920 + 1440 * 2, 0);
        assert_eq!(b.len(), 3);
        assert_eq!((b[1].steps, b[1].ticks, b[1].start_step), (12, 1440, 16));
        for step in [0, 5, 16, 17, 30] {
            let tick = step_to_tick(&b, step, 480, 4);
            assert_eq!(tick_to_step(&b, tick, 480, 4), step);
        }
    }
}
