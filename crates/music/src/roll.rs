//! The piano roll: the tensor-shaped view of a song that the model and the metrics work on.
//!
//! Layout: `[track][step][pitch]`, row-major, one byte per cell. Two planes: `onset` marks the
//! step a note starts; `sustain` marks every step a note sounds (including its onset step). Two
//! repeated notes of the same pitch stay distinct because each has its own onset.
//!
//! # Song → roll ([`PianoRoll::from_song`])
//! The caller says which song tracks feed which roll track with a [`PlaneSpec`] each (several
//! song tracks may merge into one plane, e.g. two guitars into `Guitar`). Notes are quantized by
//! [`Grid::quantize`]; the roll spans the song's bars ([`Song::bars`]). A note whose pitch falls
//! outside the pitch window is dropped, drums included (a drum window that is too narrow is a
//! recipe mistake that clamping would hide, turning a crash cymbal into a ride); a note running
//! past the last step is cut there. [`RollStats`] counts what was dropped.
//!
//! # Roll → notes ([`PianoRoll::step_notes`], [`PianoRoll::to_tracks`])
//! Each row is read left to right. A note starts at every onset cell, and also where a sustain
//! run begins without an onset (a window that starts in the middle of a note, or model output
//! that forgot the onset). It lasts while the row sustains and no new onset comes; an onset on a
//! step without sustain is a one-step note.
//!
//! # What survives a round trip
//! Song → roll → song keeps every quantized note (pitch, onset step, length in steps) exactly
//! when notes of one pitch in one plane do not overlap on the grid; touching notes (one ends
//! where the next starts) stay apart. Overlapping notes of one pitch are the documented
//! exception: the later onset wins, so the earlier note ends where the later one starts, and the
//! later one sounds until the last of them ends; notes with the same onset become one note with
//! the longest length. Velocities are not stored (the roll is binary): notes come back with
//! [`DEFAULT_VELOCITY`].

use crate::error::{Error, ErrorKind};
use crate::grid::{Grid, StepNote};
use crate::key::{Key, PitchClassHistogram};
use crate::song::{Note, Song, Track, TrackRole};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Velocity of notes read back from a roll, which stores none.
pub const DEFAULT_VELOCITY: u8 = 100;

/// Most cells one plane of a roll may have (256 Mi, 512 MiB for both planes): far above any
/// real song, low enough that a bad argument fails instead of exhausting memory.
pub const MAX_ROLL_CELLS: usize = 1 << 28;

/// Which song tracks feed one track (plane) of a roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaneSpec {
    /// Role of the roll track.
    pub role: TrackRole,
    /// Indices into [`Song::tracks`]; their notes are merged. May be empty (a silent plane).
    pub tracks: Vec<usize>,
    /// Whether pitch rows are GM drum-map numbers (never transposed).
    pub is_drum: bool,
}

impl PlaneSpec {
    /// A plane of `role` fed by `tracks`; a drum plane exactly when `role` is drums.
    pub fn new(role: TrackRole, tracks: impl Into<Vec<usize>>) -> PlaneSpec {
        PlaneSpec {
            role,
            tracks: tracks.into(),
            is_drum: role == TrackRole::Drums,
        }
    }

    /// One plane per role in `roles`, each fed by every song track whose detected (or assigned)
    /// role is that role.
    pub fn by_role(song: &Song, roles: &[TrackRole]) -> Vec<PlaneSpec> {
        roles
            .iter()
            .map(|&role| {
                let tracks: Vec<usize> = song
                    .tracks
                    .iter()
                    .enumerate()
                    .filter(|(_, track)| track.role == role)
                    .map(|(index, _)| index)
                    .collect();
                PlaneSpec::new(role, tracks)
            })
            .collect()
    }
}

/// What building a roll left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollStats {
    /// Notes placed in the roll.
    pub notes: usize,
    /// Notes whose pitch lies outside the pitch window.
    pub out_of_range: usize,
    /// Notes whose onset rounds to the end of the roll or later.
    pub past_end: usize,
}

/// Binarized roll of several tracks over the same steps and pitch window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PianoRoll {
    /// One role per track plane, in plane order.
    pub roles: Vec<TrackRole>,
    /// Which tracks are drums (pitch rows are GM drum-map numbers there).
    pub is_drum: Vec<bool>,
    /// Grid resolution: steps per quarter note.
    pub steps_per_beat: u32,
    /// Steps per bar for each bar, in order; they sum to `steps`.
    pub bar_steps: Vec<u32>,
    pub steps: usize,
    /// MIDI pitch of pitch row 0.
    pub lowest_pitch: u8,
    /// Number of pitch rows.
    pub pitches: usize,
    /// `[track][step][pitch]`, 1 where a note starts.
    pub onset: Vec<u8>,
    /// `[track][step][pitch]`, 1 where a note sounds.
    pub sustain: Vec<u8>,
}

