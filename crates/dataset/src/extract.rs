//! From a [`Song`] to role parts on the step grid, by the recipe's rules.
//!
//! This is where a corpus's conventions meet the model's roles: which track is the melody, which
//! tracks feed which role, which roles are split off others ("bass = lowest voice of the piano
//! below G3"). Each track feeds at most one role, so no note is counted twice.

use crate::recipe::{CompiledSelector, Derive, LoadedRecipe, Voice};
use orchestrion_music::grid::Grid;
use orchestrion_music::{Song, Track, TrackRole};

/// A note on the step grid, in absolute steps from the start of the song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StepNote {
    pub start: u64,
    pub pitch: u8,
    pub duration: u32,
    pub velocity: u8,
}

/// The song's notes per role, in plane order (plane 0 = melody), each sorted by (start, pitch).
#[derive(Debug, Clone)]
pub struct Parts {
    pub planes: Vec<Vec<StepNote>>,
    /// Last tick any kept note sounds, for the bar map.
    pub end_tick: u64,
}

/// Why a song gave no parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    NoMelody(String),
}

/// The lowest and highest MIDI pitch a pitched part may use (the model's 84-row roll).
pub const ROLL_LOWEST: u8 = 24;
pub const ROLL_ROWS: u8 = 84;

fn matches(selector: &CompiledSelector, track: &Track, note_index: usize) -> bool {
    selector
        .name
        .as_ref()
        .is_none_or(|re| re.is_match(&track.name))
        && selector.index.is_none_or(|i| i == note_index)
        && selector
            .programs
            .is_none_or(|(low, high)| !track.is_drum && (low..=high).contains(&track.program))
        && selector.channel.is_none_or(|c| c == track.channel + 1)
        && selector.drums.is_none_or(|d| d == track.is_drum)
}

fn mean_pitch(track: &Track) -> f64 {
    let sum: u64 = track.notes.iter().map(|n| u64::from(n.pitch)).sum();
    sum as f64 / track.notes.len().max(1) as f64
}

/// Parses an index's `lead_guess` cell, `track<i>/ch<c>/prog<p>(family)`, into (track, channel
/// 1–16, program).
pub fn parse_lead_guess(cell: &str) -> Option<(usize, u8, u8)> {
    let mut parts = cell.split('/');
    let track = parts.next()?.strip_prefix("track")?.parse().ok()?;
    let channel = parts.next()?.strip_prefix("ch")?.parse().ok()?;
    let program_part = parts.next()?.strip_prefix("prog")?;
    let digits: String = program_part
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((track, channel, digits.parse().ok()?))
}

/// Finds the melody among the note tracks (indices into `note_tracks`).
fn find_melody(
    recipe: &LoadedRecipe,
    note_tracks: &[&Track],
    lead_guess: Option<&str>,
) -> Result<usize, ExtractError> {
    let rule = &recipe.melody;
    let candidates: Vec<usize> = (0..note_tracks.len())
        .filter(|&i| matches(&rule.select, note_tracks[i], i))
        .collect();
    let candidates: Vec<usize> = if rule.lead_guess {
        let cell = lead_guess
            .ok_or_else(|| ExtractError::NoMelody("no lead_guess in the index".into()))?;
        let (track, channel, program) = parse_lead_guess(cell)
            .ok_or_else(|| ExtractError::NoMelody(format!("unreadable lead_guess {cell:?}")))?;
        let same_part: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| {
                let t = note_tracks[i];
                t.channel + 1 == channel && t.program == program && !t.is_drum
            })
            .collect();
        // Several tracks may share channel and program; the index counts file tracks with the
        // conductor track first, so prefer the note track at that position.
        match same_part.iter().find(|&&i| i + 1 == track) {
            Some(&i) => vec![i],
            None => same_part,
        }
    } else {
        candidates
    };
    let chosen = if rule.highest {
        candidates
            .iter()
            .copied()
            .filter(|&i| !note_tracks[i].is_drum)
            .max_by(|&a, &b| {
                mean_pitch(note_tracks[a])
                    .total_cmp(&mean_pitch(note_tracks[b]))
                    .then(b.cmp(&a))
            })
    } else {
        candidates.first().copied()
    };
    chosen.ok_or_else(|| ExtractError::NoMelody("no track matches the melody rule".into()))
}

