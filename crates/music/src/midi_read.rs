//! Standard MIDI File → [`Song`]: the one door every melody, dataset file and upload comes in by.
//!
//! Bytes are parsed lazily with `midly` (no event vectors are built), so memory grows only with
//! what we keep: notes (capped by [`Limits::max_notes`]), tempo/meter/key events and names, all
//! bounded by the file size, which is checked first.
//!
//! What the reader does with the file:
//! - Formats 0 and 1. Every track chunk is split by MIDI channel into parts; each part with notes
//!   becomes a [`Track`] (a format-0 file therefore yields one track per channel). Chunks without
//!   notes are dropped after their meta events (tempo, meter, key, names, texts) are used.
//!   Format 2 is refused with [`ErrorKind::UnsupportedFormat`].
//! - Notes: a note-on with velocity 0 is a note-off. Overlapping notes of one pitch on one channel
//!   pair first-in first-out; a note-on never switched off ends at its chunk's last event.
//!   Zero-length notes (on and off on the same tick) are kept. Pitch bends, controllers,
//!   aftertouch and SysEx are ignored.
//! - Time division: ticks per beat as written. An SMPTE division (frames per second × ticks per
//!   frame) is converted to a fixed tempo where one beat is one frame-second: `ticks_per_beat` =
//!   frames × ticks per frame and one tempo entry of 1,000,000 µs per beat (1,001,000 for the
//!   29.97 fps drop-frame rate), so seconds are exact; tempo events in such files are ignored, as
//!   the SMPTE division defines absolute time.
//! - Tempo, time-signature and key-signature events from all chunks are merged by tick (a later
//!   event on the same tick wins). Tempo and meter maps always start at tick 0 (120 BPM and 4/4
//!   when the file says nothing). Invalid values (tempo 0, denominator above 2^7, more than 7
//!   sharps or flats) are skipped.
//! - A part's program is the first program change on its channel in its chunk, else the first on
//!   that channel anywhere in the file, else 0. Its name is the chunk's first track name (else its
//!   instrument name). Text events of the first chunk become [`Song::texts`].
//! - Roles come from [`detect_role`]; a chunk that splits into several channel parts is guessed
//!   from program and channel only (its name is usually the song title). A text event
//!   `orchestrion:role=<role>` in a chunk (written by our own writer) sets the role directly.
//! - A header division with the SMPTE bit set but an impossible frame rate is read as a 16-bit
//!   ticks per beat (some writers store 32768 or more, e.g. 55440, which overflows into that bit).
//! - RIFF-wrapped (RMID) files are unwrapped. Truncated chunks are read up to where they stop.

use crate::error::{Error, ErrorKind};
use crate::limits::Limits;
use crate::roles::detect_role;
use crate::song::{KeySignature, Meter, Note, Song, TempoChange, Track, TrackRole};
use midly::{Format, MetaMessage, MidiMessage, Timing, TrackEventKind};
use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;

/// Text event prefix our writer puts in every part so that a re-read keeps the part's role.
pub(crate) const ROLE_TEXT_PREFIX: &str = "orchestrion:role=";

/// MIDI channel 10 (0-based 9) is the General MIDI percussion channel.
pub(crate) const DRUM_CHANNEL: u8 = 9;