impl PianoRoll {
    /// Index of a cell in the `onset` / `sustain` planes.
    #[inline]
    pub fn index(&self, track: usize, step: usize, pitch_row: usize) -> usize {
        (track * self.steps + step) * self.pitches + pitch_row
    }

    /// A silent roll: one plane per `(role, is_drum)`, bars of `bar_steps` steps.
    pub fn empty(
        planes: &[(TrackRole, bool)],
        grid: Grid,
        bar_steps: Vec<u32>,
        lowest_pitch: u8,
        pitches: usize,
    ) -> Result<PianoRoll, Error> {
        check_window(lowest_pitch, pitches)?;
        let steps: usize = bar_steps.iter().map(|&steps| steps as usize).sum();
        let cells = planes
            .len()
            .checked_mul(steps)
            .and_then(|cells| cells.checked_mul(pitches))
            .filter(|&cells| cells <= MAX_ROLL_CELLS)
            .ok_or_else(|| {
                roll_error(format!(
                    "{} tracks × {steps} steps × {pitches} pitches is over the limit of {MAX_ROLL_CELLS} cells",
                    planes.len()
                ))
            })?;
        Ok(PianoRoll {
            roles: planes.iter().map(|&(role, _)| role).collect(),
            is_drum: planes.iter().map(|&(_, is_drum)| is_drum).collect(),
            steps_per_beat: grid.steps_per_beat.max(1),
            bar_steps,
            steps,
            lowest_pitch,
            pitches,
            onset: vec![0; cells],
            sustain: vec![0; cells],
        })
    }

    /// The roll of `song`'s bars on `grid`, one plane per [`PlaneSpec`], pitch rows
    /// `lowest_pitch .. lowest_pitch + pitches`. See the [module docs](self) for what is dropped.
    pub fn from_song(
        song: &Song,
        grid: Grid,
        planes: &[PlaneSpec],
        lowest_pitch: u8,
        pitches: usize,
    ) -> Result<PianoRoll, Error> {
        Self::from_song_with_stats(song, grid, planes, lowest_pitch, pitches).map(|(roll, _)| roll)
    }

    /// [`PianoRoll::from_song`], also counting the notes placed and dropped.
    pub fn from_song_with_stats(
        song: &Song,
        grid: Grid,
        planes: &[PlaneSpec],
        lowest_pitch: u8,
        pitches: usize,
    ) -> Result<(PianoRoll, RollStats), Error> {
        for plane in planes {
            if let Some(&bad) = plane.tracks.iter().find(|&&t| t >= song.tracks.len()) {
                return Err(roll_error(format!(
                    "the {} plane asks for track {bad}, but the song has {} tracks",
                    plane.role,
                    song.tracks.len()
                )));
            }
        }
        let tpb = song.ticks_per_beat;
        let bar_steps: Vec<u32> = song
            .bars()
            .iter()
            .map(|bar| {
                let range = bar.step_range(grid, tpb);
                u32::try_from(range.end - range.start).unwrap_or(u32::MAX)
            })
            .collect();
        let kinds: Vec<_> = planes.iter().map(|p| (p.role, p.is_drum)).collect();
        let mut roll = PianoRoll::empty(&kinds, grid, bar_steps, lowest_pitch, pitches)?;
        let mut stats = RollStats::default();
        for (plane, spec) in planes.iter().enumerate() {
            for &source in &spec.tracks {
                for note in &song.tracks[source].notes {
                    let step_note = grid.quantize(note, tpb);
                    match roll.place(plane, &step_note) {
                        Placed::Yes => stats.notes += 1,
                        Placed::OutOfRange => stats.out_of_range += 1,
                        Placed::PastEnd => stats.past_end += 1,
                    }
                }
            }
        }
        Ok((roll, stats))
    }

    /// Write one note into plane `track`, cut at the roll's end.
    fn place(&mut self, track: usize, note: &StepNote) -> Placed {
        let Some(row) = self.row_of(note.pitch) else {
            return Placed::OutOfRange;
        };
        let start = note.start_step;
        if start >= self.steps as u64 {
            return Placed::PastEnd;
        }
        let start = start as usize;
        let end = note.end_step().min(self.steps as u64) as usize;
        let onset = self.index(track, start, row);
        self.onset[onset] = 1;
        for step in start..end {
            let cell = self.index(track, step, row);
            self.sustain[cell] = 1;
        }
        Placed::Yes
    }

    /// Add a note (pitch as a MIDI number) to plane `track`; `false` when it falls outside the
    /// pitch window or the roll. The note is cut at the roll's end.
    pub fn add_note(&mut self, track: usize, note: StepNote) -> bool {
        track < self.roles.len() && matches!(self.place(track, &note), Placed::Yes)
    }

