//! [`Song`] → Standard MIDI File: how arrangements leave Orchestrion (downloads, rendering, and
//! the files datasets and tests read back).
//!
//! The file is format 1: a conductor chunk with the tempo map, time signatures, key signatures
//! and [`Song::texts`] (text events at tick 0), then one chunk per [`Track`] with its name, a text
//! event `orchestrion:role=<role>` (so that reading the file back restores the role exactly), a
//! program change and its notes with their velocities. Drums go to channel 10; other tracks keep
//! their channel unless another track already took it, in which case the lowest free channel is
//! used (see [`Song::output_channels`]) so that every part keeps its own program.
//!
//! Reading a written song gives the same song back (a property test checks it) when the song is
//! one MIDI can express: ticks per beat 1..=32767, tempo map and meter map starting at tick 0,
//! notes sorted by (start, pitch, duration) with velocity 1..=127 and pitch 0..=127, overlapping
//! notes of one pitch ending in the order they start, power-of-two meter denominators, and at
//! most one track per channel (fifteen pitched tracks plus drums).

use crate::error::{Error, ErrorKind};
use crate::midi_read::{DRUM_CHANNEL, ROLE_TEXT_PREFIX};
use crate::song::{Song, Track};
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest delta time one MIDI event can carry; longer gaps are bridged with empty markers.
const MAX_DELTA: u64 = (1 << 28) - 1;

/// Largest ticks-per-beat the SMF header can hold.
const MAX_TICKS_PER_BEAT: u16 = 0x7FFF;

impl Song {
    /// The MIDI channel (0-based) each track is written on, in track order.
    pub fn output_channels(&self) -> Vec<u8> {
        let mut taken = [false; 16];
        taken[usize::from(DRUM_CHANNEL)] = true;
        let mut channels = Vec::with_capacity(self.tracks.len());
        for (index, track) in self.tracks.iter().enumerate() {
            if track.is_drum {
                channels.push(DRUM_CHANNEL);
                continue;
            }
            let wanted = usize::from(track.channel);
            let channel = if wanted < 16 && !taken[wanted] {
                wanted
            } else {
                // Lowest free channel; with more than fifteen pitched tracks they must share.
                (0..16).find(|&channel| !taken[channel]).unwrap_or_else(|| {
                    [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15][index % 15]
                })
            };
            taken[channel] = true;
            channels.push(channel as u8);
        }
        channels
    }

    /// Encode the song as a format-1 Standard MIDI File.
    ///
    /// # Panics
    /// If the song has more than 65,534 tracks or a text of 256 MiB or more, which no MIDI file
    /// can hold (songs read with [`crate::Limits`] are far below both).
    pub fn to_midi_bytes(&self) -> Vec<u8> {
        let time = TickScale::for_song(self);
        let role_texts: Vec<String> = self
            .tracks
            .iter()
            .map(|track| format!("{ROLE_TEXT_PREFIX}{}", track.role.as_str()))
            .collect();
        let channels = self.output_channels();

        let mut chunks = Vec::with_capacity(self.tracks.len() + 1);
        chunks.push(self.conductor_events(&time));
        for ((track, role_text), &channel) in self.tracks.iter().zip(&role_texts).zip(&channels) {
            chunks.push(track_events(track, role_text, channel, &time));
        }
        let smf = Smf {
            header: Header::new(
                Format::Parallel,
                Timing::Metrical(u15::new(time.ticks_per_beat)),
            ),
            tracks: chunks,
        };
        let mut bytes = Vec::new();
        smf.write_std(&mut bytes)
            .expect("a MIDI file holds at most 65,535 tracks and events under 256 MiB");
        bytes
    }

    /// Write the song to `path` as a MIDI file, atomically: the bytes go to a temporary file in
    /// the same folder, which is flushed to disk and then renamed over `path`. A crash leaves
    /// either the old file or the new one, never half of one.
    pub fn write_file(&self, path: &Path) -> Result<(), Error> {
        write_atomically(path, &self.to_midi_bytes())
    }

    fn conductor_events<'a>(&'a self, time: &TickScale) -> Vec<TrackEvent<'a>> {
        let mut timed: Vec<(u64, TrackEventKind<'a>)> = Vec::new();
        for text in &self.texts {
            timed.push((0, TrackEventKind::Meta(MetaMessage::Text(text.as_bytes()))));
        }
        for tempo in &self.tempos {
            let micros = tempo.micros_per_beat.clamp(1, 0xFF_FFFF);
            let kind = TrackEventKind::Meta(MetaMessage::Tempo(u24::new(micros)));
            timed.push((time.scale(tempo.tick), kind));
        }
        for meter in &self.meters {
            // Time signatures store the denominator as a power of two.
            let denominator_pow = meter.denominator.max(1).ilog2() as u8;
            let kind = TrackEventKind::Meta(MetaMessage::TimeSignature(
                meter.numerator,
                denominator_pow,
                24,
                8,
            ));
            timed.push((time.scale(meter.tick), kind));
        }
        for key in &self.key_signatures {
            let kind = TrackEventKind::Meta(MetaMessage::KeySignature(
                key.sharps.clamp(-7, 7),
                key.minor,
            ));
            timed.push((time.scale(key.tick), kind));
        }
        // Stable: texts, then tempo, meter and key in map order at equal ticks.
        timed.sort_by_key(|(tick, _)| *tick);
        with_deltas(timed)
    }
}