fn to_steps(track: &Track, ticks_per_beat: u16, steps_per_beat: u32) -> Vec<StepNote> {
    // The music crate's quantization, so data windows and inference windows agree note for note.
    let grid = Grid::new(steps_per_beat);
    track
        .notes
        .iter()
        .map(|n| {
            let q = grid.quantize(n, ticks_per_beat);
            StepNote {
                start: q.start_step,
                pitch: n.pitch,
                duration: u32::try_from(q.duration_steps.max(1)).unwrap_or(u32::MAX),
                velocity: n.velocity.max(1),
            }
        })
        .collect()
}

/// Sorts and merges notes of the same pitch starting on the same step (doubled parts, or two
/// tracks folded into one role): the longer and louder wins.
fn normalize(notes: &mut Vec<StepNote>) {
    notes.sort_unstable_by(|a, b| {
        (a.start, a.pitch)
            .cmp(&(b.start, b.pitch))
            .then(b.duration.cmp(&a.duration))
    });
    let mut out: Vec<StepNote> = Vec::with_capacity(notes.len());
    for note in notes.drain(..) {
        match out.last_mut() {
            Some(last) if last.start == note.start && last.pitch == note.pitch => {
                last.velocity = last.velocity.max(note.velocity);
            }
            _ => out.push(note),
        }
    }
    *notes = out;
}

/// One voice per onset: the highest or lowest note starting at each step (among `qualifies`),
/// each cut at the next chosen onset. Returns (voice, rest).
fn split_voice(
    notes: &[StepNote],
    voice: Voice,
    qualifies: impl Fn(u8) -> bool,
) -> (Vec<StepNote>, Vec<StepNote>) {
    let mut chosen = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < notes.len() {
        let start = notes[i].start;
        let mut j = i;
        while j < notes.len() && notes[j].start == start {
            j += 1;
        }
        let group = &notes[i..j];
        let pick = match voice {
            Voice::Lowest => group.iter().position(|n| qualifies(n.pitch)),
            Voice::Highest => group.iter().rposition(|n| qualifies(n.pitch)),
        };
        for (k, note) in group.iter().enumerate() {
            if Some(k) == pick {
                chosen.push(*note);
            } else {
                rest.push(*note);
            }
        }
        i = j;
    }
    for k in 1..chosen.len() {
        let next = chosen[k].start;
        let prev = &mut chosen[k - 1];
        let limit = u32::try_from(next - prev.start).unwrap_or(u32::MAX);
        prev.duration = prev.duration.min(limit).max(1);
    }
    (chosen, rest)
}

/// Moves a pitch by octaves into `low..=high` (which spans at least an octave, or it clamps).
pub fn fold_pitch(pitch: i16, low: u8, high: u8) -> u8 {
    let (low, high) = (i16::from(low), i16::from(high));
    let mut p = pitch;
    while p < low {
        p += 12;
    }
    while p > high {
        p -= 12;
    }
    p.clamp(low, high) as u8
}

