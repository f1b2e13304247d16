//! Melody preserved: Orchestrion promises that the melody a person gives comes back note for
//! note in the arrangement. This check is exact (onset, pitch, duration and velocity in ticks),
//! so a generator or exporter that nudges, re-quantizes or drops a melody note fails it.

use orchestrion_music::{Note, Song, TrackRole};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How much of an input melody an output song kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MelodyPreservation {
    /// Notes in the input melody.
    pub notes: usize,
    /// Input notes found unchanged in the output.
    pub preserved: usize,
    /// Input notes not found, in input order.
    pub missing: Vec<Note>,
}

impl MelodyPreservation {
    /// Whether every melody note is present unchanged.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Share of melody notes preserved (1 for an empty melody).
    pub fn rate(&self) -> f64 {
        if self.notes == 0 {
            1.0
        } else {
            self.preserved as f64 / self.notes as f64
        }
    }
}

/// Looks for every note of `input_melody` (ticks of `output`) among the notes of the output's
/// melody tracks, or of all its tracks when none has the melody role. Each output note can
/// match one input note only, so a doubled input note needs two output notes.
pub fn melody_preserved(input_melody: &[Note], output: &Song) -> MelodyPreservation {
    let has_melody = output.tracks.iter().any(|t| t.role == TrackRole::Melody);
    let mut available: HashMap<Note, usize> = HashMap::new();
    for track in &output.tracks {
        if has_melody && track.role != TrackRole::Melody {
            continue;
        }
        for &note in &track.notes {
            *available.entry(note).or_default() += 1;
        }
    }
    let mut missing = Vec::new();
    for &note in input_melody {
        match available.get_mut(&note) {
            Some(count) if *count > 0 => *count -= 1,
            _ => missing.push(note),
        }
    }
    MelodyPreservation {
        notes: input_melody.len(),
        preserved: input_melody.len() - missing.len(),
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrion_music::Track;

    fn note(pitch: u8, start: u64, duration: u64, velocity: u8) -> Note {
        Note {
            pitch,
            velocity,
            start,
            duration,
        }
    }

    fn track(role: TrackRole, notes: Vec<Note>) -> Track {
        Track {
            name: String::new(),
            program: 0,
            channel: 0,
            is_drum: false,
            role,
            notes,
        }
    }

    fn song(tracks: Vec<Track>) -> Song {
        Song {
            ticks_per_beat: 480,
            tempos: vec![],
            meters: vec![],
            key_signatures: vec![],
            tracks,
            texts: vec![],
        }
    }

    #[test]
    fn every_attribute_must_match() {
        let melody = vec![
            note(60, 0, 480, 90),
            note(62, 480, 480, 90),
            note(64, 960, 240, 90),
        ];
        let out = song(vec![
            track(
                TrackRole::Melody,
                vec![
                    note(60, 0, 480, 90),
                    note(62, 480, 479, 90), // one tick short
                    note(64, 960, 240, 91), // velocity changed
                ],
            ),
            // The same notes in another track do not count when a melody track exists.
            track(TrackRole::Piano, melody.clone()),
        ]);
        let kept = melody_preserved(&melody, &out);
        assert_eq!((kept.notes, kept.preserved), (3, 1));
        assert_eq!(kept.missing, melody[1..].to_vec());
        assert!(!kept.is_complete());
        assert!((kept.rate() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn complete_copy_and_doubled_notes() {
        let melody = vec![note(60, 0, 480, 90), note(60, 0, 480, 90)];
        let once = song(vec![track(TrackRole::Melody, vec![melody[0]])]);
        assert_eq!(melody_preserved(&melody, &once).preserved, 1);
        let twice = song(vec![track(TrackRole::Melody, melody.clone())]);
        assert!(melody_preserved(&melody, &twice).is_complete());
        // No melody role in the output: any track may hold the melody.
        let unlabeled = song(vec![track(TrackRole::Other, melody.clone())]);
        assert!(melody_preserved(&melody, &unlabeled).is_complete());
    }
}
