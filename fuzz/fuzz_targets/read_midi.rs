//! Any bytes given to the MIDI reader must give a song or an error: never a panic, a hang or a
//! huge allocation. A song that reads must also write and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orchestrion_music::{Limits, Song};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(song) = Song::from_midi_bytes(bytes, &Limits::default()) {
        let written = song.to_midi_bytes();
        let again = Song::from_midi_bytes(&written, &Limits::unlimited());
        assert!(
            again.is_ok(),
            "a song we read must survive a write and a read"
        );
    }
});