impl Song {
    /// Parse a Standard MIDI File (or an RMID file) held in memory.
    pub fn from_midi_bytes(bytes: &[u8], limits: &Limits) -> Result<Song, Error> {
        check_file_size(bytes.len() as u64, limits)?;
        let smf = match bytes.get(..4) {
            Some(b"RIFF") => unwrap_rmid(bytes).ok_or_else(|| {
                Error::from(ErrorKind::Malformed(
                    "a RIFF file without an RMID data chunk".into(),
                ))
            })?,
            _ => bytes,
        };
        let repaired = repair_headers(smf);
        let (bytes, wide_ticks_per_beat) = match &repaired {
            Some((fixed, wide)) => (fixed.as_slice(), *wide),
            None => (smf, None),
        };
        let (header, chunks) = midly::parse(bytes).map_err(malformed)?;
        if header.format == Format::Sequential {
            return Err(ErrorKind::UnsupportedFormat.into());
        }
        let division = match wide_ticks_per_beat {
            Some(ticks_per_beat) => Division {
                ticks_per_beat,
                fixed_micros_per_beat: None,
            },
            None => Division::from_timing(header.timing)?,
        };
        let mut reader = Reader::new(division, limits);
        for (index, chunk) in chunks.enumerate() {
            if index >= limits.max_tracks {
                return Err(ErrorKind::TooManyTracks {
                    found: index + 1,
                    limit: limits.max_tracks,
                }
                .into());
            }
            reader.read_chunk(index, chunk.map_err(malformed)?)?;
        }
        reader.finish()
    }

    /// Read a MIDI file from disk, refusing files over [`Limits::max_file_bytes`] before reading.
    pub fn read_file(path: &Path, limits: &Limits) -> Result<Song, Error> {
        let file_error = |source| ErrorKind::FileIo {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(file_error)?;
        let size = file.metadata().map_err(file_error)?.len();
        check_file_size(size, limits)?;
        // The size can change between the check and the read; never read past the limit.
        let mut bytes = Vec::new();
        file.take(limits.max_file_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(file_error)?;
        Song::from_midi_bytes(&bytes, limits)
    }
}

fn check_file_size(bytes: u64, limits: &Limits) -> Result<(), Error> {
    if bytes > limits.max_file_bytes {
        return Err(ErrorKind::FileTooLarge {
            bytes,
            limit: limits.max_file_bytes,
        }
        .into());
    }
    Ok(())
}

/// The Standard MIDI File inside an RMID (RIFF) file: the payload of its `data` chunk (clamped
/// to the bytes present, as `midly` does).
fn unwrap_rmid(bytes: &[u8]) -> Option<&[u8]> {
    let riff = riff_chunks(bytes).next()?;
    if riff.0 != *b"RIFF" || riff.1.get(..4)? != b"RMID" {
        return None;
    }
    riff_chunks(&riff.1[4..])
        .find(|(id, _)| id == b"data")
        .map(|(_, data)| data)
}

/// RIFF chunks: 4-byte id, little-endian length, data, a pad byte after odd lengths.
fn riff_chunks(mut bytes: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        if bytes.len() < 8 {
            return None;
        }
        let id: [u8; 4] = bytes[..4].try_into().ok()?;
        let length = u32::from_le_bytes(bytes[4..8].try_into().ok()?) as usize;
        let rest = &bytes[8..];
        let data = &rest[..length.min(rest.len())];
        let next = length.saturating_add(length % 2).min(rest.len());
        bytes = &rest[next..];
        Some((id, data))
    })
}

/// Fixes, on a copy, the two header divisions `midly` cannot take:
/// - Some writers store a ticks-per-beat of 32768 or more (the Weimar Jazz Database uses 55440),
///   which sets the header's SMPTE bit. When the SMPTE frame rate that bit implies is not one of
///   the four real ones (24, 25, 29.97, 30), the division can only be a 16-bit ticks per beat:
///   it is replaced by a placeholder and returned.
/// - A division byte of 0x80 (frame rate -128) overflows inside `midly` (a panic in builds with
///   overflow checks), also in the extra `MThd` chunks it skips; those are neutralised.
///
/// Returns `None` when nothing needs fixing.
fn repair_headers(smf: &[u8]) -> Option<(Vec<u8>, Option<u16>)> {
    let mut wide_ticks_per_beat = None;
    let mut patches: Vec<(usize, [u8; 2])> = Vec::new();
    // Walk the chunks exactly as `midly` does: id, big-endian length, data clamped to the end.
    let mut at = 0usize;
    let mut first = true;
    while smf.len().saturating_sub(at) >= 8 {
        let id = &smf[at..at + 4];
        let length = u32::from_be_bytes(smf[at + 4..at + 8].try_into().ok()?) as usize;
        let data = at + 8;
        let end = data.saturating_add(length).min(smf.len());
        if id == b"MThd" && end - data >= 6 {
            let division = u16::from_be_bytes([smf[data + 4], smf[data + 5]]);
            let frames_per_second = ((division >> 8) as u8 as i8).wrapping_neg();
            let is_smpte = division & 0x8000 != 0;
            let real_rate = matches!(frames_per_second, 24 | 25 | 29 | 30);
            if is_smpte && !real_rate {
                if first {
                    wide_ticks_per_beat = Some(division);
                }
                patches.push((data + 4, 96u16.to_be_bytes()));
            }
        }
        first = false;
        at = end;
    }
    if patches.is_empty() {
        return None;
    }
    let mut fixed = smf.to_vec();
    for (at, bytes) in patches {
        fixed[at..at + 2].copy_from_slice(&bytes);
    }
    Some((fixed, wide_ticks_per_beat))
}

