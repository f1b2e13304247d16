//! The result types: one [`MetricsReport`] per roll, and [`MetricsAccumulator`] to average
//! reports over a corpus (the training data's reference table) or over generated windows.

use crate::in_scale::Scale;
use crate::view::TrackView;
use crate::{
    drum_pattern, empty_bar, entropy, groove, in_scale, pitch_classes, polyphony, qualified_note,
    tonal_distance,
};
use orchestrion_music::{PianoRoll, TrackRole};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metrics of one track (or, after averaging, of every track with this role).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackMetrics {
    /// The track's role; averaging merges tracks by role.
    pub role: TrackRole,
    /// Drum tracks get rhythm metrics only.
    pub is_drum: bool,
    /// Bars measured: the weight of this track when reports are averaged.
    pub bars: usize,
    /// Notes that start in the measured bars.
    pub notes: usize,
    /// EB: fraction of bars in which nothing sounds.
    pub empty_bar_rate: Option<f64>,
    /// UPC: pitch classes sounding per non-empty bar (pitched tracks).
    pub used_pitch_classes: Option<f64>,
    /// PR: fraction of steps with at least two pitches sounding (pitched tracks).
    pub polyphonic_rate: Option<f64>,
    /// QN: fraction of notes lasting at least three sixteenths (pitched tracks).
    pub qualified_note_rate: Option<f64>,
    /// DP: fraction of drum onsets on an 8th/16th pattern grid, with tolerance (drums only).
    pub drum_pattern: Option<f64>,
    /// Fraction of notes in the roll's best-fitting major/minor scale (pitched tracks).
    pub in_scale_rate: Option<f64>,
    /// Shannon entropy (bits) of the pitch-class histogram of the notes (pitched tracks).
    pub pitch_class_entropy: Option<f64>,
    /// 1 − mean Hamming distance between the onset patterns of neighbouring bars.
    pub groove_consistency: Option<f64>,
}

/// A metric of two pitched tracks together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairMetrics {
    /// The first role (the smaller in `TrackRole` order, so the melody comes first).
    pub a: TrackRole,
    /// The second role.
    pub b: TrackRole,
    /// Bars measured: the weight of this pair when reports are averaged.
    pub bars: usize,
    /// TD: mean Euclidean distance between the two tracks' tonal centroids over the bars where
    /// both sound.
    pub tonal_distance: Option<f64>,
}

/// The metrics of one roll, or the average over many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// How many rolls were averaged (1 for a single [`crate::evaluate`]).
    pub rolls: usize,
    /// Bars per roll summed over the rolls.
    pub bars: usize,
    /// The scale the in-scale rate was measured against (a single roll only).
    pub scale: Option<Scale>,
    /// One entry per track (per role after averaging, in role order).
    pub tracks: Vec<TrackMetrics>,
    /// One entry per pair of pitched tracks.
    pub pairs: Vec<PairMetrics>,
}

impl MetricsReport {
    /// The metrics of the first track with `role`.
    pub fn track(&self, role: TrackRole) -> Option<&TrackMetrics> {
        self.tracks.iter().find(|t| t.role == role)
    }

    /// The metrics of the pair of roles, in either order.
    pub fn pair(&self, a: TrackRole, b: TrackRole) -> Option<&PairMetrics> {
        let (a, b) = ordered(a, b);
        self.pairs.iter().find(|p| p.a == a && p.b == b)
    }
}

fn ordered(a: TrackRole, b: TrackRole) -> (TrackRole, TrackRole) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Measures the views of one roll.
pub(crate) fn build(roll: &PianoRoll, views: &[TrackView], scale: Option<Scale>) -> MetricsReport {
    let tracks = views
        .iter()
        .map(|v| measure_track(v, scale))
        .collect::<Vec<_>>();
    let mut pairs = Vec::new();
    for (i, a) in views.iter().enumerate() {
        for b in views.iter().skip(i + 1) {
            if a.is_drum || b.is_drum {
                continue;
            }
            let (ra, rb) = ordered(a.role, b.role);
            pairs.push(PairMetrics {
                a: ra,
                b: rb,
                bars: a.bars(),
                tonal_distance: tonal_distance::tonal_distance(a, b),
            });
        }
    }
    MetricsReport {
        rolls: 1,
        bars: roll.bar_steps.len(),
        scale,
        tracks,
        pairs,
    }
}

/// Every single-track metric of one view.
pub fn measure_track(v: &TrackView, scale: Option<Scale>) -> TrackMetrics {
    let pitched = !v.is_drum;
    TrackMetrics {
        role: v.role,
        is_drum: v.is_drum,
        bars: v.bars(),
        notes: v.notes.len(),
        empty_bar_rate: empty_bar::empty_bar_rate(v),
        used_pitch_classes: pitched
            .then(|| pitch_classes::used_pitch_classes(v))
            .flatten(),
        polyphonic_rate: pitched
            .then(|| polyphony::polyphonic_rate(v, polyphony::POLYPHONIC_PITCHES))
            .flatten(),
        qualified_note_rate: pitched
            .then(|| qualified_note::qualified_note_rate(v))
            .flatten(),
        drum_pattern: v
            .is_drum
            .then(|| drum_pattern::drum_pattern_rate(v))
            .flatten(),
        in_scale_rate: match scale {
            Some(scale) if pitched => in_scale::in_scale_rate(v, scale),
            _ => None,
        },
        pitch_class_entropy: pitched.then(|| entropy::pitch_class_entropy(v)).flatten(),
        groove_consistency: groove::groove_consistency(v),
    }
}

