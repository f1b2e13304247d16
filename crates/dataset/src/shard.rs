//! The shard file: one split's windows as a few flat safetensors arrays.
//!
//! Notes are stored, not rolls (a 4-bar POP909 window is ~100 notes × 10 bytes against 3 × 64 ×
//! 84 bytes of planes), in CSR form so a reader slices without parsing:
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `notes` | U16 | [M, 5] | track (role index), pitch, velocity, start step, duration steps |
//! | `window_note_offsets` | U32 | [N + 1] | window i's notes are rows `o[i]..o[i+1]` of `notes` |
//! | `window_song` | U32 | [N] | song id (row of `songs.json`) |
//! | `window_bar_offsets` | U32 | [N + 1] | window i's bars are `bar_steps[b[i]..b[i+1]]` |
//! | `bar_steps` | U32 | [B] | steps of each bar |
//!
//! Little-endian as safetensors requires; no free-form metadata (its JSON map would not keep a
//! stable key order, and the same recipe must give the same bytes).

use crate::window::{Window, WindowNote};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// Fields per row of `notes`.
const NOTE_FIELDS: usize = 5;

fn le_u16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn le_u32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serializes windows to safetensors bytes (same windows → same bytes).
pub fn encode(windows: &[Window]) -> Result<Vec<u8>, String> {
    let mut notes = Vec::new();
    let mut note_offsets = vec![0u32];
    let mut songs = Vec::with_capacity(windows.len());
    let mut bar_offsets = vec![0u32];
    let mut bar_steps = Vec::new();
    for window in windows {
        for n in &window.notes {
            notes.extend_from_slice(&[
                u16::from(n.track),
                u16::from(n.pitch),
                u16::from(n.velocity),
                n.start,
                n.duration,
            ]);
        }
        let rows = u32::try_from(notes.len() / NOTE_FIELDS).map_err(|_| "too many notes")?;
        note_offsets.push(rows);
        songs.push(window.song);
        bar_steps.extend_from_slice(&window.bar_steps);
        bar_offsets.push(u32::try_from(bar_steps.len()).map_err(|_| "too many bars")?);
    }
    let buffers = [
        (
            "notes",
            Dtype::U16,
            vec![notes.len() / NOTE_FIELDS, NOTE_FIELDS],
            le_u16(&notes),
        ),
        (
            "window_note_offsets",
            Dtype::U32,
            vec![note_offsets.len()],
            le_u32(&note_offsets),
        ),
        ("window_song", Dtype::U32, vec![songs.len()], le_u32(&songs)),
        (
            "window_bar_offsets",
            Dtype::U32,
            vec![bar_offsets.len()],
            le_u32(&bar_offsets),
        ),
        (
            "bar_steps",
            Dtype::U32,
            vec![bar_steps.len()],
            le_u32(&bar_steps),
        ),
    ];
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (*name, view))
                .map_err(|err| err.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, None).map_err(|err| err.to_string())
}

fn read_u32(tensors: &SafeTensors, name: &str) -> Result<Vec<u32>, String> {
    let view = tensors
        .tensor(name)
        .map_err(|err| format!("{name}: {err}"))?;
    if view.dtype() != Dtype::U32 || view.shape().len() != 1 {
        return Err(format!("{name}: expected a 1-D U32 tensor"));
    }
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Reads windows back, checking every offset so a damaged file is an error, not a panic.
pub fn decode(bytes: &[u8]) -> Result<Vec<Window>, String> {
    let tensors = SafeTensors::deserialize(bytes).map_err(|err| err.to_string())?;
    let notes_view = tensors
        .tensor("notes")
        .map_err(|err| format!("notes: {err}"))?;
    if notes_view.dtype() != Dtype::U16
        || notes_view.shape().len() != 2
        || notes_view.shape()[1] != NOTE_FIELDS
    {
        return Err(format!(
            "notes: expected a U16 tensor of shape [M, {NOTE_FIELDS}]"
        ));
    }
    let notes: Vec<u16> = notes_view
        .data()
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let note_offsets = read_u32(&tensors, "window_note_offsets")?;
    let songs = read_u32(&tensors, "window_song")?;
    let bar_offsets = read_u32(&tensors, "window_bar_offsets")?;
    let bar_steps = read_u32(&tensors, "bar_steps")?;
    let count = songs.len();
    if note_offsets.len() != count + 1 || bar_offsets.len() != count + 1 {
        return Err("offset arrays do not match the number of windows".into());
    }
    let rows = notes.len() / NOTE_FIELDS;
    let mut windows = Vec::with_capacity(count);
    for i in 0..count {
        let (n0, n1) = (note_offsets[i] as usize, note_offsets[i + 1] as usize);
        let (b0, b1) = (bar_offsets[i] as usize, bar_offsets[i + 1] as usize);
        if n0 > n1 || n1 > rows || b0 > b1 || b1 > bar_steps.len() {
            return Err(format!("window {i}: offsets out of range"));
        }
        let window_notes = notes[n0 * NOTE_FIELDS..n1 * NOTE_FIELDS]
            .chunks_exact(NOTE_FIELDS)
            .map(|row| {
                let narrow = |v: u16, what: &str| {
                    u8::try_from(v).map_err(|_| format!("window {i}: {what} {v} out of range"))
                };
                Ok(WindowNote {
                    track: narrow(row[0], "track")?,
                    pitch: narrow(row[1], "pitch")?,
                    velocity: narrow(row[2], "velocity")?,
                    start: row[3],
                    duration: row[4],
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        windows.push(Window {
            song: songs[i],
            bar_steps: bar_steps[b0..b1].to_vec(),
            notes: window_notes,
        });
    }
    Ok(windows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> Vec<Window> {
        vec![
            Window {
                song: 3,
                bar_steps: vec![16, 16],
                notes: vec![
                    WindowNote {
                        track: 0,
                        pitch: 60,
                        velocity: 100,
                        start: 0,
                        duration: 4,
                    },
                    WindowNote {
                        track: 1,
                        pitch: 36,
                        velocity: 80,
                        start: 31,
                        duration: 1,
                    },
                ],
            },
            Window {
                song: 4,
                bar_steps: vec![12],
                notes: vec![],
            },
        ]
    }

    #[test]
    fn round_trip_and_stable_bytes() {
        let bytes = encode(&windows()).unwrap();
        assert_eq!(decode(&bytes).unwrap(), windows());
        assert_eq!(encode(&windows()).unwrap(), bytes);
    }

    #[test]
    fn empty_shard_round_trips() {
        let bytes = encode(&[]).unwrap();
        assert!(decode(&bytes).unwrap().is_empty());
    }

    #[test]
    fn damaged_shard_is_an_error() {
        let mut bytes = encode(&windows()).unwrap();
        assert!(decode(&bytes[..bytes.len() - 3]).is_err());
        bytes[0] ^= 0xff;
        assert!(decode(&bytes).is_err());
    }
}