fn malformed(err: midly::Error) -> Error {
    ErrorKind::Malformed(err.to_string()).into()
}

/// The file's time division, as ticks per beat plus (for SMPTE files) the fixed tempo that makes
/// those ticks last the right number of seconds.
#[derive(Debug, Clone, Copy)]
struct Division {
    ticks_per_beat: u16,
    fixed_micros_per_beat: Option<u32>,
}

impl Division {
    fn from_timing(timing: Timing) -> Result<Division, Error> {
        match timing {
            Timing::Metrical(ticks) => {
                let ticks_per_beat = ticks.as_int();
                if ticks_per_beat == 0 {
                    return Err(ErrorKind::BadTimeDivision("0 ticks per beat".into()).into());
                }
                Ok(Division {
                    ticks_per_beat,
                    fixed_micros_per_beat: None,
                })
            }
            Timing::Timecode(fps, ticks_per_frame) => {
                if ticks_per_frame == 0 {
                    return Err(
                        ErrorKind::BadTimeDivision("SMPTE with 0 ticks per frame".into()).into(),
                    );
                }
                // A "beat" is the time `frames` frames take: one second, or 1.001 s at 29.97 fps.
                let (frames, micros) = match fps {
                    midly::Fps::Fps24 => (24, 1_000_000),
                    midly::Fps::Fps25 => (25, 1_000_000),
                    midly::Fps::Fps29 => (30, 1_001_000),
                    midly::Fps::Fps30 => (30, 1_000_000),
                };
                Ok(Division {
                    ticks_per_beat: frames * u16::from(ticks_per_frame),
                    fixed_micros_per_beat: Some(micros),
                })
            }
        }
    }
}

/// The notes of one channel within one chunk, while they are being read.
struct Part {
    channel: u8,
    program: Option<u8>,
    notes: Vec<Note>,
    /// For each pitch, indices into `notes` of notes still sounding, oldest first.
    sounding: Vec<VecDeque<usize>>,
}

impl Part {
    fn new(channel: u8) -> Part {
        Part {
            channel,
            program: None,
            notes: Vec::new(),
            sounding: vec![VecDeque::new(); 128],
        }
    }

    fn note_on(&mut self, pitch: u8, velocity: u8, tick: u64) {
        self.sounding[usize::from(pitch)].push_back(self.notes.len());
        self.notes.push(Note {
            pitch,
            velocity,
            start: tick,
            duration: 0,
        });
    }

    fn note_off(&mut self, pitch: u8, tick: u64) {
        if let Some(index) = self.sounding[usize::from(pitch)].pop_front() {
            let note = &mut self.notes[index];
            note.duration = tick - note.start;
        }
    }

    fn close_all(&mut self, tick: u64) {
        for pitch in 0..128u8 {
            while !self.sounding[usize::from(pitch)].is_empty() {
                self.note_off(pitch, tick);
            }
        }
    }
}

