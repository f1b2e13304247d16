//! Seams: does a song generated window by window sound like one piece at the window borders?
//!
//! Generation writes a song in windows of `window_bars` bars that overlap by one bar (see
//! [`crate::inference`]): window `k` decides bars `k·hop + 1 .. k·hop + window_bars` (the first
//! window also bar 0), with `hop = window_bars − 1`, so a border lies between bar `k·hop` (the
//! last bar the previous window wrote) and bar `k·hop + 1` (the first bar the next one wrote).
//! An audible seam shows up as a change there that does not happen inside windows: the parts
//! get denser or sparser next to a border, jump in density across it, or change harmony (pitch
//! classes) more than they do from bar to bar inside a window. [`measure`] compares exactly
//! these quantities for bars and bar-to-bar transitions at borders against those inside
//! windows; ratios near 1 mean no seam.

use crate::data::GridNote;
use orchestrion_music::TrackRole;
use serde::{Deserialize, Serialize};

/// One generated song on the grid, as [`measure`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SongGrid {
    /// Steps of every bar, in order.
    pub bar_steps: Vec<u32>,
    /// The model's roles, in plane order (`roles[0]` is the melody, which is not measured).
    pub roles: Vec<TrackRole>,
    /// Notes in absolute steps; `role` indexes `roles`.
    pub notes: Vec<GridNote>,
}

/// Border-versus-inside statistics over one or many songs (sums until [`SeamReport::finish`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeamReport {
    /// Bar-to-bar transitions across a window border, summed over songs and roles.
    pub border_transitions: usize,
    /// Bar-to-bar transitions inside a window.
    pub inside_transitions: usize,
    /// Mean onsets per step (all accompaniment roles) of the bars on either side of a border.
    pub density_border: f64,
    /// The same for the other bars.
    pub density_inside: f64,
    /// `density_border / density_inside`: 1 = as busy at the borders as elsewhere.
    pub density_ratio: f64,
    /// Mean relative change of a role's onset count from one bar to the next, across borders.
    pub change_border: f64,
    /// The same for transitions inside windows.
    pub change_inside: f64,
    /// `change_border / change_inside`: above 1 = parts jump in density at the borders.
    pub change_ratio: f64,
    /// Mean pitch-class overlap (Jaccard) of a pitched role's bar with the next, across borders.
    pub overlap_border: f64,
    /// The same for transitions inside windows.
    pub overlap_inside: f64,
    /// `overlap_border / overlap_inside`: below 1 = harmony jumps at the borders.
    pub overlap_ratio: f64,
    #[serde(skip)]
    sums: Sums,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Sums {
    /// (onsets, steps) of bars at a border and inside.
    density: [(f64, f64); 2],
    /// (sum, count) of relative changes across a border and inside.
    change: [(f64, f64); 2],
    /// (sum, count) of pitch-class overlaps across a border and inside.
    overlap: [(f64, f64); 2],
}

