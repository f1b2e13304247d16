//! Windows of whole bars: the unit the model trains on and generates, and the unit datasets cut
//! songs into.
//!
//! A window is `bars` consecutive bars of the song's own bars ([`Song::bars`]), starting at bar
//! 0 and then every `hop` bars; a window that would run past the last bar is left out (callers
//! that need the tail pad it themselves). Bars differ in length where the meter changes or a
//! bar is a pickup, so each window carries its own step count and, when it is regular, its
//! meter: datasets keep windows whose meter their model was trained on.

use crate::grid::{Bar, Grid};
use crate::roll::PianoRoll;
use crate::song::Song;
use serde::{Deserialize, Serialize};

/// Where one window lies in a song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpan {
    /// Index of the window's first bar in [`Song::bars`].
    pub first_bar: usize,
    /// Number of bars.
    pub bars: usize,
    pub start_tick: u64,
    /// First tick after the window.
    pub end_tick: u64,
    /// Step of the window's start on the grid the windows were cut for.
    pub first_step: usize,
    /// Steps in the window on that grid.
    pub steps: usize,
    /// `(numerator, denominator)` when every bar of the window is complete and in this one
    /// meter; `None` when the window holds a pickup, a cut bar or a meter change.
    pub meter: Option<(u8, u8)>,
}

impl WindowSpan {
    /// The window's steps in a roll of the whole song on the same grid.
    pub fn step_range(&self) -> std::ops::Range<usize> {
        self.first_step..self.first_step + self.steps
    }
}

/// Windows of `bars` bars every `hop` bars over `song_bars` (a song's [`Song::bars`]). A `hop`
/// of 0 is taken as 1; `bars` of 0 gives no windows.
pub fn windows_over(
    song_bars: &[Bar],
    bars: usize,
    hop: usize,
    grid: Grid,
    ticks_per_beat: u16,
) -> Vec<WindowSpan> {
    let hop = hop.max(1);
    if bars == 0 || song_bars.len() < bars {
        return Vec::new();
    }
    (0..=song_bars.len() - bars)
        .step_by(hop)
        .map(|first_bar| {
            let inside = &song_bars[first_bar..first_bar + bars];
            let first = inside[0];
            let last = inside[bars - 1];
            let first_step = grid.nearest_step(first.start_tick, ticks_per_beat);
            let end_step = grid.nearest_step(last.end_tick(), ticks_per_beat);
            let regular = inside.iter().all(|bar| {
                !bar.is_partial(ticks_per_beat)
                    && (bar.numerator, bar.denominator) == (first.numerator, first.denominator)
            });
            WindowSpan {
                first_bar,
                bars,
                start_tick: first.start_tick,
                end_tick: last.end_tick(),
                first_step: usize::try_from(first_step).unwrap_or(usize::MAX),
                steps: usize::try_from(end_step - first_step).unwrap_or(usize::MAX),
                meter: regular.then_some((first.numerator, first.denominator)),
            }
        })
        .collect()
}

impl Song {
    /// Windows of `bars` whole bars every `hop` bars, with step positions on `grid` (see the
    /// [module docs](crate::window)).
    pub fn windows(&self, bars: usize, hop: usize, grid: Grid) -> Vec<WindowSpan> {
        windows_over(&self.bars(), bars, hop, grid, self.ticks_per_beat)
    }
}

impl PianoRoll {
    /// The part of a whole-song roll (built by [`PianoRoll::from_song`] on the grid the window
    /// was cut for) that `span` covers, with the window's bars. Building the song's roll once
    /// and cutting every window from it is much cheaper than building a roll per window.
    pub fn window(&self, span: &WindowSpan) -> PianoRoll {
        self.slice_bars(span.first_bar..span.first_bar + span.bars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roll::PlaneSpec;
    use crate::song::{Meter, Note, Track, TrackRole};

    fn song(meters: &[(u64, u8, u8)], end: u64) -> Song {
        Song {
            ticks_per_beat: 4,
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
                // One note per beat, pitch rising, so every window's content is recognisable.
                notes: (0..end / 4)
                    .map(|beat| Note {
                        pitch: 40 + (beat % 60) as u8,
                        velocity: 90,
                        start: beat * 4,
                        duration: 4,
                    })
                    .collect(),
            }],
            texts: vec![],
        }
    }

    #[test]
    fn windows_hop_over_whole_bars() {
        let song = song(&[(0, 4, 4)], 16 * 10);
        let windows = song.windows(4, 2, Grid::default());
        let firsts: Vec<_> = windows.iter().map(|w| w.first_bar).collect();
        assert_eq!(firsts, vec![0, 2, 4, 6]);
        assert!(
            windows
                .iter()
                .all(|w| w.steps == 64 && w.meter == Some((4, 4)))
        );
        assert_eq!((windows[1].start_tick, windows[1].end_tick), (32, 96));
        assert_eq!(windows[1].step_range(), 32..96);
        assert!(song.windows(11, 1, Grid::default()).is_empty());
        assert!(song.windows(0, 1, Grid::default()).is_empty());
        assert_eq!(song.windows(10, 0, Grid::default()).len(), 1);
    }

    #[test]
    fn windows_report_meter_changes_and_pickups() {
        // A one-beat pickup written as a restated meter, then 4/4 for four bars, then 3/4.
        let song = song(&[(0, 4, 4), (4, 4, 4), (68, 3, 4)], 68 + 12 * 3);
        let windows = song.windows(2, 1, Grid::default());
        let meters: Vec<_> = windows.iter().map(|w| w.meter).collect();
        assert_eq!(
            meters,
            vec![
                None,
                Some((4, 4)),
                Some((4, 4)),
                Some((4, 4)),
                None,
                Some((3, 4)),
                Some((3, 4))
            ]
        );
        let steps: Vec<_> = windows.iter().map(|w| w.steps).collect();
        assert_eq!(steps, vec![20, 32, 32, 32, 28, 24, 24]);
    }

    #[test]
    fn a_window_of_the_song_roll_matches_the_span() {
        let song = song(&[(0, 3, 4)], 12 * 6);
        let grid = Grid::default();
        let planes = [PlaneSpec::new(TrackRole::Melody, vec![0])];
        let roll = PianoRoll::from_song(&song, grid, &planes, 24, 84).unwrap();
        for span in song.windows(2, 2, grid) {
            let window = roll.window(&span);
            assert_eq!(window.steps, span.steps);
            assert_eq!(window.bar_steps, vec![12, 12]);
            let first = window.step_notes(0)[0];
            assert_eq!(first.start_step, 0);
            assert_eq!(first.pitch, 40 + (span.start_tick / 4) as u8);
            assert_eq!(window.note_count(0), 6);
        }
    }
}
