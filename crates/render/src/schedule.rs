//! From a [`Song`] to timed synth messages: ticks become sample frames through the tempo map,
//! tracks are spread over synth "lanes" (each lane is one synth with 16 MIDI channels) and
//! given channels, drums always on MIDI channel 10 (index 9).
//!
//! Lanes exist for parallelism and stems: a lane renders independently of the others, and the
//! mix is their sum. A synth is linear (voices add, reverb and chorus are linear filters that
//! start from the same state), so the sum of lanes is the same mix one synth would make, except
//! that each lane has its own polyphony budget.

use orchestrion_music::{Song, TrackRole};

/// The percussion channel of General MIDI (channel 10, counted from 0).
pub const DRUM_CHANNEL: u8 = 9;

/// Seconds at any tick, following the song's tempo map.
#[derive(Debug, Clone)]
pub struct TempoMap {
    /// (tick, seconds at that tick, seconds per tick from there on), sorted by tick.
    segments: Vec<(u64, f64, f64)>,
}

impl TempoMap {
    /// Builds the map; a song without a tempo at tick 0 plays at 120 BPM until its first one.
    pub fn new(song: &Song) -> Self {
        let ticks_per_beat = f64::from(song.ticks_per_beat.max(1));
        let mut changes: Vec<(u64, u32)> = song
            .tempos
            .iter()
            .filter(|tempo| tempo.micros_per_beat > 0)
            .map(|tempo| (tempo.tick, tempo.micros_per_beat))
            .collect();
        changes.sort_by_key(|&(tick, _)| tick);
        if changes.first().is_none_or(|&(tick, _)| tick > 0) {
            changes.insert(0, (0, 500_000));
        }
        let mut segments: Vec<(u64, f64, f64)> = Vec::with_capacity(changes.len());
        for (tick, micros) in changes {
            let seconds = segments.last().map_or(0.0, |&(start, at, per_tick)| {
                at + (tick - start) as f64 * per_tick
            });
            let per_tick = f64::from(micros) / 1e6 / ticks_per_beat;
            if segments.last().is_some_and(|&(start, _, _)| start == tick) {
                segments.pop();
            }
            segments.push((tick, seconds, per_tick));
        }
        TempoMap { segments }
    }

    /// Seconds from the start of the song to `tick`.
    pub fn seconds(&self, tick: u64) -> f64 {
        let index = self
            .segments
            .partition_point(|&(start, _, _)| start <= tick);
        let (start, at, per_tick) = self.segments[index.saturating_sub(1)];
        at + (tick - start) as f64 * per_tick
    }

    /// Seconds per tick at `tick` (for converting a time offset into ticks there).
    pub fn seconds_per_tick(&self, tick: u64) -> f64 {
        let index = self
            .segments
            .partition_point(|&(start, _, _)| start <= tick);
        self.segments[index.saturating_sub(1)].2
    }
}

/// One synth message. Channels and keys are MIDI's 0–15 and 0–127.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    Control {
        channel: u8,
        controller: u8,
        value: u8,
    },
    Program {
        channel: u8,
        program: u8,
    },
    NoteOff {
        channel: u8,
        key: u8,
    },
    NoteOn {
        channel: u8,
        key: u8,
        velocity: u8,
    },
}

impl Message {
    /// At the same frame: set-up first, then releases, then new notes (so a repeated note is
    /// released before it sounds again, not after).
    fn order(&self) -> u8 {
        match self {
            Message::Control { .. } | Message::Program { .. } => 0,
            Message::NoteOff { .. } => 1,
            Message::NoteOn { .. } => 2,
        }
    }
}

/// A message at a sample frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub frame: u64,
    pub message: Message,
}

/// What one lane plays: its tracks' set-up and notes as events sorted by frame.
#[derive(Debug, Clone)]
pub struct LanePlan {
    pub events: Vec<Event>,
}

/// Where the mix places each role (MIDI pan, 64 = centre): a little width so parts stay apart.
fn pan_for(role: TrackRole) -> u8 {
    match role {
        TrackRole::Piano => 48,
        TrackRole::Guitar => 80,
        TrackRole::Strings => 74,
        TrackRole::Pad => 54,
        TrackRole::Brass => 78,
        TrackRole::Reed => 50,
        TrackRole::Melody | TrackRole::Drums | TrackRole::Bass | TrackRole::Other => 64,
    }
}

/// Frame at which the last note of the song ends.
pub fn song_end_frame(song: &Song, tempo: &TempoMap, sample_rate: u32) -> u64 {
    song.tracks
        .iter()
        .flat_map(|track| track.notes.iter())
        .map(|note| note.start + note.duration.max(1))
        .max()
        .map_or(0, |tick| to_frame(tempo, tick, sample_rate))
}