/// Applies the recipe to one song.
pub fn extract(
    recipe: &LoadedRecipe,
    song: &Song,
    lead_guess: Option<&str>,
) -> Result<Parts, ExtractError> {
    let steps_per_beat = recipe.recipe.grid.steps_per_beat;
    let note_tracks: Vec<&Track> = song.tracks.iter().filter(|t| !t.notes.is_empty()).collect();
    let melody_track = if recipe.melody.absent {
        None
    } else {
        Some(find_melody(recipe, &note_tracks, lead_guess)?)
    };

    let mut planes: Vec<Vec<StepNote>> = vec![Vec::new(); recipe.roles.len()];
    let mut end_tick = 0u64;
    let mut take = |plane: &mut Vec<StepNote>, track: &Track| {
        plane.extend(to_steps(track, song.ticks_per_beat, steps_per_beat));
        if let Some(end) = track.notes.iter().map(|n| n.start + n.duration).max() {
            end_tick = end_tick.max(end);
        }
    };
    let mut used = vec![false; note_tracks.len()];
    if let Some(melody) = melody_track {
        take(&mut planes[0], note_tracks[melody]);
        used[melody] = true;
    }
    for (r, sources) in recipe.role_sources.iter().enumerate() {
        for (i, track) in note_tracks.iter().enumerate() {
            if !used[i] && sources.iter().any(|s| matches(s, track, i)) {
                used[i] = true;
                take(&mut planes[r + 1], track);
            }
        }
    }
    for plane in &mut planes {
        normalize(plane);
    }
    if recipe.recipe.melody.monophonic {
        planes[0] = split_voice(&planes[0], Voice::Highest, |_| true).0;
    }
    for (r, spec) in recipe.recipe.roles.iter().enumerate() {
        if let Some(derive) = &spec.derive {
            planes[r + 1] = derive_role(recipe, &mut planes, derive);
        }
    }
    for (plane, notes) in planes.iter_mut().enumerate() {
        let role = recipe.roles[plane];
        let range = if plane == 0 {
            recipe.recipe.melody.range
        } else {
            recipe.recipe.roles[plane - 1].range
        };
        if role == TrackRole::Drums {
            let (low, high) = range.unwrap_or((ROLL_LOWEST, ROLL_LOWEST + ROLL_ROWS - 1));
            notes.retain(|n| (low..=high).contains(&n.pitch));
        } else {
            let (low, high) = range.unwrap_or((ROLL_LOWEST, ROLL_LOWEST + ROLL_ROWS - 1));
            for note in notes.iter_mut() {
                note.pitch = fold_pitch(i16::from(note.pitch), low, high);
            }
            normalize(notes);
        }
    }
    if planes[0].is_empty() && !recipe.melody.absent {
        return Err(ExtractError::NoMelody(
            "the melody track has no notes".into(),
        ));
    }
    Ok(Parts { planes, end_tick })
}

fn derive_role(
    recipe: &LoadedRecipe,
    planes: &mut [Vec<StepNote>],
    derive: &Derive,
) -> Vec<StepNote> {
    let source = recipe
        .roles
        .iter()
        .position(|&r| r == derive.from)
        .expect("validated: derive.from is an earlier role");
    let below = derive.below.unwrap_or(128);
    let above = derive.above.unwrap_or(0);
    let (mut voice, rest) = split_voice(&planes[source], derive.voice, |p| {
        u16::from(p) < u16::from(below) && p >= above
    });
    if derive.remove {
        planes[source] = rest;
    }
    let shift = i16::from(derive.octave) * 12;
    for note in &mut voice {
        note.pitch = (i16::from(note.pitch) + shift).clamp(0, 127) as u8;
    }
    voice
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(start: u64, pitch: u8, duration: u32) -> StepNote {
        StepNote {
            start,
            pitch,
            duration,
            velocity: 80,
        }
    }

    #[test]
    fn lowest_voice_below_split_is_cut_at_next_onset() {
        let notes = vec![
            n(0, 40, 8),
            n(0, 60, 8),
            n(0, 64, 8),
            n(4, 43, 8),
            n(8, 62, 4),
        ];
        let (bass, rest) = split_voice(&notes, Voice::Lowest, |p| p < 55);
        assert_eq!(bass, vec![n(0, 40, 4), n(4, 43, 8)]);
        assert_eq!(rest, vec![n(0, 60, 8), n(0, 64, 8), n(8, 62, 4)]);
    }

    #[test]
    fn highest_voice_is_a_skyline() {
        let notes = vec![n(0, 60, 4), n(0, 67, 4), n(2, 55, 4)];
        let (top, _) = split_voice(&notes, Voice::Highest, |_| true);
        assert_eq!(top, vec![n(0, 67, 2), n(2, 55, 4)]);
    }

    #[test]
    fn doubled_notes_merge() {
        let mut notes = vec![n(0, 60, 2), n(0, 60, 4), n(1, 62, 1)];
        normalize(&mut notes);
        assert_eq!(notes, vec![n(0, 60, 4), n(1, 62, 1)]);
    }

    #[test]
    fn folding_moves_by_octaves() {
        assert_eq!(fold_pitch(20, 24, 107), 32);
        assert_eq!(fold_pitch(110, 24, 107), 98);
        assert_eq!(fold_pitch(60, 24, 107), 60);
        assert_eq!(fold_pitch(60, 62, 64), 62, "narrow ranges clamp");
    }

    #[test]
    fn lead_guess_cells_parse() {
        assert_eq!(
            parse_lead_guess("track4/ch3/prog29(guitar)"),
            Some((4, 3, 29))
        );
        assert_eq!(parse_lead_guess("none"), None);
    }
}