/// A weighted mean that ignores undefined values.
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    weight: f64,
}

impl Mean {
    fn add(&mut self, value: Option<f64>, weight: usize) {
        if let Some(value) = value {
            self.sum += value * weight as f64;
            self.weight += weight as f64;
        }
    }

    fn get(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

/// Running sums of every metric of one role.
#[derive(Debug, Clone, Default)]
struct TrackSums {
    bars: usize,
    notes: usize,
    metrics: [Mean; 8],
}

fn metric_values(t: &TrackMetrics) -> [Option<f64>; 8] {
    [
        t.empty_bar_rate,
        t.used_pitch_classes,
        t.polyphonic_rate,
        t.qualified_note_rate,
        t.drum_pattern,
        t.in_scale_rate,
        t.pitch_class_entropy,
        t.groove_consistency,
    ]
}

/// Averages reports over many rolls. Tracks are merged by (role, drum flag) and pairs by their
/// two roles; each metric is weighted by the bars of the tracks where it is defined, so equal
/// windows count equally and an undefined value (e.g. no notes) does not pull the mean to 0.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccumulator {
    rolls: usize,
    bars: usize,
    tracks: BTreeMap<(TrackRole, bool), TrackSums>,
    pairs: BTreeMap<(TrackRole, TrackRole), (usize, Mean)>,
}

impl MetricsAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one report (itself possibly an average: its `rolls` and `bars` carry over).
    pub fn add(&mut self, report: &MetricsReport) {
        self.rolls += report.rolls;
        self.bars += report.bars;
        for t in &report.tracks {
            let sums = self.tracks.entry((t.role, t.is_drum)).or_default();
            sums.bars += t.bars;
            sums.notes += t.notes;
            for (mean, value) in sums.metrics.iter_mut().zip(metric_values(t)) {
                mean.add(value, t.bars);
            }
        }
        for p in &report.pairs {
            let (bars, mean) = self.pairs.entry((p.a, p.b)).or_default();
            *bars += p.bars;
            mean.add(p.tonal_distance, p.bars);
        }
    }

    /// Number of rolls added so far.
    pub fn rolls(&self) -> usize {
        self.rolls
    }