/// Everything gathered from the chunks read so far.
struct Reader<'l> {
    division: Division,
    limits: &'l Limits,
    notes_read: usize,
    tempos: Vec<TempoChange>,
    meters: Vec<Meter>,
    keys: Vec<KeySignature>,
    texts: Vec<String>,
    tracks: Vec<Track>,
    /// Tracks whose program is still unknown; filled from `first_program_anywhere` at the end.
    tracks_without_program: Vec<usize>,
    first_program_anywhere: [Option<u8>; 16],
    /// Roles fixed by an `orchestrion:role=` text, per index in `tracks`.
    role_overrides: Vec<Option<TrackRole>>,
}

impl<'l> Reader<'l> {
    fn new(division: Division, limits: &'l Limits) -> Reader<'l> {
        Reader {
            division,
            limits,
            notes_read: 0,
            tempos: Vec::new(),
            meters: Vec::new(),
            keys: Vec::new(),
            texts: Vec::new(),
            tracks: Vec::new(),
            tracks_without_program: Vec::new(),
            first_program_anywhere: [None; 16],
            role_overrides: Vec::new(),
        }
    }

    fn read_chunk(&mut self, index: usize, events: midly::EventIter<'_>) -> Result<(), Error> {
        let mut parts: [Option<Part>; 16] = Default::default();
        let mut track_name: Option<String> = None;
        let mut instrument_name: Option<String> = None;
        let mut role_override: Option<TrackRole> = None;
        let mut tick = 0u64;
        // Lenient like most readers: a malformed event ends its chunk (what came before is kept).
        for event in events.map_while(Result::ok) {
            tick += u64::from(event.delta.as_int());
            match event.kind {
                TrackEventKind::Midi { channel, message } => {
                    let channel = channel.as_int();
                    let part =
                        parts[usize::from(channel)].get_or_insert_with(|| Part::new(channel));
                    match message {
                        MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                            self.notes_read += 1;
                            if self.notes_read > self.limits.max_notes {
                                return Err(ErrorKind::TooManyNotes {
                                    limit: self.limits.max_notes,
                                }
                                .into());
                            }
                            part.note_on(key.as_int(), vel.as_int(), tick);
                        }
                        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                            part.note_off(key.as_int(), tick);
                        }
                        MidiMessage::ProgramChange { program } => {
                            part.program.get_or_insert(program.as_int());
                            self.first_program_anywhere[usize::from(channel)]
                                .get_or_insert(program.as_int());
                        }
                        _ => {}
                    }
                }
                TrackEventKind::Meta(meta) => match meta {
                    MetaMessage::Tempo(micros) => {
                        let micros_per_beat = micros.as_int();
                        if micros_per_beat > 0 && self.division.fixed_micros_per_beat.is_none() {
                            self.tempos.push(TempoChange {
                                tick,
                                micros_per_beat,
                            });
                        }
                    }
                    MetaMessage::TimeSignature(numerator, denominator_pow, _, _)
                        if numerator > 0 && denominator_pow <= 7 =>
                    {
                        self.meters.push(Meter {
                            tick,
                            numerator,
                            denominator: 1 << denominator_pow,
                        });
                    }
                    MetaMessage::KeySignature(sharps, minor) if (-7..=7).contains(&sharps) => {
                        self.keys.push(KeySignature {
                            tick,
                            sharps,
                            minor,
                        });
                    }
                    MetaMessage::TrackName(bytes) if track_name.is_none() => {
                        track_name = Some(decode_name(bytes));
                    }
                    MetaMessage::InstrumentName(bytes) if instrument_name.is_none() => {
                        instrument_name = Some(decode_name(bytes));
                    }
                    MetaMessage::Text(bytes) => {
                        let text = decode_text(bytes);
                        if let Some(role) = text.strip_prefix(ROLE_TEXT_PREFIX) {
                            role_override = role.parse().ok();
                        } else if index == 0 {
                            self.texts.push(text);
                        }
                    }
                    _ => {}
                },
                TrackEventKind::SysEx(_) | TrackEventKind::Escape(_) => {}
            }
        }