    /// Pitch row of a MIDI pitch, if it is inside the window.
    pub fn row_of(&self, pitch: u8) -> Option<usize> {
        let row = usize::from(pitch).checked_sub(usize::from(self.lowest_pitch))?;
        (row < self.pitches).then_some(row)
    }

    /// Number of track planes.
    pub fn tracks(&self) -> usize {
        self.roles.len()
    }

    /// The grid the roll is on.
    pub fn grid(&self) -> Grid {
        Grid::new(self.steps_per_beat)
    }

    /// The notes of plane `track`, read as the [module docs](self) say, sorted by (onset, pitch);
    /// velocities are [`DEFAULT_VELOCITY`].
    pub fn step_notes(&self, track: usize) -> Vec<StepNote> {
        let mut notes = Vec::new();
        for row in 0..self.pitches {
            self.for_each_note_in_row(track, row, |start, duration| {
                notes.push(StepNote {
                    start_step: start as u64,
                    duration_steps: duration as u64,
                    pitch: self.lowest_pitch + row as u8,
                    velocity: DEFAULT_VELOCITY,
                });
            });
        }
        notes.sort_by_key(|note| (note.start_step, note.pitch, note.duration_steps));
        notes
    }

    /// Calls `found(start_step, duration_steps)` for every note of one pitch row.
    fn for_each_note_in_row(&self, track: usize, row: usize, mut found: impl FnMut(usize, usize)) {
        let mut current: Option<usize> = None;
        for step in 0..self.steps {
            let cell = self.index(track, step, row);
            let onset = self.onset[cell] != 0;
            let sounds = self.sustain[cell] != 0;
            if let Some(start) = current
                && (onset || !sounds)
            {
                found(start, step - start);
                current = None;
            }
            if onset && !sounds {
                found(step, 1);
            } else if sounds && current.is_none() {
                current = Some(step);
            }
        }
        if let Some(start) = current {
            found(start, self.steps - start);
        }
    }

    /// Number of notes in plane `track` (as [`PianoRoll::step_notes`] reads them).
    pub fn note_count(&self, track: usize) -> usize {
        (0..self.pitches)
            .map(|row| {
                let mut count = 0;
                self.for_each_note_in_row(track, row, |_, _| count += 1);
                count
            })
            .sum()
    }

    /// One [`Track`] per plane, times in ticks at `ticks_per_beat` from the roll's first step.
    /// Names are the role names, programs the roles' General MIDI defaults, drums on channel 10
    /// and pitched planes on channels 1, 2, ... skipping 10.
    pub fn to_tracks(&self, ticks_per_beat: u16) -> Vec<Track> {
        let grid = self.grid();
        let mut pitched_channels = (0u8..16).filter(|&channel| channel != 9).cycle();
        (0..self.tracks())
            .map(|track| {
                let role = self.roles[track];
                let is_drum = self.is_drum[track];
                let channel = if is_drum {
                    9
                } else {
                    pitched_channels.next().unwrap_or(0)
                };
                let notes = self
                    .step_notes(track)
                    .iter()
                    .map(|note| {
                        let start = grid.step_to_tick(note.start_step, ticks_per_beat);
                        let end = grid.step_to_tick(note.end_step(), ticks_per_beat);
                        Note {
                            pitch: note.pitch,
                            velocity: note.velocity,
                            start,
                            duration: (end - start).max(1),
                        }
                    })
                    .collect();
                Track {
                    name: role.to_string(),
                    program: role.default_program(),
                    channel,
                    is_drum,
                    role,
                    notes,
                }
            })
            .collect()
    }

    /// The step range of every bar, in order.
    pub fn bar_ranges(&self) -> Vec<Range<usize>> {
        let mut start = 0;
        self.bar_steps
            .iter()
            .map(|&steps| {
                let range = start..start + steps as usize;
                start = range.end;
                range
            })
            .collect()
    }

    /// Whether plane `track` has any sounding cell in `steps`.
    pub fn sounds_in(&self, track: usize, steps: Range<usize>) -> bool {
        let steps = steps.start.min(self.steps)..steps.end.min(self.steps);
        if steps.is_empty() {
            return false;
        }
        let from = self.index(track, steps.start, 0);
        let to = self.index(track, steps.end - 1, self.pitches - 1) + 1;
        self.sustain[from..to].iter().any(|&cell| cell != 0)
    }

