//! From a [`Song`] to timed synth messages: ticks become sample frames through the song's own
//! tempo map ([`Song::tick_to_seconds`], the one definition Orchestrion has),
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
pub fn song_end_frame(song: &Song, sample_rate: u32) -> u64 {
    song.tracks
        .iter()
        .flat_map(|track| track.notes.iter())
        .map(|note| note.start + note.duration.max(1))
        .max()
        .map_or(0, |tick| to_frame(song, tick, sample_rate))
}

fn to_frame(song: &Song, tick: u64, sample_rate: u32) -> u64 {
    (song.tick_to_seconds(tick) * f64::from(sample_rate)).round() as u64
}

/// Seconds a released voice is assumed to keep sounding, for [`voice_seconds`].
const RELEASE_ESTIMATE_SECONDS: f64 = 0.25;

/// A track's share of the synth work: the seconds its voices sound (note lengths plus a
/// release each). Every lane also pays a fixed cost for reverb and chorus whatever it plays,
/// so lanes are balanced on this, not on note counts: 768 short drum hits cost a synth less
/// than 384 sustained piano notes.
fn voice_seconds(song: &Song, track: &orchestrion_music::Track) -> f64 {
    track
        .notes
        .iter()
        .map(|note| {
            song.tick_to_seconds(note.end()) - song.tick_to_seconds(note.start)
                + RELEASE_ESTIMATE_SECONDS
        })
        .sum()
}

/// How many lanes are worth their cost for a mix, up to `threads`, when each lane pays
/// `lane_overhead` (in voices sounding throughout, see [`LANE_OVERHEAD_WITH_EFFECTS`]).
///
/// Going from `k - 1` to `k` balanced lanes shortens the render by the voices' work over
/// `k (k - 1)` and adds one lane's overhead to the CPU time, so a lane is added only while the
/// first outweighs the second. Without that rule a second reverb could cost more CPU than the
/// parallel voices save, which makes renders slower on a busy machine (measured: BENCHMARKS.md).
pub fn lanes_worth_it(song: &Song, threads: usize, lane_overhead: f64) -> usize {
    let voices: f64 = song
        .tracks
        .iter()
        .map(|track| voice_seconds(song, track))
        .sum();
    let overhead = lane_overhead * song.duration_seconds();
    let mut lanes = 1;
    while lanes < threads && voices / ((lanes + 1) * lanes) as f64 >= overhead {
        lanes += 1;
    }
    lanes
}

/// A SoundFont lane's reverb and chorus cost about as much as this many voices sounding all the
/// time (rustysynth with FluidR3_GM: 0.8 s of effects against 0.74 ms per voice-second over a
/// 149-second song).
pub const LANE_OVERHEAD_WITH_EFFECTS: f64 = 7.0;
/// A lane without effects (or of the built-in synth) costs little beyond its voices.
pub const LANE_OVERHEAD_DRY: f64 = 0.5;

/// Splits tracks into lanes: one lane per track when `one_per_track` (stems), otherwise up to
/// `wanted` lanes balanced by [`voice_seconds`] (largest first, each to the lightest lane),
/// skipping tracks without notes. A lane holds at most 15 pitched tracks and one drum kit, so
/// more lanes are made when a song needs them.
pub fn group_tracks(song: &Song, wanted: usize, one_per_track: bool) -> Vec<Vec<usize>> {
    if one_per_track {
        return (0..song.tracks.len()).map(|index| vec![index]).collect();
    }
    let mut order: Vec<(usize, f64)> = song
        .tracks
        .iter()
        .enumerate()
        .filter(|(_, track)| !track.notes.is_empty())
        .map(|(index, track)| (index, voice_seconds(song, track)))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let wanted = wanted.clamp(1, order.len().max(1));
    let mut lanes: Vec<Vec<usize>> = vec![Vec::new(); wanted];
    let mut load = vec![0.0f64; wanted];
    for (index, cost) in order {
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
            .min_by(|&a, &b| load[a].total_cmp(&load[b]));
        let lane = choice.unwrap_or_else(|| {
            lanes.push(Vec::new());
            load.push(0.0);
            lanes.len() - 1
        });
        lanes[lane].push(index);
        load[lane] += cost;
    }
    lanes.retain(|lane| !lane.is_empty());
    lanes
}

