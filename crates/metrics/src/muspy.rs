//! The muspy library's definitions of the metrics we share with it, computed with our metric
//! code on a [`Song`] at its own tick resolution (muspy measures MIDI files in ticks). They exist
//! for the agreement test against muspy; Orchestrion itself reports the roll-based metrics.
//!
//! Source: Dong, Chen, Dubnov, McAuley and Berg-Kirkpatrick, "MusPy: A Toolkit for Symbolic
//! Music Generation", ISMIR 2020 (`muspy.metrics`, version 0.5).

use crate::view::{GridNote, TrackView};
use crate::{drum_pattern, entropy, groove, in_scale, polyphony};
use orchestrion_music::{Song, TrackRole};

/// The song's end in ticks: the latest note end over every track (muspy's `get_end_time`).
fn end_tick(song: &Song) -> u64 {
    song.tracks
        .iter()
        .flat_map(|t| &t.notes)
        .map(|n| n.start + n.duration)
        .max()
        .unwrap_or(0)
}

/// One view holding the notes of the chosen tracks, one step per tick, in bars of `bar_ticks`
/// ticks covering `ticks` ticks. `extra_tick` lengthens every note by one tick.
fn tick_view(
    song: &Song,
    keep: impl Fn(bool) -> bool,
    ticks: u64,
    bar_ticks: u64,
    extra_tick: bool,
) -> TrackView {
    let notes = song
        .tracks
        .iter()
        .filter(|t| keep(t.is_drum))
        .flat_map(|t| &t.notes)
        .map(|n| GridNote {
            start: n.start as usize,
            pitch: n.pitch.min(127),
            len: (n.duration + u64::from(extra_tick)) as usize,
        })
        .collect();
    let mut bar_steps = vec![bar_ticks as u32; (ticks / bar_ticks) as usize];
    if !ticks.is_multiple_of(bar_ticks) {
        bar_steps.push((ticks % bar_ticks) as u32);
    }
    TrackView::from_notes(
        TrackRole::Other,
        false,
        u32::from(song.ticks_per_beat),
        &bar_steps,
        notes,
    )
}

/// muspy `empty_beat_rate`: the share of beats in which no note of any track sounds. muspy
/// counts a note in the beat its end falls on too, and has `end // resolution + 1` beats; both
/// are reproduced by lengthening each note by one tick over `end + 1` ticks, after which it is
/// our empty-bar rate with one-beat bars. `None` for a song without notes.
pub fn empty_beat_rate(song: &Song) -> Option<f64> {
    let end = end_tick(song);
    if end < 1 {
        return None;
    }
    let view = tick_view(
        song,
        |_| true,
        end + 1,
        u64::from(song.ticks_per_beat),
        true,
    );
    crate::empty_bar::empty_bar_rate(&view)
}

/// muspy `polyphony_rate` (threshold 2): the share of ticks, up to the end of the last note of
/// any track, where more than two pitches of the pitched tracks sound.
pub fn polyphony_rate(song: &Song) -> Option<f64> {
    let end = end_tick(song);
    let view = tick_view(song, |drum| !drum, end, end.max(1), false);
    polyphony::polyphonic_rate_over_all_steps(&view, 3)
}

/// muspy `pitch_class_entropy`: entropy of the pitch classes of all notes of pitched tracks.
pub fn pitch_class_entropy(song: &Song) -> Option<f64> {
    entropy::entropy_of_histogram(&pitched_histogram(song))
}

/// muspy `scale_consistency`: the best share of pitched notes inside one of the 24 scales.
pub fn scale_consistency(song: &Song) -> Option<f64> {
    in_scale::scale_consistency(&pitched_histogram(song))
}

fn pitched_histogram(song: &Song) -> [u64; 12] {
    let mut histogram = [0u64; 12];
    for note in song
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| &t.notes)
    {
        histogram[note.pitch as usize % 12] += 1;
    }
    histogram
}

/// muspy `drum_pattern_consistency`: the larger of the shares of drum onsets on the duple grid
/// (every 16th note of a beat, or every 8th or beat when the resolution does not divide) and on
/// the triple grid (every triplet 8th), with no tolerance and no phase search.
pub fn drum_pattern_consistency(song: &Song) -> Option<f64> {
    let resolution = usize::from(song.ticks_per_beat);
    let onsets: Vec<usize> = song
        .tracks
        .iter()
        .filter(|t| t.is_drum)
        .flat_map(|t| &t.notes)
        .map(|n| n.start as usize)
        .collect();
    let duple_period = [4, 2]
        .into_iter()
        .find(|&d| resolution.is_multiple_of(d))
        .map_or(resolution, |d| resolution / d);
    let triple_period = if resolution.is_multiple_of(3) {
        resolution / 3
    } else {
        resolution
    };
    let duple = drum_pattern::pattern_share(&onsets, duple_period, 0, false)?;
    let triple = drum_pattern::pattern_share(&onsets, triple_period, 0, false)?;
    Some(duple.max(triple))
}

/// muspy `groove_consistency` with measures of `measure_ticks` ticks: onsets of every track
/// (drums included) in `end // measure_ticks + 1` measures, then our groove consistency. A song
/// without notes (muspy: 1 when it still has two measures of length) is `None`.
pub fn groove_consistency(song: &Song, measure_ticks: u64) -> Option<f64> {
    if measure_ticks == 0 {
        return None;
    }
    let measures = end_tick(song) / measure_ticks + 1;
    let view = tick_view(
        song,
        |_| true,
        measures * measure_ticks,
        measure_ticks,
        false,
    );
    groove::groove_consistency(&view)
}