    /// The steps in `range` as a roll of their own. Bars are cut at the range's edges (a bar cut
    /// in two appears with the steps inside the range); a note cut at the start keeps sounding
    /// without an onset, which reads back as a note starting at step 0.
    pub fn slice_steps(&self, range: Range<usize>) -> PianoRoll {
        let start = range.start.min(self.steps);
        let end = range.end.clamp(start, self.steps);
        let steps = end - start;
        let mut bar_steps = Vec::new();
        for bar in self.bar_ranges() {
            let from = bar.start.max(start);
            let to = bar.end.min(end);
            if from < to || (bar.is_empty() && (start..end).contains(&bar.start)) {
                bar_steps.push((to.saturating_sub(from)) as u32);
            }
        }
        let row_len = steps * self.pitches;
        let mut onset = Vec::with_capacity(self.tracks() * row_len);
        let mut sustain = Vec::with_capacity(self.tracks() * row_len);
        for track in 0..self.tracks() {
            let cells = self.index(track, start, 0)..self.index(track, start, 0) + row_len;
            onset.extend_from_slice(&self.onset[cells.clone()]);
            sustain.extend_from_slice(&self.sustain[cells]);
        }
        PianoRoll {
            roles: self.roles.clone(),
            is_drum: self.is_drum.clone(),
            steps_per_beat: self.steps_per_beat,
            bar_steps,
            steps,
            lowest_pitch: self.lowest_pitch,
            pitches: self.pitches,
            onset,
            sustain,
        }
    }

    /// Bars `bars` (indices into [`PianoRoll::bar_steps`]) as a roll of their own.
    pub fn slice_bars(&self, bars: Range<usize>) -> PianoRoll {
        let ranges = self.bar_ranges();
        let last = bars.end.min(ranges.len());
        let first = bars.start.min(last);
        let start = ranges.get(first).map_or(self.steps, |range| range.start);
        let end = if last == 0 {
            start
        } else {
            ranges[last - 1].end
        };
        let mut roll = self.slice_steps(start..end.max(start));
        roll.bar_steps = self.bar_steps[first..last].to_vec();
        roll
    }

    /// `self` followed by `next` in time. Both must have the same planes, grid and pitch window.
    /// A note sounding at the end of `self` continues into `next` only where `next` sustains
    /// that pitch without an onset on its first step.
    pub fn concat(&self, next: &PianoRoll) -> Result<PianoRoll, Error> {
        if self.roles != next.roles
            || self.is_drum != next.is_drum
            || self.steps_per_beat != next.steps_per_beat
            || self.lowest_pitch != next.lowest_pitch
            || self.pitches != next.pitches
        {
            return Err(roll_error(
                "cannot join rolls with different tracks, grids or pitch windows".to_string(),
            ));
        }
        let steps = self.steps + next.steps;
        if self
            .tracks()
            .saturating_mul(steps)
            .saturating_mul(self.pitches)
            > MAX_ROLL_CELLS
        {
            return Err(roll_error(format!(
                "joined roll of {steps} steps is over the limit of {MAX_ROLL_CELLS} cells"
            )));
        }
        let mut onset = Vec::with_capacity(self.onset.len() + next.onset.len());
        let mut sustain = Vec::with_capacity(self.sustain.len() + next.sustain.len());
        for (mine, theirs) in self.plane_chunks().zip(next.plane_chunks()) {
            onset.extend_from_slice(&self.onset[mine.clone()]);
            onset.extend_from_slice(&next.onset[theirs.clone()]);
            sustain.extend_from_slice(&self.sustain[mine]);
            sustain.extend_from_slice(&next.sustain[theirs]);
        }
        let mut bar_steps = self.bar_steps.clone();
        bar_steps.extend_from_slice(&next.bar_steps);
        Ok(PianoRoll {
            roles: self.roles.clone(),
            is_drum: self.is_drum.clone(),
            steps_per_beat: self.steps_per_beat,
            bar_steps,
            steps,
            lowest_pitch: self.lowest_pitch,
            pitches: self.pitches,
            onset,
            sustain,
        })
    }

    /// Cell range of each track plane.
    fn plane_chunks(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let len = self.steps * self.pitches;
        (0..self.tracks()).map(move |track| track * len..(track + 1) * len)
    }

    /// The roll moved by `semitones`; drum planes stay as they are. Notes that leave the pitch
    /// window are dropped; the second value counts them.
    pub fn transpose(&self, semitones: i32) -> (PianoRoll, usize) {
        let mut moved = self.clone();
        moved.onset.fill(0);
        moved.sustain.fill(0);
        let mut dropped = 0;
        for track in 0..self.tracks() {
            let shift = if self.is_drum[track] { 0 } else { semitones };
            for row in 0..self.pitches {
                let target = row as i64 + i64::from(shift);
                if target < 0 || target >= self.pitches as i64 {
                    self.for_each_note_in_row(track, row, |_, _| dropped += 1);
                    continue;
                }
                let target = target as usize;
                for step in 0..self.steps {
                    let from = self.index(track, step, row);
                    let to = self.index(track, step, target);
                    moved.onset[to] = self.onset[from];
                    moved.sustain[to] = self.sustain[from];
                }
            }
        }
        (moved, dropped)
    }