/// Index `b` of every transition `b → b + 1` that crosses a window border, for a song of `bars`
/// bars generated in windows of `window_bars`.
pub fn border_transitions(bars: usize, window_bars: u32) -> Vec<usize> {
    let w = window_bars.max(1) as usize;
    if w == 1 {
        return (0..bars.saturating_sub(1)).collect();
    }
    let hop = w - 1;
    // Window k (k ≥ 1) starts at bar k·hop and exists while the one before it ended before
    // the song did; its first new bar is k·hop + 1.
    (1..)
        .take_while(|k| (k - 1) * hop + w < bars)
        .map(|k| k * hop)
        .filter(|&b| b + 1 < bars)
        .collect()
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else if a > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

impl SeamReport {
    /// An empty accumulator.
    pub fn new() -> SeamReport {
        SeamReport::default()
    }

    /// Add one song generated in windows of `window_bars` bars.
    pub fn add(&mut self, song: &SongGrid, window_bars: u32) {
        let bars = song.bar_steps.len();
        if bars < 2 {
            return;
        }
        let mut starts = Vec::with_capacity(bars + 1);
        let mut at = 0u32;
        for &steps in &song.bar_steps {
            starts.push(at);
            at += steps;
        }
        starts.push(at);
        let bar_of = |step: u32| starts.partition_point(|&s| s <= step).saturating_sub(1);
        let roles = song.roles.len();
        // Per role and bar: onsets, and the pitch classes sounding.
        let mut onsets = vec![vec![0f64; bars]; roles];
        let mut classes = vec![vec![0u16; bars]; roles];
        for note in song.notes.iter().filter(|n| n.role > 0 && n.role < roles) {
            let first = bar_of(note.start);
            if first >= bars {
                continue;
            }
            onsets[note.role][first] += 1.0;
            let last = bar_of(note.start + note.duration.max(1) - 1).min(bars - 1);
            for bar in classes[note.role].iter_mut().take(last + 1).skip(first) {
                *bar |= 1 << (note.pitch % 12);
            }
        }
        let borders = border_transitions(bars, window_bars);
        let mut at_border = vec![false; bars];
        for &b in &borders {
            at_border[b] = true;
            at_border[b + 1] = true;
        }
        for bar in 0..bars {
            let side = usize::from(!at_border[bar]);
            let total: f64 = (1..roles).map(|r| onsets[r][bar]).sum();
            self.sums.density[side].0 += total;
            self.sums.density[side].1 += f64::from(song.bar_steps[bar]);
        }
        for b in 0..bars - 1 {
            let side = usize::from(!borders.contains(&b));
            for r in 1..roles {
                let (x, y) = (onsets[r][b], onsets[r][b + 1]);
                if x + y > 0.0 {
                    self.sums.change[side].0 += (x - y).abs() / ((x + y) / 2.0);
                    self.sums.change[side].1 += 1.0;
                }
                if song.roles[r] == TrackRole::Drums {
                    continue;
                }
                let (p, q) = (classes[r][b], classes[r][b + 1]);
                if p | q != 0 {
                    self.sums.overlap[side].0 +=
                        f64::from((p & q).count_ones()) / f64::from((p | q).count_ones());
                    self.sums.overlap[side].1 += 1.0;
                }
            }
            if side == 0 {
                self.border_transitions += 1;
            } else {
                self.inside_transitions += 1;
            }
        }
        self.finish();
    }

    /// Recompute the means and ratios from the sums (done after every [`SeamReport::add`]).
    fn finish(&mut self) {
        let mean = |(sum, count): (f64, f64)| if count > 0.0 { sum / count } else { 0.0 };
        self.density_border = mean(self.sums.density[0]);
        self.density_inside = mean(self.sums.density[1]);
        self.density_ratio = ratio(self.density_border, self.density_inside);
        self.change_border = mean(self.sums.change[0]);
        self.change_inside = mean(self.sums.change[1]);
        self.change_ratio = ratio(self.change_border, self.change_inside);
        self.overlap_border = mean(self.sums.overlap[0]);
        self.overlap_inside = mean(self.sums.overlap[1]);
        self.overlap_ratio = ratio(self.overlap_border, self.overlap_inside);
    }

    /// Whether the borders look like the inside within `tolerance` (e.g. 0.15 for ±15 %):
    /// density and pitch-class overlap ratios near 1, and no larger density jumps.
    pub fn seamless(&self, tolerance: f64) -> bool {
        self.border_transitions > 0
            && (self.density_ratio - 1.0).abs() <= tolerance
            && (self.overlap_ratio - 1.0).abs() <= tolerance
            && self.change_ratio <= 1.0 + tolerance
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borders_follow_the_window_hop() {
        // Windows of 4 bars overlap by one: borders after bars 3, 6, 9 (between 3|4, 6|7, 9|10).
        assert_eq!(border_transitions(4, 4), Vec::<usize>::new());
        assert_eq!(border_transitions(5, 4), vec![3]);
        assert_eq!(border_transitions(12, 4), vec![3, 6, 9]);
        assert_eq!(border_transitions(13, 4), vec![3, 6, 9]);
        assert_eq!(border_transitions(14, 4), vec![3, 6, 9, 12]);
        // One-bar windows: every transition is a border.
        assert_eq!(border_transitions(3, 1), vec![0, 1]);
    }

    fn song(bars: usize, silent_after_border: bool) -> SongGrid {
        let mut notes = Vec::new();
        let borders = border_transitions(bars, 4);
        for bar in 0..bars {
            if silent_after_border && borders.iter().any(|&b| b + 1 == bar) {
                continue;
            }
            for beat in 0..4u32 {
                notes.push(GridNote {
                    role: 1,
                    pitch: 36 + [0u8, 7, 5, 7][bar % 4],
                    velocity: 0,
                    start: bar as u32 * 16 + beat * 4,
                    duration: 4,
                });
            }
        }
        SongGrid {
            bar_steps: vec![16; bars],
            roles: vec![TrackRole::Melody, TrackRole::Bass],
            notes,
        }
    }

    #[test]
    fn an_even_song_has_no_seam_and_a_gap_at_every_border_is_one() {
        let mut even = SeamReport::new();
        even.add(&song(16, false), 4);
        assert_eq!(even.border_transitions, 4);
        assert!((even.density_ratio - 1.0).abs() < 1e-9, "{even:?}");
        assert!(even.seamless(0.15), "{even:?}");
        let mut gaps = SeamReport::new();
        gaps.add(&song(16, true), 4);
        assert!(gaps.density_ratio < 0.8, "{gaps:?}");
        assert!(gaps.change_ratio > 1.5, "{gaps:?}");
        assert!(!gaps.seamless(0.15));
    }
}