/// Ticks as written: the song's own, unless its ticks per beat does not fit the header.
struct TickScale {
    ticks_per_beat: u16,
    /// Song ticks are shifted right by this many bits (halved) to fit.
    shift: u32,
}

impl TickScale {
    fn for_song(song: &Song) -> TickScale {
        let mut ticks_per_beat = song.ticks_per_beat.max(1);
        let mut shift = 0;
        while ticks_per_beat > MAX_TICKS_PER_BEAT {
            ticks_per_beat /= 2;
            shift += 1;
        }
        TickScale {
            ticks_per_beat,
            shift,
        }
    }

    fn scale(&self, tick: u64) -> u64 {
        tick >> self.shift
    }
}

/// Order of events sharing a tick: a note ending there is released before a note starting there
/// (so repeated notes of one pitch pair up right), and a zero-length note is released after its
/// own start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NoteEdge {
    Release,
    Press,
    ReleaseZeroLength,
}

fn track_events<'a>(
    track: &'a Track,
    role_text: &'a str,
    channel: u8,
    time: &TickScale,
) -> Vec<TrackEvent<'a>> {
    let channel = u4::new(channel);
    let mut head: Vec<(u64, TrackEventKind<'a>)> = Vec::new();
    if !track.name.is_empty() {
        let name = TrackEventKind::Meta(MetaMessage::TrackName(track.name.as_bytes()));
        head.push((0, name));
    }
    head.push((
        0,
        TrackEventKind::Meta(MetaMessage::Text(role_text.as_bytes())),
    ));
    let program = MidiMessage::ProgramChange {
        program: u7::new(track.program.min(127)),
    };
    head.push((
        0,
        TrackEventKind::Midi {
            channel,
            message: program,
        },
    ));

    let mut notes: Vec<_> = track
        .notes
        .iter()
        .filter(|note| note.pitch <= 127)
        .collect();
    notes.sort_by_key(|note| (note.start, note.pitch, note.duration));
    let mut edges: Vec<(u64, NoteEdge, usize)> = Vec::with_capacity(notes.len() * 2);
    for (index, note) in notes.iter().enumerate() {
        let start = time.scale(note.start);
        let end = time.scale(note.end());
        edges.push((start, NoteEdge::Press, index));
        let release = if end == start {
            NoteEdge::ReleaseZeroLength
        } else {
            NoteEdge::Release
        };
        edges.push((end, release, index));
    }
    edges.sort_by_key(|&(tick, edge, index)| (tick, edge, index));

    let mut timed = head;
    timed.extend(edges.into_iter().map(|(tick, edge, index)| {
        let note = notes[index];
        let key = u7::new(note.pitch);
        let message = match edge {
            NoteEdge::Press => MidiMessage::NoteOn {
                key,
                vel: u7::new(note.velocity.clamp(1, 127)),
            },
            NoteEdge::Release | NoteEdge::ReleaseZeroLength => MidiMessage::NoteOff {
                key,
                vel: u7::new(64),
            },
        };
        (tick, TrackEventKind::Midi { channel, message })
    }));
    with_deltas(timed)
}

/// Turn (absolute tick, event) pairs, sorted by tick, into delta-timed events ending with
/// End of Track. Gaps too long for one delta are bridged with empty marker events.
fn with_deltas(timed: Vec<(u64, TrackEventKind<'_>)>) -> Vec<TrackEvent<'_>> {
    let mut events = Vec::with_capacity(timed.len() + 1);
    let mut now = 0u64;
    let end_of_track = TrackEventKind::Meta(MetaMessage::EndOfTrack);
    let last_tick = timed.last().map_or(0, |(tick, _)| *tick);
    for (tick, kind) in timed.into_iter().chain([(last_tick, end_of_track)]) {
        let mut delta = tick.saturating_sub(now);
        while delta > MAX_DELTA {
            events.push(TrackEvent {
                delta: u28::new(MAX_DELTA as u32),
                kind: TrackEventKind::Meta(MetaMessage::Marker(b"")),
            });
            delta -= MAX_DELTA;
        }
        events.push(TrackEvent {
            delta: u28::new(delta as u32),
            kind,
        });
        now = now.max(tick);
    }
    events
}

/// Write `bytes` to `path` through a flushed temporary file in the same folder and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let file_error = |source| -> Error {
        ErrorKind::FileIo {
            path: path.to_path_buf(),
            source,
        }
        .into()
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().ok_or_else(|| {
        file_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names no file",
        ))
    })?;
    // Unique per process and per call, so concurrent writers never share a temporary file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let temp_path = folder.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp_path, path)?;
        // Make the rename itself durable; not every platform lets a folder be opened and synced.
        if let Ok(dir) = std::fs::File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    }
    result.map_err(file_error)
}