        let name = track_name
            .filter(|name| !name.is_empty())
            .or(instrument_name)
            .unwrap_or_default();
        let mut parts: Vec<Part> = parts
            .into_iter()
            .flatten()
            .filter(|part| !part.notes.is_empty())
            .collect();
        let split = parts.len() > 1;
        for part in &mut parts {
            part.close_all(tick);
            // Stable: notes of one pitch starting together keep their pairing order.
            part.notes.sort_by_key(|note| (note.start, note.pitch));
        }
        for part in parts {
            if self.tracks.len() >= self.limits.max_tracks {
                return Err(ErrorKind::TooManyTracks {
                    found: self.tracks.len() + 1,
                    limit: self.limits.max_tracks,
                }
                .into());
            }
            if part.program.is_none() {
                self.tracks_without_program.push(self.tracks.len());
            }
            let is_drum = part.channel == DRUM_CHANNEL;
            let program = part.program.unwrap_or(0);
            let role_name = if split { "" } else { name.as_str() };
            self.role_overrides.push(role_override);
            self.tracks.push(Track {
                name: name.clone(),
                program,
                channel: part.channel,
                is_drum,
                role: detect_role(role_name, program, is_drum),
                notes: part.notes,
            });
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Song, Error> {
        for &index in &self.tracks_without_program {
            let track = &mut self.tracks[index];
            if let Some(program) = self.first_program_anywhere[usize::from(track.channel)] {
                track.program = program;
                if !track.is_drum && self.role_overrides[index].is_none() {
                    // The name was already tried; only the program family can change the guess.
                    track.role = detect_role(&track.name, program, false);
                }
            }
        }
        for (track, role) in self.tracks.iter_mut().zip(&self.role_overrides) {
            if let Some(role) = role {
                track.role = *role;
            }
        }

        let mut tempos = keep_last_per_tick(self.tempos, |tempo| tempo.tick);
        let first_tempo = self
            .division
            .fixed_micros_per_beat
            .unwrap_or(TempoChange::DEFAULT_MICROS_PER_BEAT);
        if tempos.first().is_none_or(|tempo| tempo.tick > 0) {
            tempos.insert(
                0,
                TempoChange {
                    tick: 0,
                    micros_per_beat: first_tempo,
                },
            );
        }
        let mut meters = keep_last_per_tick(self.meters, |meter| meter.tick);
        if meters.first().is_none_or(|meter| meter.tick > 0) {
            meters.insert(
                0,
                Meter {
                    tick: 0,
                    numerator: 4,
                    denominator: 4,
                },
            );
        }
        let song = Song {
            ticks_per_beat: self.division.ticks_per_beat,
            tempos,
            meters,
            key_signatures: keep_last_per_tick(self.keys, |key| key.tick),
            tracks: self.tracks,
            texts: self.texts,
        };
        let seconds = song.duration_seconds();
        if seconds > self.limits.max_seconds {
            return Err(ErrorKind::TooLong {
                seconds,
                limit_seconds: self.limits.max_seconds,
            }
            .into());
        }
        Ok(song)
    }
}

/// Sort events by tick (stable: file order breaks ties) and keep the last one of each tick.
fn keep_last_per_tick<T>(mut items: Vec<T>, tick: impl Fn(&T) -> u64) -> Vec<T> {
    items.sort_by_key(|item| tick(item));
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match kept.last_mut() {
            Some(last) if tick(last) == tick(&item) => *last = item,
            _ => kept.push(item),
        }
    }
    kept
}

/// MIDI text has no declared encoding: UTF-8 when it decodes, else Latin-1 (what old files use).
fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    }
}

/// A track or instrument name, without the padding some editors leave around it.
fn decode_name(bytes: &[u8]) -> String {
    decode_text(bytes)
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string()
}
