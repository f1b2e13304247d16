//! Training windows: a few whole bars of one song, every role's notes relative to the window.
//!
//! A window stores notes, not a roll: notes are ~100× smaller than the dense planes, and the
//! model makes the roll it needs at load time with [`Window::to_roll`], applying the
//! transposition it draws for augmentation.
//!
//! # Roll layout of `to_roll`
//! One plane per role in [`DatasetMeta::roles`] order; 84 pitch rows from MIDI 24 (C1) to 107
//! (B7) for every plane. Pitched roles are transposed and folded by octaves back into their
//! role's range ([`DatasetMeta::pitch_ranges`]). Drums are never transposed; their rows are GM
//! drum-map numbers on the same 24–107 scale (row = note − 24), so a model crops a drum plane
//! with the drum role's range just as it crops a pitched one.

use crate::extract::{Parts, ROLL_LOWEST, ROLL_ROWS, fold_pitch};
use crate::meta::DatasetMeta;
use crate::timeline::Bar;
use orchestrion_music::{PianoRoll, TrackRole};

/// A window of whole bars of one song.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The song's id (its row in `songs.json`).
    pub song: u32,
    /// Steps of each bar, in order.
    pub bar_steps: Vec<u32>,
    /// Sorted by (start, track, pitch).
    pub notes: Vec<WindowNote>,
}

/// One note of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowNote {
    /// Role index (plane) in [`DatasetMeta::roles`].
    pub track: u8,
    pub pitch: u8,
    pub velocity: u8,
    /// Onset step from the window's start.
    pub start: u16,
    /// Length in steps, cut at the window's end; at least 1.
    pub duration: u16,
}

impl Window {
    /// Length in steps (the sum of its bars).
    pub fn steps(&self) -> u32 {
        self.bar_steps.iter().sum()
    }

    /// Notes per role index.
    pub fn notes_per_track(&self, tracks: usize) -> Vec<u32> {
        let mut counts = vec![0; tracks];
        for note in &self.notes {
            if let Some(count) = counts.get_mut(usize::from(note.track)) {
                *count += 1;
            }
        }
        counts
    }

    /// The binarized roll the model and the metrics see (layout in the module docs), with
    /// pitched roles moved by `transpose` semitones.
    pub fn to_roll(&self, meta: &DatasetMeta, transpose: i8) -> PianoRoll {
        let steps = self.steps() as usize;
        let pitches = usize::from(ROLL_ROWS);
        let tracks = meta.roles.len();
        let mut roll = PianoRoll {
            roles: meta.roles.clone(),
            is_drum: meta.roles.iter().map(|&r| r == TrackRole::Drums).collect(),
            steps_per_beat: meta.steps_per_beat,
            bar_steps: self.bar_steps.clone(),
            steps,
            lowest_pitch: ROLL_LOWEST,
            pitches,
            onset: vec![0; tracks * steps * pitches],
            sustain: vec![0; tracks * steps * pitches],
        };
        for note in &self.notes {
            let track = usize::from(note.track);
            if track >= tracks {
                continue;
            }
            let pitch = if roll.is_drum[track] {
                note.pitch
            } else {
                let (low, rows) = meta
                    .pitch_ranges
                    .get(track)
                    .copied()
                    .unwrap_or((ROLL_LOWEST, ROLL_ROWS));
                let low = low.max(ROLL_LOWEST);
                let high = (u16::from(low) + u16::from(rows.max(1)) - 1)
                    .min(u16::from(ROLL_LOWEST + ROLL_ROWS - 1)) as u8;
                fold_pitch(i16::from(note.pitch) + i16::from(transpose), low, high)
            };
            if !(ROLL_LOWEST..ROLL_LOWEST + ROLL_ROWS).contains(&pitch) {
                continue;
            }
            let row = usize::from(pitch - ROLL_LOWEST);
            let start = usize::from(note.start);
            if start >= steps {
                continue;
            }
            let end = (start + usize::from(note.duration.max(1))).min(steps);
            let at = roll.index(track, start, row);
            roll.onset[at] = 1;
            for step in start..end {
                let at = roll.index(track, step, row);
                roll.sustain[at] = 1;
            }
        }
        roll
    }
}

