//! Pitch-class entropy: how evenly a track spreads its notes over the twelve pitch classes.
//! Tonal music concentrates on a few classes; random output approaches log2(12) ≈ 3.585 bits.
//!
//! Source: Wu and Yang, "The Jazz Transformer on the Front Line: Exploring the Shortcomings of
//! AI-composed Music through Quantitative Measures", ISMIR 2020; muspy's `pitch_class_entropy`
//! (same definition: notes counted once each, log base 2).

use crate::in_scale::pitch_class_histogram;
use crate::view::TrackView;

/// Shannon entropy in bits of a pitch-class histogram. `None` when it is empty.
pub fn entropy_of_histogram(histogram: &[u64; 12]) -> Option<f64> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    let total = total as f64;
    // `0.0 -` rather than unary minus: a single class must give 0, not -0.
    Some(
        0.0 - histogram
            .iter()
            .filter(|&&n| n > 0)
            .map(|&n| {
                let p = n as f64 / total;
                p * p.log2()
            })
            .sum::<f64>(),
    )
}

/// Entropy of the pitch classes of the view's notes. `None` without notes.
pub fn pitch_class_entropy(view: &TrackView) -> Option<f64> {
    entropy_of_histogram(&pitch_class_histogram([view]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_entropies() {
        let mut h = [0u64; 12];
        assert_eq!(entropy_of_histogram(&h), None);
        h[0] = 5;
        assert_eq!(entropy_of_histogram(&h), Some(0.0));
        h[7] = 5;
        assert_eq!(entropy_of_histogram(&h), Some(1.0));
        // 2 C, 1 E, 1 G: -(0.5 log 0.5 + 2 × 0.25 log 0.25) = 1.5 bits.
        let h = [2, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(entropy_of_histogram(&h), Some(1.5));
        let uniform = [3u64; 12];
        assert!((entropy_of_histogram(&uniform).unwrap() - 12f64.log2()).abs() < 1e-12);
    }
}