    /// Duration-weighted pitch-class histogram of the pitched planes (sounding steps per pitch
    /// class; drums excluded).
    pub fn pitch_class_histogram(&self) -> PitchClassHistogram {
        let mut weights = [0.0; 12];
        for track in (0..self.tracks()).filter(|&track| !self.is_drum[track]) {
            for step in 0..self.steps {
                let row_start = self.index(track, step, 0);
                let cells = &self.sustain[row_start..row_start + self.pitches];
                for (row, _) in cells.iter().enumerate().filter(|(_, cell)| **cell != 0) {
                    weights[(usize::from(self.lowest_pitch) + row) % 12] += 1.0;
                }
            }
        }
        PitchClassHistogram(weights)
    }

    /// The key that best fits the pitched planes ([`Key::estimate`]); `None` when they are
    /// silent.
    pub fn estimate_key(&self) -> Option<Key> {
        Key::estimate(&self.pitch_class_histogram())
    }
}

enum Placed {
    Yes,
    OutOfRange,
    PastEnd,
}

fn check_window(lowest_pitch: u8, pitches: usize) -> Result<(), Error> {
    if pitches == 0 || usize::from(lowest_pitch) + pitches > 128 {
        return Err(roll_error(format!(
            "pitch window {lowest_pitch} + {pitches} rows must lie within MIDI pitches 0..=127"
        )));
    }
    Ok(())
}

fn roll_error(message: String) -> Error {
    ErrorKind::Roll(message).into()
}

impl Song {
    /// Transpose every pitched track by `semitones`; drum tracks stay as they are. A note that
    /// would leave MIDI's 0..=127 moves by whole octaves back inside, so no note is lost. Key
    /// signature events move with the music.
    pub fn transpose(&mut self, semitones: i32) {
        for track in self.tracks.iter_mut().filter(|track| !track.is_drum) {
            for note in &mut track.notes {
                note.pitch = fold_into_midi(i32::from(note.pitch) + semitones);
            }
            track.notes.sort_by_key(|note| (note.start, note.pitch));
        }
        for signature in &mut self.key_signatures {
            signature.sharps = transpose_sharps(signature.sharps, semitones);
        }
    }
}

fn fold_into_midi(pitch: i32) -> u8 {
    let mut pitch = pitch;
    if pitch > 127 {
        pitch -= (pitch - 127 + 11) / 12 * 12;
    }
    if pitch < 0 {
        pitch += (-pitch + 11) / 12 * 12;
    }
    pitch as u8
}