/// Cuts a song's parts into windows of `window_bars` whole bars of a kept meter, starting every
/// `hop_bars` bars within each run of such bars, and keeps those that pass the density filters.
/// Returns the windows and how many were cut before filtering.
pub fn cut_windows(
    song: u32,
    parts: &Parts,
    bars: &[Bar],
    kept_meters: &[(u8, u8)],
    window_bars: u32,
    hop_bars: u32,
    min_notes: &[u32],
) -> (Vec<Window>, usize) {
    let window_bars = window_bars as usize;
    let hop_bars = hop_bars.max(1) as usize;
    let usable = |bar: &Bar| bar.whole && kept_meters.contains(&bar.meter);
    let mut windows = Vec::new();
    let mut cut = 0;
    // One cursor per plane: windows come in time order, so notes are scanned once.
    let mut cursors = vec![0usize; parts.planes.len()];
    let mut run_start = 0;
    while run_start < bars.len() {
        if !usable(&bars[run_start]) {
            run_start += 1;
            continue;
        }
        let mut run_end = run_start;
        while run_end < bars.len() && usable(&bars[run_end]) {
            run_end += 1;
        }
        let mut first = run_start;
        while first + window_bars <= run_end {
            let span = &bars[first..first + window_bars];
            let start = span[0].start_step;
            let steps: u64 = span.iter().map(|b| u64::from(b.steps)).sum();
            let end = start + steps;
            cut += 1;
            let mut notes = Vec::new();
            for (plane, plane_notes) in parts.planes.iter().enumerate() {
                let cursor = &mut cursors[plane];
                while *cursor < plane_notes.len() && plane_notes[*cursor].start < start {
                    *cursor += 1;
                }
                for note in plane_notes[*cursor..].iter().take_while(|n| n.start < end) {
                    let duration = u64::from(note.duration).min(end - note.start).max(1);
                    notes.push(WindowNote {
                        track: plane as u8,
                        pitch: note.pitch,
                        velocity: note.velocity,
                        start: (note.start - start) as u16,
                        duration: duration as u16,
                    });
                }
            }
            notes.sort_unstable_by_key(|n| (n.start, n.track, n.pitch));
            let window = Window {
                song,
                bar_steps: span.iter().map(|b| b.steps).collect(),
                notes,
            };
            let counts = window.notes_per_track(parts.planes.len());
            if counts
                .iter()
                .zip(min_notes)
                .all(|(have, need)| have >= need)
            {
                windows.push(window);
            }
            first += hop_bars;
        }
        run_start = run_end;
    }
    (windows, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::StepNote;

    fn bar(start_step: u64) -> Bar {
        Bar {
            start_step,
            steps: 16,
            meter: (4, 4),
            whole: true,
        }
    }

    fn note(start: u64, pitch: u8, duration: u32) -> StepNote {
        StepNote {
            start,
            pitch,
            duration,
            velocity: 90,
        }
    }

    fn meta() -> DatasetMeta {
        DatasetMeta {
            name: "t".into(),
            roles: vec![TrackRole::Melody, TrackRole::Drums, TrackRole::Bass],
            programs: vec![0, 0, 33],
            steps_per_beat: 4,
            window_bars: 2,
            max_window_steps: 32,
            pitch_ranges: vec![(48, 36), (35, 47), (28, 24)],
            meters: vec![(4, 4)],
            recipe_hash: "x".into(),
            transpose: (-5, 6),
        }
    }

    #[test]
    fn windows_follow_runs_of_usable_bars_and_cut_notes_at_the_end() {
        let mut bars: Vec<Bar> = (0..5).map(|i| bar(i * 16)).collect();
        bars[2].whole = false; // breaks the run: windows are bars 0–1 and 3–4
        let parts = Parts {
            planes: vec![
                vec![note(0, 60, 40), note(20, 62, 4), note(50, 64, 2)],
                vec![],
                vec![note(49, 40, 1)],
            ],
            end_tick: 0,
        };
        let (windows, cut) = cut_windows(7, &parts, &bars, &[(4, 4)], 2, 1, &[1, 0, 0]);
        assert_eq!(cut, 2);
        assert_eq!(windows.len(), 2);
        assert_eq!(windows[0].song, 7);
        assert_eq!(windows[0].steps(), 32);
        assert_eq!(windows[0].notes[0].duration, 32, "cut at the window's end");
        assert_eq!(windows[1].notes.len(), 2);
        assert_eq!(windows[1].notes[0].start, 1);
        assert_eq!(windows[1].notes[0].track, 2);
    }

    #[test]
    fn density_filter_drops_sparse_windows() {
        let bars: Vec<Bar> = (0..4).map(|i| bar(i * 16)).collect();
        let parts = Parts {
            planes: vec![vec![note(0, 60, 4)], vec![], vec![note(40, 40, 4)]],
            end_tick: 0,
        };
        let (windows, cut) = cut_windows(0, &parts, &bars, &[(4, 4)], 2, 2, &[1, 0, 1]);
        assert_eq!(cut, 2);
        assert!(windows.is_empty(), "no window has both melody and bass");
    }

    #[test]
    fn roll_transposes_pitched_roles_only() {
        let window = Window {
            song: 0,
            bar_steps: vec![16, 16],
            notes: vec![
                WindowNote {
                    track: 0,
                    pitch: 60,
                    velocity: 90,
                    start: 0,
                    duration: 4,
                },
                WindowNote {
                    track: 1,
                    pitch: 36,
                    velocity: 90,
                    start: 0,
                    duration: 1,
                },
                WindowNote {
                    track: 2,
                    pitch: 30,
                    velocity: 90,
                    start: 4,
                    duration: 2,
                },
            ],
        };
        let roll = window.to_roll(&meta(), -5);
        assert_eq!(roll.steps, 32);
        assert_eq!(roll.pitches, 84);
        assert_eq!(roll.onset[roll.index(0, 0, 55 - 24)], 1);
        assert_eq!(roll.onset[roll.index(1, 0, 36 - 24)], 1, "drums stay put");
        // Bass 30 - 5 = 25 is below its range (28..52): folded up an octave.
        assert_eq!(roll.onset[roll.index(2, 4, 37 - 24)], 1);
        assert_eq!(roll.sustain[roll.index(2, 5, 37 - 24)], 1);
        assert_eq!(roll.sustain[roll.index(2, 6, 37 - 24)], 0);
        assert_eq!(roll.onset.iter().map(|&x| x as usize).sum::<usize>(), 3);
    }
}
