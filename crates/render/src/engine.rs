//! One synth behind one interface: the SoundFont synth (rustysynth) or the built-in one, driven
//! by timed [`Event`]s a block at a time.

use crate::builtin::BuiltinSynth;
use crate::error::{Error, ErrorKind};
use crate::schedule::{Event, LanePlan, Message};
use crate::soundfont::Instrument;
use rustysynth::{Synthesizer, SynthesizerSettings};

/// Voices per SoundFont synth. FluidSynth's default is 256; one lane rarely needs more than
/// 128 and each lane has its own budget.
const POLYPHONY: usize = 128;

enum Synth {
    SoundFont(Box<Synthesizer>),
    BuiltIn(Box<BuiltinSynth>),
}

impl Synth {
    fn new(instrument: &Instrument, sample_rate: u32, effects: bool) -> Result<Self, Error> {
        Ok(match instrument {
            Instrument::SoundFont { font, .. } => {
                let mut settings = SynthesizerSettings::new(sample_rate as i32);
                settings.maximum_polyphony = POLYPHONY;
                settings.enable_reverb_and_chorus = effects;
                let synth = Synthesizer::new(font, &settings)
                    .map_err(|err| ErrorKind::InvalidOptions(err.to_string()))?;
                Synth::SoundFont(Box::new(synth))
            }
            Instrument::BuiltIn { .. } => Synth::BuiltIn(Box::new(BuiltinSynth::new(sample_rate))),
        })
    }

    fn apply(&mut self, message: Message) {
        match (self, message) {
            (Synth::SoundFont(synth), message) => {
                let (channel, command, data1, data2) = match message {
                    Message::Control {
                        channel,
                        controller,
                        value,
                    } => (channel, 0xb0, controller, value),
                    Message::Program { channel, program } => (channel, 0xc0, program, 0),
                    Message::NoteOff { channel, key } => (channel, 0x80, key, 0),
                    Message::NoteOn {
                        channel,
                        key,
                        velocity,
                    } => (channel, 0x90, key, velocity),
                };
                synth.process_midi_message(
                    i32::from(channel),
                    command,
                    i32::from(data1),
                    i32::from(data2),
                );
            }
            (
                Synth::BuiltIn(synth),
                Message::Control {
                    channel,
                    controller,
                    value,
                },
            ) => synth.control_change(channel, controller, value),
            (Synth::BuiltIn(synth), Message::Program { channel, program }) => {
                synth.program_change(channel, program)
            }
            (Synth::BuiltIn(synth), Message::NoteOff { channel, key }) => {
                synth.note_off(channel, key)
            }
            (
                Synth::BuiltIn(synth),
                Message::NoteOn {
                    channel,
                    key,
                    velocity,
                },
            ) => synth.note_on(channel, key, velocity),
        }
    }

    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        match self {
            Synth::SoundFont(synth) => synth.render(left, right),
            Synth::BuiltIn(synth) => synth.render(left, right),
        }
    }
}

/// One synth playing its share of the song, rendering consecutive chunks into its buffers.
pub struct Lane {
    synth: Synth,
    events: Vec<Event>,
    next_event: usize,
    frame: u64,
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

impl Lane {
    pub fn new(
        instrument: &Instrument,
        sample_rate: u32,
        effects: bool,
        plan: LanePlan,
        chunk: usize,
    ) -> Result<Self, Error> {
        Ok(Lane {
            synth: Synth::new(instrument, sample_rate, effects)?,
            events: plan.events,
            next_event: 0,
            frame: 0,
            left: vec![0.0; chunk],
            right: vec![0.0; chunk],
        })
    }

    /// Renders the next `frames` frames into `left[..frames]` / `right[..frames]`, applying
    /// each event at its frame.
    pub fn render_next(&mut self, frames: usize) {
        let end = self.frame + frames as u64;
        let mut done = 0usize;
        while let Some(event) = self.events.get(self.next_event) {
            if event.frame >= end {
                break;
            }
            let at = (event.frame.max(self.frame) - self.frame) as usize;
            if at > done {
                self.synth
                    .render(&mut self.left[done..at], &mut self.right[done..at]);
                done = at;
            }
            self.synth.apply(event.message);
            self.next_event += 1;
        }
        if frames > done {
            self.synth
                .render(&mut self.left[done..frames], &mut self.right[done..frames]);
        }
        self.frame = end;
    }
}