fn to_frame(tempo: &TempoMap, tick: u64, sample_rate: u32) -> u64 {
    (tempo.seconds(tick) * f64::from(sample_rate)).round() as u64
}

/// Splits tracks into lanes: one lane per track when `one_per_track` (stems), otherwise up to
/// `wanted` lanes balanced by note count, skipping tracks without notes. A lane holds at most
/// 15 pitched tracks and one drum kit, so more lanes are made when a song needs them.
pub fn group_tracks(song: &Song, wanted: usize, one_per_track: bool) -> Vec<Vec<usize>> {
    if one_per_track {
        return (0..song.tracks.len()).map(|index| vec![index]).collect();
    }
    let mut order: Vec<usize> = (0..song.tracks.len())
        .filter(|&index| !song.tracks[index].notes.is_empty())
        .collect();
    order.sort_by_key(|&index| std::cmp::Reverse(song.tracks[index].notes.len()));
    let wanted = wanted.clamp(1, order.len().max(1));
    let mut lanes: Vec<Vec<usize>> = vec![Vec::new(); wanted];
    let mut load = vec![0usize; wanted];
    for index in order {
        let track = &song.tracks[index];
        let fits = |lane: &Vec<usize>| {
            if track.is_drum {
                lane.iter()
                    .map(|&other| &song.tracks[other])
                    .all(|other| !other.is_drum || other.program == track.program)
            } else {
                lane.iter()
                    .filter(|&&other| !song.tracks[other].is_drum)
                    .count()
                    < 15
            }
        };
        let choice = (0..lanes.len())
            .filter(|&lane| fits(&lanes[lane]))
            .min_by_key(|&lane| load[lane]);
        let lane = choice.unwrap_or_else(|| {
            lanes.push(Vec::new());
            load.push(0);
            lanes.len() - 1
        });
        lanes[lane].push(index);
        load[lane] += track.notes.len();
    }
    lanes.retain(|lane| !lane.is_empty());
    lanes
}

/// Channels and events for one lane of tracks.
pub fn plan_lane(song: &Song, tempo: &TempoMap, sample_rate: u32, tracks: &[usize]) -> LanePlan {
    let mut free_channels = (0u8..16).filter(|&channel| channel != DRUM_CHANNEL);
    let mut events = Vec::new();
    for &index in tracks {
        let track = &song.tracks[index];
        let channel = if track.is_drum {
            DRUM_CHANNEL
        } else {
            // group_tracks keeps at most 15 pitched tracks in a lane.
            free_channels.next().unwrap_or(0)
        };
        let setup = [
            Message::Program {
                channel,
                program: track.program & 0x7f,
            },
            Message::Control {
                channel,
                controller: 7,
                value: 100,
            },
            Message::Control {
                channel,
                controller: 10,
                value: pan_for(track.role),
            },
        ];
        events.extend(setup.into_iter().map(|message| Event { frame: 0, message }));
        for note in &track.notes {
            if note.velocity == 0 || note.pitch > 127 {
                continue;
            }
            let on = to_frame(tempo, note.start, sample_rate);
            let off = to_frame(tempo, note.start + note.duration, sample_rate).max(on + 1);
            events.push(Event {
                frame: on,
                message: Message::NoteOn {
                    channel,
                    key: note.pitch,
                    velocity: note.velocity.min(127),
                },
            });
            events.push(Event {
                frame: off,
                message: Message::NoteOff {
                    channel,
                    key: note.pitch,
                },
            });
        }
    }
    events.sort_by_key(|event| (event.frame, event.message.order()));
    LanePlan { events }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrion_music::{Meter, TempoChange};

    fn song_with_tempos(tempos: Vec<TempoChange>) -> Song {
        Song {
            ticks_per_beat: 480,
            tempos,
            meters: vec![Meter {
                tick: 0,
                numerator: 4,
                denominator: 4,
            }],
            key_signatures: vec![],
            tracks: vec![],
            texts: vec![],
        }
    }

    #[test]
    fn tempo_map_follows_changes() {
        let song = song_with_tempos(vec![
            TempoChange {
                tick: 0,
                micros_per_beat: 500_000,
            },
            TempoChange {
                tick: 960,
                micros_per_beat: 1_000_000,
            },
        ]);
        let map = TempoMap::new(&song);
        assert!((map.seconds(480) - 0.5).abs() < 1e-12);
        assert!((map.seconds(960) - 1.0).abs() < 1e-12);
        assert!((map.seconds(1440) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn missing_initial_tempo_defaults_to_120_bpm() {
        let song = song_with_tempos(vec![TempoChange {
            tick: 480,
            micros_per_beat: 250_000,
        }]);
        let map = TempoMap::new(&song);
        assert!((map.seconds(480) - 0.5).abs() < 1e-12);
        assert!((map.seconds(960) - 0.75).abs() < 1e-12);
    }
}