/// The key signature (sharps > 0, flats < 0) of a key moved by `semitones`, spelled with at
/// most six accidentals (F♯ rather than G♭ at six).
fn transpose_sharps(sharps: i8, semitones: i32) -> i8 {
    // A key with `s` sharps is `7 s` semitones above the same mode's key without accidentals,
    // and 7 is its own inverse mod 12, so `s ≡ 7 × semitones`.
    let moved = (i32::from(sharps) + 7 * semitones).rem_euclid(12);
    (if moved > 6 { moved - 12 } else { moved }) as i8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::song::{Meter, TempoChange};
    use proptest::prelude::*;

    fn note(pitch: u8, start: u64, duration: u64) -> Note {
        Note {
            pitch,
            velocity: 90,
            start,
            duration,
        }
    }

    fn track(role: TrackRole, is_drum: bool, notes: Vec<Note>) -> Track {
        Track {
            name: role.to_string(),
            program: 0,
            channel: if is_drum { 9 } else { 0 },
            is_drum,
            role,
            notes,
        }
    }

    fn song(ticks_per_beat: u16, tracks: Vec<Track>) -> Song {
        Song {
            ticks_per_beat,
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
            tracks,
            texts: vec![],
        }
    }

    fn quantized(song: &Song, track: usize, grid: Grid) -> Vec<(u64, u8, u64)> {
        let mut notes: Vec<_> = song.tracks[track]
            .notes
            .iter()
            .map(|note| grid.quantize(note, song.ticks_per_beat))
            .map(|n| (n.start_step, n.pitch, n.duration_steps))
            .collect();
        notes.sort();
        notes
    }

    #[test]
    fn repeated_notes_stay_apart_and_tracks_merge_into_one_plane() {
        let tpb = 480;
        let song = song(
            tpb,
            vec![
                track(
                    TrackRole::Guitar,
                    false,
                    vec![note(60, 0, 480), note(60, 480, 480)],
                ),
                track(
                    TrackRole::Drums,
                    true,
                    vec![note(36, 0, 120), note(42, 240, 120)],
                ),
                track(TrackRole::Guitar, false, vec![note(64, 0, 960)]),
            ],
        );
        let planes = [
            PlaneSpec::new(TrackRole::Guitar, vec![0, 2]),
            PlaneSpec::new(TrackRole::Drums, vec![1]),
        ];
        let (roll, stats) =
            PianoRoll::from_song_with_stats(&song, Grid::default(), &planes, 24, 84).unwrap();
        assert_eq!(
            stats,
            RollStats {
                notes: 5,
                out_of_range: 0,
                past_end: 0
            }
        );
        assert_eq!((roll.steps, roll.bar_steps.clone()), (16, vec![16]));
        let guitar: Vec<_> = roll
            .step_notes(0)
            .iter()
            .map(|n| (n.start_step, n.pitch, n.duration_steps))
            .collect();
        assert_eq!(guitar, vec![(0, 60, 4), (0, 64, 8), (4, 60, 4)]);
        assert_eq!(roll.note_count(1), 2);
        let tracks = roll.to_tracks(tpb);
        assert_eq!(
            tracks[0].notes[2],
            note(60, 480, 480).with_velocity(DEFAULT_VELOCITY)
        );
        assert_eq!((tracks[1].channel, tracks[1].is_drum), (9, true));
        assert_eq!(tracks[0].program, TrackRole::Guitar.default_program());
    }

    impl Note {
        fn with_velocity(self, velocity: u8) -> Note {
            Note { velocity, ..self }
        }
    }

    #[test]
    fn notes_outside_the_window_or_the_roll_are_counted() {
        let song = song(
            4,
            vec![track(
                TrackRole::Bass,
                false,
                vec![
                    note(20, 0, 4),
                    note(40, 0, 4),
                    note(108, 0, 4),
                    note(41, 15, 100),
                ],
            )],
        );
        let planes = [PlaneSpec::new(TrackRole::Bass, vec![0])];
        let (roll, stats) =
            PianoRoll::from_song_with_stats(&song, Grid::default(), &planes, 24, 84).unwrap();
        assert_eq!((stats.notes, stats.out_of_range), (2, 2));
        // The song's last note runs for 25 bars; the roll covers them all.
        assert_eq!(roll.bar_steps.len(), 8);
        assert_eq!(roll.steps, 128);
        let bad = [PlaneSpec::new(TrackRole::Bass, vec![3])];
        let err = PianoRoll::from_song(&song, Grid::default(), &bad, 24, 84).unwrap_err();
        assert!(err.to_string().contains("track 3"), "{err}");
        assert!(PianoRoll::from_song(&song, Grid::default(), &planes, 100, 84).is_err());
    }

    #[test]
    fn a_sustain_run_without_an_onset_still_starts_a_note() {
        let mut roll = PianoRoll::empty(
            &[(TrackRole::Piano, false)],
            Grid::default(),
            vec![16],
            60,
            12,
        )
        .unwrap();
        for step in 2..6 {
            let cell = roll.index(0, step, 0);
            roll.sustain[cell] = 1;
        }
        // An onset without sustain is a one-step note.
        let cell = roll.index(0, 9, 3);
        roll.onset[cell] = 1;
        let notes: Vec<_> = roll
            .step_notes(0)
            .iter()
            .map(|n| (n.start_step, n.pitch, n.duration_steps))
            .collect();
        assert_eq!(notes, vec![(2, 60, 4), (9, 63, 1)]);
    }

    #[test]
    fn overlapping_notes_of_one_pitch_follow_the_documented_rule() {
        let grid = Grid::default();
        let song = song(
            4,
            vec![track(
                TrackRole::Piano,
                false,
                vec![
                    note(60, 0, 8),
                    note(60, 2, 2), // inside the first: first ends at 2, this one runs to 8
                    note(62, 4, 2), // same onset as the next: one note, the longest
                    note(62, 4, 5),
                ],
            )],
        );
        let planes = [PlaneSpec::new(TrackRole::Piano, vec![0])];
        let roll = PianoRoll::from_song(&song, grid, &planes, 24, 84).unwrap();
        let notes: Vec<_> = roll
            .step_notes(0)
            .iter()
            .map(|n| (n.start_step, n.pitch, n.duration_steps))
            .collect();
        assert_eq!(notes, vec![(0, 60, 2), (2, 60, 6), (4, 62, 5)]);
    }

    #[test]
    fn slices_and_concat_fit_back_together() {
        let song = song(
            4,
            vec![track(
                TrackRole::Melody,
                false,
                vec![
                    note(60, 0, 4),
                    note(62, 14, 6),
                    note(64, 20, 30),
                    note(65, 60, 4),
                ],
            )],
        );
        let planes = [PlaneSpec::new(TrackRole::Melody, vec![0])];
        let roll = PianoRoll::from_song(&song, Grid::default(), &planes, 24, 84).unwrap();
        assert_eq!(roll.bar_ranges(), vec![0..16, 16..32, 32..48, 48..64]);
        let head = roll.slice_bars(0..1);
        let tail = roll.slice_steps(16..64);
        assert_eq!(tail.bar_steps, vec![16, 16, 16]);
        // The note that crosses the bar line reads back in two pieces, the second one starting
        // at the slice's first step.
        assert_eq!(head.step_notes(0).last().unwrap().duration_steps, 2);
        assert_eq!(tail.step_notes(0)[0].start_step, 0);
        assert_eq!(tail.step_notes(0)[0].duration_steps, 4);
        assert_eq!(head.concat(&tail).unwrap(), roll);
        let odd = roll.slice_steps(8..24);
        assert_eq!(odd.bar_steps, vec![8, 8]);
        assert!(roll.sounds_in(0, 60..64));
        assert!(!roll.sounds_in(0, 50..60));
        let other = PianoRoll::empty(
            &[(TrackRole::Bass, false)],
            Grid::default(),
            vec![16],
            24,
            84,
        )
        .unwrap();
        assert!(roll.concat(&other).is_err());
    }

    #[test]
    fn roll_transposition_drops_notes_that_leave_and_spares_drums() {
        let song = song(
            4,
            vec![
                track(
                    TrackRole::Piano,
                    false,
                    vec![note(60, 0, 4), note(70, 0, 2), note(70, 4, 2)],
                ),
                track(TrackRole::Drums, true, vec![note(70, 0, 1)]),
            ],
        );
        let planes = [
            PlaneSpec::new(TrackRole::Piano, vec![0]),
            PlaneSpec::new(TrackRole::Drums, vec![1]),
        ];
        let roll = PianoRoll::from_song(&song, Grid::default(), &planes, 60, 12).unwrap();
        let (up, dropped) = roll.transpose(2);
        assert_eq!(dropped, 2);
        assert_eq!(
            up.step_notes(0).iter().map(|n| n.pitch).collect::<Vec<_>>(),
            vec![62]
        );
        assert_eq!(up.step_notes(1), roll.step_notes(1));
        let (back, _) = up.transpose(-2);
        assert_eq!(back.step_notes(0)[0].pitch, 60);
        assert_eq!(roll.transpose(0), (roll.clone(), 0));
    }

    #[test]
    fn song_transposition_folds_by_octaves_and_moves_key_signatures() {
        let mut song = song(
            480,
            vec![
                track(
                    TrackRole::Piano,
                    false,
                    vec![note(120, 0, 4), note(5, 0, 4), note(60, 0, 4)],
                ),
                track(TrackRole::Drums, true, vec![note(36, 0, 4)]),
            ],
        );
        song.key_signatures.push(crate::song::KeySignature {
            tick: 0,
            sharps: 0,
            minor: false,
        });
        song.transpose(10);
        let pitches: Vec<_> = song.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, vec![15, 70, 118]);
        assert_eq!(song.tracks[1].notes[0].pitch, 36);
        // C + 10 semitones = B♭ major, two flats.
        assert_eq!(song.key_signatures[0].sharps, -2);
        song.transpose(-20);
        let pitches: Vec<_> = song.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, vec![7, 50, 98]);
        assert_eq!(fold_into_midi(127 + 13), 116);
        assert_eq!(fold_into_midi(-1), 11);
        assert_eq!(transpose_sharps(0, 7), 1);
        assert_eq!(transpose_sharps(0, 6), 6);
        assert_eq!(transpose_sharps(-3, 0), -3);
    }

    /// Notes of one track whose quantized same-pitch notes never overlap, at a random ticks per
    /// beat no coarser than the grid.
    fn non_overlapping_song() -> impl Strategy<Value = (Song, Grid)> {
        let grid = prop_oneof![Just(Grid::SIXTEENTHS), Just(Grid::TRIPLETS)];
        let tpb = prop_oneof![
            Just(12u16),
            Just(96),
            Just(100),
            Just(384),
            Just(480),
            Just(1000)
        ];
        let raw = prop::collection::vec((24u8..108, 0u64..40_000, 1u64..3_000, 1u8..128), 0..60);
        (grid, tpb, raw, 0usize..3).prop_map(|(grid, tpb, raw, tracks)| {
            let mut per_track: Vec<Vec<Note>> = vec![Vec::new(); tracks + 1];
            let mut kept: Vec<(usize, u8, u64, u64)> = Vec::new();
            for (i, (pitch, start, duration, velocity)) in raw.into_iter().enumerate() {
                let target = i % per_track.len();
                let n = Note {
                    pitch,
                    velocity,
                    start: start * u64::from(tpb) / 480,
                    duration: duration * u64::from(tpb) / 480,
                };
                let q = grid.quantize(&n, tpb);
                // All tracks share plane 0 below, so overlaps count across tracks.
                let clashes = kept
                    .iter()
                    .any(|&(_, p, s, e)| p == pitch && q.start_step < e && s < q.end_step());
                if !clashes {
                    kept.push((target, pitch, q.start_step, q.end_step()));
                    per_track[target].push(n);
                }
            }
            let tracks = per_track
                .into_iter()
                .map(|notes| track(TrackRole::Piano, false, notes))
                .collect();
            (song(tpb, tracks), grid)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn song_to_roll_to_song_keeps_quantized_notes((song, grid) in non_overlapping_song()) {
            let sources: Vec<usize> = (0..song.tracks.len()).collect();
            let planes = [PlaneSpec::new(TrackRole::Piano, sources)];
            let (roll, stats) =
                PianoRoll::from_song_with_stats(&song, grid, &planes, 0, 128).unwrap();
            prop_assert_eq!(stats.out_of_range, 0);
            prop_assert_eq!(roll.bar_steps.iter().map(|&s| s as usize).sum::<usize>(), roll.steps);
            // A very short last note can round onto the end of the roll: counted, not kept.
            let mut expected: Vec<_> = (0..song.tracks.len())
                .flat_map(|t| quantized(&song, t, grid))
                .filter(|note| note.0 < roll.steps as u64)
                .collect();
            prop_assert_eq!(stats.notes, expected.len());
            // Notes running past the last bar are cut there (the last bar is full length, so
            // only rounding can push a note end past it).
            for note in &mut expected {
                note.2 = note.2.min(roll.steps as u64 - note.0);
            }
            expected.sort();
            let back = Song { tracks: roll.to_tracks(song.ticks_per_beat), ..song.clone() };
            prop_assert_eq!(quantized(&back, 0, grid), expected);
        }

        #[test]
        fn overlapping_notes_keep_onsets_and_sounding_steps(
            raw in prop::collection::vec((60u8..64, 0u64..64, 1u64..12), 1..40)
        ) {
            let notes: Vec<Note> = raw.iter().map(|&(p, s, d)| note(p, s, d)).collect();
            let song = song(4, vec![track(TrackRole::Piano, false, notes.clone())]);
            let planes = [PlaneSpec::new(TrackRole::Piano, vec![0])];
            let roll = PianoRoll::from_song(&song, Grid::default(), &planes, 60, 4).unwrap();
            let back = roll.step_notes(0);
            let onsets = |ns: &mut dyn Iterator<Item = (u64, u8)>| {
                let mut v: Vec<_> = ns.collect();
                v.sort();
                v.dedup();
                v
            };
            prop_assert_eq!(
                onsets(&mut back.iter().map(|n| (n.start_step, n.pitch))),
                onsets(&mut notes.iter().map(|n| (n.start, n.pitch)))
            );
            let sounding = |ns: &mut dyn Iterator<Item = (u64, u8, u64)>| {
                let mut v: Vec<_> = ns.flat_map(|(s, p, d)| (s..s + d).map(move |t| (t, p))).collect();
                v.sort();
                v.dedup();
                v
            };
            prop_assert_eq!(
                sounding(&mut back.iter().map(|n| (n.start_step, n.pitch, n.duration_steps))),
                sounding(&mut notes.iter().map(|n| (n.start, n.pitch, n.duration)))
            );
            // Read-back notes of one pitch never overlap.
            for pair in back.windows(2) {
                if pair[0].pitch == pair[1].pitch && pair[0].start_step == pair[1].start_step {
                    prop_assert!(false, "two notes share an onset: {:?}", pair);
                }
            }
        }

        #[test]
        fn any_slice_split_concatenates_back(cut in 0usize..=64) {
            let song = song(4, vec![track(TrackRole::Piano, false,
                vec![note(60, 0, 20), note(61, 5, 40), note(60, 30, 2)])]);
            let planes = [PlaneSpec::new(TrackRole::Piano, vec![0])];
            let roll = PianoRoll::from_song(&song, Grid::default(), &planes, 60, 4).unwrap();
            let joined = roll.slice_steps(0..cut).concat(&roll.slice_steps(cut..roll.steps)).unwrap();
            prop_assert_eq!(joined.onset, roll.onset.clone());
            prop_assert_eq!(joined.sustain, roll.sustain.clone());
            prop_assert_eq!(joined.steps, roll.steps);
        }
    }
}