    /// The averaged report (an empty report when nothing was added).
    pub fn finish(&self) -> MetricsReport {
        let tracks = self
            .tracks
            .iter()
            .map(|(&(role, is_drum), sums)| {
                let m = sums.metrics.map(|mean| mean.get());
                TrackMetrics {
                    role,
                    is_drum,
                    bars: sums.bars,
                    notes: sums.notes,
                    empty_bar_rate: m[0],
                    used_pitch_classes: m[1],
                    polyphonic_rate: m[2],
                    qualified_note_rate: m[3],
                    drum_pattern: m[4],
                    in_scale_rate: m[5],
                    pitch_class_entropy: m[6],
                    groove_consistency: m[7],
                }
            })
            .collect();
        let pairs = self
            .pairs
            .iter()
            .map(|(&(a, b), (bars, mean))| PairMetrics {
                a,
                b,
                bars: *bars,
                tonal_distance: mean.get(),
            })
            .collect();
        MetricsReport {
            rolls: self.rolls,
            bars: self.bars,
            scale: None,
            tracks,
            pairs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests::roll;
    use crate::{evaluate, evaluate_in_scale};

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    /// Equal up to float rounding in the last digits (JSON printing, re-averaging).
    fn assert_reports_close(a: &MetricsReport, b: &MetricsReport) {
        let (ja, jb) = (
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
        );
        fn walk(a: &serde_json::Value, b: &serde_json::Value) {
            use serde_json::Value;
            match (a, b) {
                (Value::Number(x), Value::Number(y)) => {
                    let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                    assert!((x - y).abs() < 1e-12, "{x} != {y}");
                }
                (Value::Array(x), Value::Array(y)) => {
                    assert_eq!(x.len(), y.len());
                    x.iter().zip(y).for_each(|(x, y)| walk(x, y));
                }
                (Value::Object(x), Value::Object(y)) => {
                    assert_eq!(x.len(), y.len());
                    x.iter().for_each(|(k, v)| walk(v, &y[k]));
                }
                _ => assert_eq!(a, b),
            }
        }
        walk(&ja, &jb);
    }

    /// Two 4/4 bars at 4 steps per beat: a C-major melody, a bass and drums.
    fn band() -> PianoRoll {
        roll(
            4,
            &[16, 16],
            &[
                // Melody: C4 E4 G4 (4 steps each) in bar 0, B4 (2 steps) and F#4 in bar 1.
                (
                    TrackRole::Melody,
                    false,
                    &[(0, 60, 4), (4, 64, 4), (8, 67, 4), (16, 71, 2), (20, 66, 4)],
                ),
                // Bass: C2 held through bar 0 only.
                (TrackRole::Bass, false, &[(0, 36, 16)]),
                // Drums: kick on beats, one off-grid snare 16th in bar 1.
                (
                    TrackRole::Drums,
                    true,
                    &[
                        (0, 36, 1),
                        (4, 36, 1),
                        (8, 36, 1),
                        (12, 36, 1),
                        (16, 36, 1),
                        (21, 38, 1),
                    ],
                ),
            ],
        )
    }

    #[test]
    fn evaluates_every_track_and_pitched_pair() {
        let report = evaluate(&band()).unwrap();
        assert_eq!((report.rolls, report.bars, report.tracks.len()), (1, 2, 3));
        // C major holds 6 of the 7 pitched notes (not F#); G major holds all 7.
        assert_eq!(
            report.scale,
            Some(Scale {
                tonic: 7,
                minor: false
            })
        );

        let melody = report.track(TrackRole::Melody).unwrap();
        assert_eq!((melody.bars, melody.notes), (2, 5));
        assert_eq!(melody.empty_bar_rate, Some(0.0));
        // Bar 0: C E G = 3 classes; bar 1: B F# = 2.
        assert_eq!(melody.used_pitch_classes, Some(2.5));
        assert_eq!(melody.polyphonic_rate, Some(0.0));
        // B4 lasts 2 steps: 4 of 5 notes qualify.
        assert_eq!(melody.qualified_note_rate, Some(0.8));
        assert_eq!(melody.drum_pattern, None);
        assert_eq!(melody.in_scale_rate, Some(1.0));
        // Five distinct classes, one note each.
        assert!(close(melody.pitch_class_entropy, 5f64.log2()));
        // Onsets {0,4,8} vs {0,4}: 1 difference in 16.
        assert_eq!(melody.groove_consistency, Some(1.0 - 1.0 / 16.0));

        let bass = report.track(TrackRole::Bass).unwrap();
        assert_eq!(bass.empty_bar_rate, Some(0.5));
        assert_eq!(bass.used_pitch_classes, Some(1.0));
        assert_eq!(bass.pitch_class_entropy, Some(0.0));

        let drums = report.track(TrackRole::Drums).unwrap();
        assert!(drums.is_drum);
        assert_eq!(drums.in_scale_rate, None);
        assert_eq!(drums.used_pitch_classes, None);
        // Bar 0: 4 of 4 on the 8th grid; bar 1: kick on grid, snare at 21 off → best 1 of 2.
        assert_eq!(drums.drum_pattern, Some(0.75));

        // Only the melody-bass pair (drums have no harmony); bass silent in bar 1.
        assert_eq!(report.pairs.len(), 1);
        let pair = report.pair(TrackRole::Bass, TrackRole::Melody).unwrap();
        assert_eq!((pair.a, pair.b), (TrackRole::Melody, TrackRole::Bass));
        let td = crate::tonal_distance::chroma_distance(
            &[4.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0],
            &[16.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        assert_eq!(pair.tonal_distance, td);
    }

    #[test]
    fn a_given_scale_overrides_the_estimate() {
        let c_major = Scale {
            tonic: 0,
            minor: false,
        };
        let report = evaluate_in_scale(&band(), c_major).unwrap();
        assert_eq!(report.scale, Some(c_major));
        assert_eq!(
            report.track(TrackRole::Melody).unwrap().in_scale_rate,
            Some(0.8)
        );
    }

    #[test]
    fn accumulator_weights_by_bars_and_skips_undefined_values() {
        let two_bars = evaluate(&band()).unwrap();
        // A four-bar roll whose melody is silent: EB 1, the other melody metrics undefined.
        let silent = evaluate(&roll(4, &[16; 4], &[(TrackRole::Melody, false, &[])])).unwrap();
        let mut acc = MetricsAccumulator::new();
        acc.add(&two_bars);
        acc.add(&silent);
        let mean = acc.finish();
        assert_eq!((mean.rolls, mean.bars, acc.rolls()), (2, 6, 2));
        let melody = mean.track(TrackRole::Melody).unwrap();
        assert_eq!((melody.bars, melody.notes), (6, 5));
        // (0 × 2 + 1 × 4) / 6.
        assert!(close(melody.empty_bar_rate, 4.0 / 6.0));
        assert!(close(melody.qualified_note_rate, 0.8));
        // Roles come out in role order: melody, drums, bass.
        let roles: Vec<_> = mean.tracks.iter().map(|t| t.role).collect();
        assert_eq!(
            roles,
            [TrackRole::Melody, TrackRole::Drums, TrackRole::Bass]
        );
        assert_eq!(mean.pairs.len(), 1);
        // Averaging an average keeps its weight.
        let mut again = MetricsAccumulator::new();
        again.add(&mean);
        assert_reports_close(&again.finish(), &mean);
    }

    #[test]
    fn reports_round_trip_through_json_without_nan() {
        let report = evaluate(&band()).unwrap();
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"drum_pattern\":null"));
        let back: MetricsReport = serde_json::from_str(&json).unwrap();
        assert_reports_close(&back, &report);
    }
}
