//! TD, the tonal distance between two tracks: whether they agree harmonically. The
//! accompaniment must follow the melody's harmony, so melody ↔ accompaniment pairs of real songs
//! score closer than pairs taken from different songs.
//!
//! Source: Harte, Sandler and Gasser, "Detecting Harmonic Change in Musical Audio", ACM
//! Multimedia workshop on Audio and Music Computing, 2006 (the 6-D tonal centroid: circles of
//! fifths, minor thirds and major thirds with radii 1, 1, 0.5), used as metric TD by Dong et
//! al., "MuseGAN", AAAI 2018. We compare bar by bar; MuseGAN's later code splits bars into beats.

use crate::view::TrackView;

/// Radii of the three circles (fifths, minor thirds, major thirds), as in Harte et al.
const RADII: [f64; 3] = [1.0, 1.0, 0.5];
/// Angle step per pitch class of each circle, in units of π.
const ANGLES: [f64; 3] = [7.0 / 6.0, 3.0 / 2.0, 2.0 / 3.0];

/// The tonal centroid of a chroma vector (any non-negative weights per pitch class), or `None`
/// when the chroma is all zero.
pub fn tonal_centroid(chroma: &[f64; 12]) -> Option<[f64; 6]> {
    let total: f64 = chroma.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut centroid = [0.0; 6];
    for (class, &weight) in chroma.iter().enumerate() {
        for circle in 0..3 {
            let angle = class as f64 * ANGLES[circle] * std::f64::consts::PI;
            centroid[2 * circle] += RADII[circle] * angle.sin() * weight / total;
            centroid[2 * circle + 1] += RADII[circle] * angle.cos() * weight / total;
        }
    }
    Some(centroid)
}

/// Euclidean distance between the tonal centroids of two chroma vectors; `None` if either is
/// silent.
pub fn chroma_distance(a: &[f64; 12], b: &[f64; 12]) -> Option<f64> {
    let (a, b) = (tonal_centroid(a)?, tonal_centroid(b)?);
    Some(
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt(),
    )
}

/// Chroma of a run of steps: for each pitch class, the number of (step, pitch) cells sounding.
pub fn chroma(masks: &[u128]) -> [f64; 12] {
    let mut chroma = [0.0; 12];
    for &mask in masks {
        let mut bits = mask;
        while bits != 0 {
            let pitch = bits.trailing_zeros();
            chroma[pitch as usize % 12] += 1.0;
            bits &= bits - 1;
        }
    }
    chroma
}

/// Mean over the bars where both tracks sound of the distance between their bar chromas'
/// tonal centroids. `None` when no bar has both. The views must share their bars.
pub fn tonal_distance(a: &TrackView, b: &TrackView) -> Option<f64> {
    let bars = a.bars().min(b.bars());
    let mut total = 0.0;
    let mut counted = 0usize;
    for bar in 0..bars {
        let ca = chroma(&a.sounding[a.bar_range(bar)]);
        let cb = chroma(&b.sounding[b.bar_range(bar)]);
        if let Some(d) = chroma_distance(&ca, &cb) {
            total += d;
            counted += 1;
        }
    }
    (counted > 0).then(|| total / counted as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn view(notes: &[(usize, u8, usize)]) -> TrackView {
        let notes = notes
            .iter()
            .map(|&(start, pitch, len)| GridNote { start, pitch, len })
            .collect();
        TrackView::from_notes(TrackRole::Piano, false, 4, &[16, 16, 16], notes)
    }

    fn one_hot(class: usize) -> [f64; 12] {
        let mut c = [0.0; 12];
        c[class] = 1.0;
        c
    }

    #[test]
    fn centroid_of_single_pitch_classes() {
        // C: angle 0 on every circle → (0, 1, 0, 1, 0, 0.5).
        let c = tonal_centroid(&one_hot(0)).unwrap();
        let expect = [0.0, 1.0, 0.0, 1.0, 0.0, 0.5];
        assert!(
            c.iter().zip(expect).all(|(x, y)| (x - y).abs() < 1e-12),
            "{c:?}"
        );
        // C against F#: fifths circle angle 7π (opposite), minor-thirds 9π (opposite), major
        // thirds 4π (same point) → distance sqrt(2² + 2²) = 2√2.
        let d = chroma_distance(&one_hot(0), &one_hot(6)).unwrap();
        assert!((d - 8f64.sqrt()).abs() < 1e-12, "{d}");
        assert_eq!(chroma_distance(&one_hot(0), &[0.0; 12]), None);
    }

    #[test]
    fn chroma_weights_by_sounding_steps_and_folds_octaves() {
        let masks = [1u128 << 60 | 1u128 << 72, 1u128 << 64, 0];
        let c = chroma(&masks);
        assert_eq!((c[0], c[4], c.iter().sum::<f64>()), (2.0, 1.0, 3.0));
    }

    #[test]
    fn mean_over_bars_where_both_sound() {
        // Bar 0: both play C → 0. Bar 1: C against F# → 2√2. Bar 2: only one track → skipped.
        let a = view(&[(0, 60, 4), (16, 60, 4), (32, 60, 4)]);
        let b = view(&[(0, 48, 8), (16, 66, 4)]);
        let td = tonal_distance(&a, &b).unwrap();
        assert!((td - 8f64.sqrt() / 2.0).abs() < 1e-12, "{td}");
        assert_eq!(tonal_distance(&a, &view(&[])), None);
    }
}
