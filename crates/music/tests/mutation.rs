//! Fixed-seed byte mutation of real and synthetic MIDI files: the reader must never panic, hang
//! or run out of memory, whatever the bytes. (The open-ended version is the cargo-fuzz target in
//! `fuzz/`.) Deterministic: the same mutations every run.

use crate::common;

use orchestrion_music::{Limits, Note, Song, TempoChange, Track, TrackRole};

/// xorshift64*: a tiny deterministic generator, so the mutations never change between runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random damage: flip bits, overwrite with "interesting" bytes (length fields that lie,
/// status bytes), insert, delete, duplicate a run, or truncate.
fn mutate(bytes: &mut Vec<u8>, rng: &mut Rng) {
    const INTERESTING: [u8; 10] = [0x00, 0x7F, 0x80, 0xFF, 0xF0, 0xF7, 0x90, 0x2F, 0x51, 0x58];
    let len = bytes.len();
    match rng.below(7) {
        0 if len > 0 => {
            let at = rng.below(len);
            bytes[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            bytes[at] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 => {
            let at = rng.below(len + 1);
            bytes.insert(at, rng.next() as u8);
        }
        3 if len > 0 => {
            let at = rng.below(len);
            let count = rng.below(16).min(len - at);
            bytes.drain(at..at + count);
        }
        4 if len > 4 => {
            // A 4-byte length field that lies (chunk lengths, SysEx/meta lengths).
            let at = rng.below(len - 4);
            let lie = [0xFFFF_FFFFu32, 0x7FFF_FFFF, 0x0FFF_FFFF, 0][rng.below(4)];
            bytes[at..at + 4].copy_from_slice(&lie.to_be_bytes());
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let count = rng.below(64).min(len - at);
            let run: Vec<u8> = bytes[at..at + count].to_vec();
            let to = rng.below(len + 1);
            bytes.splice(to..to, run);
        }
        _ => bytes.truncate(rng.below(len + 1)),
    }
}

fn synthetic_files() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for tracks in 1..4usize {
        let song = Song {
            ticks_per_beat: 96 * tracks as u16,
            tempos: vec![
                TempoChange {
                    tick: 0,
                    micros_per_beat: 400_000,
                },
                TempoChange {
                    tick: 500,
                    micros_per_beat: 700_000,
                },
            ],
            meters: vec![],
            key_signatures: vec![],
            tracks: (0..tracks)
                .map(|index| Track {
                    name: format!("Part {index}"),
                    program: index as u8 * 20,
                    channel: index as u8,
                    is_drum: index == 2,
                    role: TrackRole::Other,
                    notes: (0..40)
                        .map(|step| Note {
                            pitch: 40 + (step * 7 % 30) as u8,
                            velocity: 60 + step as u8,
                            start: step * 48,
                            duration: 24 + step % 3 * 40,
                        })
                        .collect(),
                })
                .collect(),
            texts: vec!["seed=1".into()],
        };
        files.push(song.to_midi_bytes());
    }
    files
}

#[test]
fn mutated_files_never_panic() {
    let mut seeds = synthetic_files();
    match common::datasets_dir() {
        Some(datasets) => {
            // Every 120th corpus file: a few dozen real files from all corpora, small ones first.
            let mut real: Vec<Vec<u8>> = common::midi_files(&datasets)
                .iter()
                .step_by(120)
                .filter_map(|path| std::fs::read(path).ok())
                .collect();
            real.sort_by_key(|bytes| bytes.len());
            real.truncate(40);
            seeds.extend(real);
        }
        None => println!("../shared/datasets/ is not present: mutating synthetic files only"),
    }
    let limits = Limits::default();
    let mut rng = Rng(0x5EED_0F0C_4E57_u64);
    let (mut read, mut refused, mut total) = (0usize, 0usize, 0usize);
    for seed in &seeds {
        for round in 0..300 {
            let mut bytes = seed.clone();
            for _ in 0..=round % 8 {
                mutate(&mut bytes, &mut rng);
            }
            match Song::from_midi_bytes(&bytes, &limits) {
                Ok(song) => {
                    read += 1;
                    // Whatever was read is a song the rest of the system can use.
                    assert!(song.ticks_per_beat > 0);
                    assert_eq!(song.tempos[0].tick, 0);
                    let _ = song.to_midi_bytes();
                }
                Err(err) => {
                    refused += 1;
                    assert!(!err.to_string().is_empty());
                }
            }
            total += 1;
        }
    }
    println!(
        "{total} mutated files from {} seeds: {read} read, {refused} refused",
        seeds.len()
    );
    assert!(total >= 10_000);
    assert!(
        read > 0 && refused > 0,
        "mutations should both keep and break files"
    );
}
