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