/// Channels and events for one lane of tracks.
pub fn plan_lane(song: &Song, sample_rate: u32, tracks: &[usize]) -> LanePlan {
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
            let on = to_frame(song, note.start, sample_rate);
            let off = to_frame(song, note.start + note.duration, sample_rate).max(on + 1);
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
    use orchestrion_music::{Meter, Note, TempoChange, Track};

    fn track_of(role: TrackRole, notes: u64, beats_each: u64) -> Track {
        Track {
            name: format!("{role:?}"),
            program: 0,
            channel: 0,
            is_drum: role == TrackRole::Drums,
            role,
            notes: (0..notes)
                .map(|i| Note {
                    pitch: 40,
                    velocity: 90,
                    start: i * 480,
                    duration: beats_each * 480 / 4,
                })
                .collect(),
        }
    }

    #[test]
    fn lanes_balance_sounding_time_not_note_counts() {
        let song = Song {
            ticks_per_beat: 480,
            tempos: vec![TempoChange {
                tick: 0,
                micros_per_beat: 500_000,
            }],
            meters: vec![],
            key_signatures: vec![],
            tracks: vec![
                // Many short hits, few long chords: by note count the drums alone would face
                // everything else.
                track_of(TrackRole::Drums, 600, 1),
                track_of(TrackRole::Piano, 200, 16),
                track_of(TrackRole::Bass, 200, 4),
                track_of(TrackRole::Melody, 200, 3),
            ],
            texts: vec![],
        };
        // Sounding seconds: piano 450, drums 225, bass 150, melody 125.
        assert!((voice_seconds(&song, &song.tracks[0]) - 225.0).abs() < 1e-9);
        let lanes = group_tracks(&song, 2, false);
        assert_eq!(lanes, vec![vec![1], vec![0, 2, 3]]);
        assert_eq!(group_tracks(&song, 1, false), vec![vec![1, 0, 2, 3]]);
        assert_eq!(group_tracks(&song, 8, true).len(), 4);
        // 950 voice-seconds over 300 s of music: fewer than 7 voices on average, so a second
        // lane with its own reverb does not pay; without effects it does, and a third too.
        assert_eq!(lanes_worth_it(&song, 2, LANE_OVERHEAD_WITH_EFFECTS), 1);
        assert_eq!(lanes_worth_it(&song, 4, LANE_OVERHEAD_DRY), 3);
        assert_eq!(lanes_worth_it(&song, 1, LANE_OVERHEAD_DRY), 1);
    }

    #[test]
    fn note_frames_follow_the_music_crates_tempo_map() {
        let notes: Vec<Note> = [0u64, 700, 960, 1500, 2400, 5000]
            .iter()
            .map(|&start| Note {
                pitch: 60,
                velocity: 90,
                start,
                duration: 240,
            })
            .collect();
        let song = Song {
            ticks_per_beat: 480,
            tempos: vec![
                TempoChange {
                    tick: 0,
                    micros_per_beat: 500_000,
                },
                TempoChange {
                    tick: 960,
                    micros_per_beat: 1_000_000,
                },
                TempoChange {
                    tick: 2400,
                    micros_per_beat: 412_345,
                },
            ],
            meters: vec![Meter {
                tick: 0,
                numerator: 4,
                denominator: 4,
            }],
            key_signatures: vec![],
            tracks: vec![Track {
                name: "piano".into(),
                program: 0,
                channel: 0,
                is_drum: false,
                role: TrackRole::Piano,
                notes: notes.clone(),
            }],
            texts: vec![],
        };
        let plan = plan_lane(&song, 44_100, &[0]);
        let onsets: Vec<u64> = plan
            .events
            .iter()
            .filter(|event| matches!(event.message, Message::NoteOn { .. }))
            .map(|event| event.frame)
            .collect();
        let expected: Vec<u64> = notes
            .iter()
            .map(|note| (song.tick_to_seconds(note.start) * 44_100.0).round() as u64)
            .collect();
        assert_eq!(onsets, expected);
        // 1 s at 120 BPM, then 3 beats at 60 BPM: the tick at 2400 is 4 s in.
        assert_eq!(onsets[4], 4 * 44_100);
        assert_eq!(
            song_end_frame(&song, 44_100),
            (song.tick_to_seconds(5240) * 44_100.0).round() as u64
        );
    }
}
