//! Calibration: choose each role's decoding so that the decoded output is as dense, as long-
//! noted and as polyphonic as the training data.
//!
//! Why: the generator outputs probabilities, and how many notes come out of them depends on the
//! thresholds far more than on the weights (a 0.5 threshold left the chorale model's alto half
//! silent and its bass twice too busy). The data's `stats.json` says what the output should
//! look like per role: notes per bar, empty bars, polyphonic rate, qualified-note rate.
//!
//! How: the generator runs once per validation melody (one window each, fixed seeds), and its
//! probabilities are kept; then for every role a grid of onset thresholds × sustain thresholds ×
//! peak picking is decoded and measured with the metrics crate's own definitions, and the
//! setting closest to the data wins ([`fit_loss`]). The polyphony cap comes from the data: 1
//! where the data's part is a single line (polyphonic rate ≈ 0), else the chord size the data
//! does not exceed on 90 % of its sounding steps. Roles decode independently given the
//! probabilities, so the search is a few thousand cheap decodes, not generations: seconds.

use crate::data::GridNote;
use crate::decode::{RoleDecoding, decode_role};
use crate::error::Error;
use crate::inference::GenreModel;
use crate::store;
use orchestrion_dataset::{Dataset, Window};
use orchestrion_metrics::view::{GridNote as ViewNote, TrackView};
use orchestrion_metrics::{MetricsReport, empty_bar, polyphony, qualified_note};
use orchestrion_music::TrackRole;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What to calibrate on.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrateOptions {
    /// Validation melodies (windows) to generate for, spread evenly over the validation split.
    pub melodies: usize,
    /// Seed of the generator's noise (window `i` uses `seed ^ i`).
    pub seed: u64,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            melodies: 64,
            seed: 1,
        }
    }
}

/// The quantities calibration matches, for one role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DecodedStats {
    pub notes_per_bar: f64,
    pub empty_bar_rate: Option<f64>,
    pub polyphonic_rate: Option<f64>,
    pub qualified_note_rate: Option<f64>,
}

/// The result for one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleFit {
    pub role: TrackRole,
    /// The chosen decoding.
    pub decoding: RoleDecoding,
    /// The data's values (from `stats.json`).
    pub target: DecodedStats,
    /// The output with the decoding the model had before.
    pub before: DecodedStats,
    /// The output with the chosen decoding.
    pub after: DecodedStats,
    pub loss_before: f64,
    pub loss_after: f64,
}

/// The result of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Validation windows generated for.
    pub windows: usize,
    /// One per accompaniment role.
    pub roles: Vec<RoleFit>,
    /// One per role of the model, melody first (its entry is unused): what goes into
    /// `config.json`.
    pub decoding: Vec<RoleDecoding>,
    pub millis: f64,
}

impl Calibration {
    /// A Markdown table of every role's fit (target, before, after).
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| role | onset thr. | sustain thr. | max poly. | peaks | notes/bar (data · before → after) | EB | PR | QN |\n|---|---|---|---|---|---|---|---|---|\n",
        );
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
        let three = |t: Option<f64>, b: Option<f64>, a: Option<f64>| {
            format!("{} · {} → {}", opt(t), opt(b), opt(a))
        };
        for fit in &self.roles {
            let d = &fit.decoding;
            out.push_str(&format!(
                "| {} | {:.3} | {:.3} | {} | {} | {:.2} · {:.2} → {:.2} | {} | {} | {} |\n",
                fit.role.as_str(),
                d.onset_threshold,
                d.sustain_threshold,
                match d.max_polyphony {
                    0 => "-".to_owned(),
                    k => k.to_string(),
                },
                if d.peaks_only { "yes" } else { "no" },
                fit.target.notes_per_bar,
                fit.before.notes_per_bar,
                fit.after.notes_per_bar,
                three(
                    fit.target.empty_bar_rate,
                    fit.before.empty_bar_rate,
                    fit.after.empty_bar_rate
                ),
                three(
                    fit.target.polyphonic_rate,
                    fit.before.polyphonic_rate,
                    fit.after.polyphonic_rate
                ),
                three(
                    fit.target.qualified_note_rate,
                    fit.before.qualified_note_rate,
                    fit.after.qualified_note_rate
                ),
            ));
        }
        out
    }
}

/// Evenly spread validation windows (the training split is never used: the model has seen it).
pub fn validation_windows(dataset: &Dataset, count: usize) -> Result<Vec<Window>, Error> {
    if dataset.validation.is_empty() {
        return Err(Error::Dataset(
            "the dataset has no validation windows to calibrate or evaluate on".into(),
        ));
    }
    let stride = (dataset.validation.len() / count.max(1)).max(1);
    Ok(dataset
        .validation
        .iter()
        .step_by(stride)
        .take(count.max(1))
        .cloned()
        .collect())
}

/// The melody of a window on the model's grid.
pub fn window_melody(window: &Window) -> Vec<GridNote> {
    window
        .notes
        .iter()
        .filter(|n| n.track == 0)
        .map(|n| GridNote {
            role: 0,
            pitch: n.pitch,
            velocity: n.velocity,
            start: u32::from(n.start),
            duration: u32::from(n.duration.max(1)),
        })
        .collect()
}

/// The data's values for one role.
pub fn target_of(reference: &MetricsReport, role: TrackRole) -> Option<DecodedStats> {
    let t = reference.track(role)?;
    Some(DecodedStats {
        notes_per_bar: t.notes as f64 / t.bars.max(1) as f64,
        empty_bar_rate: t.empty_bar_rate,
        polyphonic_rate: t.polyphonic_rate,
        qualified_note_rate: t.qualified_note_rate,
    })
}

/// How far decoded output is from the data (0 = equal): the log ratio of notes per bar counts
/// double (density is what a listener hears first), the rates count by their relative error
/// (with a floor of 0.05, so a rate of 0 in the data is not divided by 0). An undefined rate
/// where the data has one (e.g. no notes at all) costs 1.
pub fn fit_loss(got: &DecodedStats, target: &DecodedStats) -> f64 {
    let density = ((got.notes_per_bar + 0.1) / (target.notes_per_bar + 0.1))
        .ln()
        .abs();
    let rate = |g: Option<f64>, t: Option<f64>| match (g, t) {
        (Some(g), Some(t)) => (g - t).abs() / t.abs().max(0.05),
        (None, Some(_)) => 1.0,
        _ => 0.0,
    };
    2.0 * density
        + rate(got.empty_bar_rate, target.empty_bar_rate)
        + rate(got.polyphonic_rate, target.polyphonic_rate)
        + rate(got.qualified_note_rate, target.qualified_note_rate)
}

/// Decoded notes of one role in every window, measured as the metrics crate measures them.
struct Measure {
    notes: usize,
    bars: usize,
    empty: (f64, f64),
    poly: (f64, f64),
    qualified: (f64, f64),
}

impl Measure {
    fn new() -> Measure {
        Measure {
            notes: 0,
            bars: 0,
            empty: (0.0, 0.0),
            poly: (0.0, 0.0),
            qualified: (0.0, 0.0),
        }
    }

    fn add(&mut self, view: &TrackView) {
        let bars = view.bars();
        self.notes += view.notes.len();
        self.bars += bars;
        let put = |sum: &mut (f64, f64), v: Option<f64>| {
            if let Some(v) = v {
                sum.0 += v * bars as f64;
                sum.1 += bars as f64;
            }
        };
        put(&mut self.empty, empty_bar::empty_bar_rate(view));
        if !view.is_drum {
            put(
                &mut self.poly,
                polyphony::polyphonic_rate(view, polyphony::POLYPHONIC_PITCHES),
            );
            put(
                &mut self.qualified,
                qualified_note::qualified_note_rate(view),
            );
        }
    }

    fn finish(&self) -> DecodedStats {
        let mean = |(s, w): (f64, f64)| (w > 0.0).then(|| s / w);
        DecodedStats {
            notes_per_bar: self.notes as f64 / self.bars.max(1) as f64,
            empty_bar_rate: mean(self.empty),
            polyphonic_rate: mean(self.poly),
            qualified_note_rate: mean(self.qualified),
        }
    }
}

/// The generator's output for one validation window.
struct WindowProbs {
    probs: Vec<f32>,
    valid: usize,
    bar_steps: Vec<u32>,
}

fn measure(
    model: &GenreModel,
    windows: &[WindowProbs],
    role: usize,
    params: &RoleDecoding,
) -> DecodedStats {
    let layout = model.layout();
    let config = model.config();
    let mut m = Measure::new();
    for w in windows {
        let notes = decode_role(layout, &w.probs, w.valid, role, params)
            .into_iter()
            .map(|n| ViewNote {
                start: n.start as usize,
                pitch: n.pitch,
                len: n.duration.max(1) as usize,
            })
            .collect();
        let view = TrackView::from_notes(
            config.roles[role],
            layout.is_drum(role),
            config.steps_per_beat,
            &w.bar_steps,
            notes,
        );
        m.add(&view);
    }
    m.finish()
}

/// The chord size role `role` of the data stays within on 90 % of its sounding steps.
pub fn typical_chord_size(windows: &[Window], role: usize) -> u32 {
    let mut counts: Vec<u32> = Vec::new();
    for window in windows {
        let mut sounding = vec![0u32; window.steps() as usize];
        for note in window.notes.iter().filter(|n| usize::from(n.track) == role) {
            let end =
                (usize::from(note.start) + usize::from(note.duration.max(1))).min(sounding.len());
            for s in sounding.iter_mut().take(end).skip(usize::from(note.start)) {
                *s += 1;
            }
        }
        counts.extend(sounding.into_iter().filter(|&c| c > 0));
    }
    if counts.is_empty() {
        return 1;
    }
    counts.sort_unstable();
    counts[(counts.len() * 9 / 10).min(counts.len() - 1)].max(1)
}

/// Thresholds evenly spaced in logit space between about 0.01 and 0.99.
fn threshold_grid(points: usize) -> Vec<f32> {
    (0..points)
        .map(|i| {
            let x = -4.5 + 9.0 * i as f32 / (points - 1) as f32;
            1.0 / (1.0 + (-x).exp())
        })
        .collect()
}

/// Choose every accompaniment role's decoding for `model` from its output on the dataset's
/// validation melodies and the data's reference metrics. Deterministic for fixed options.
pub fn calibrate(
    model: &GenreModel,
    dataset: &Dataset,
    reference: &MetricsReport,
    options: &CalibrateOptions,
) -> Result<Calibration, Error> {
    let started = Instant::now();
    let config = model.config();
    if dataset.meta.roles != config.roles {
        return Err(Error::Invalid(format!(
            "the dataset's roles {:?} are not the model's {:?}",
            dataset.meta.roles, config.roles
        )));
    }
    let layout = model.layout();
    let windows: Vec<WindowProbs> = validation_windows(dataset, options.melodies)?
        .iter()
        .enumerate()
        .map(|(i, w)| WindowProbs {
            probs: model.window_probabilities(
                &w.bar_steps,
                &window_melody(w),
                options.seed ^ i as u64,
            ),
            valid: (w.steps() as usize).min(layout.steps),
            bar_steps: w.bar_steps.clone(),
        })
        .collect();
    // The data's chord sizes, from a spread of training windows (cheap: notes only).
    let sample_stride = (dataset.train.len() / 2000).max(1);
    let sample: Vec<Window> = dataset
        .train
        .iter()
        .step_by(sample_stride)
        .cloned()
        .collect();
    let onsets = threshold_grid(25);
    let sustains = threshold_grid(13);
    let mut decoding: Vec<RoleDecoding> = (0..config.roles.len())
        .map(|r| config.role_decoding(r))
        .collect();
    let mut fits = Vec::new();
    // `role` indexes the layout, the model's roles and the decodings alike.
    #[allow(clippy::needless_range_loop)]
    for role in 1..config.roles.len() {
        let Some(target) = target_of(reference, config.roles[role]) else {
            continue;
        };
        let drum = layout.is_drum(role);
        let cap = if drum {
            0
        } else if target.polyphonic_rate.unwrap_or(0.0) < 0.02 {
            1
        } else {
            typical_chord_size(&sample, role).max(2)
        };
        let before = measure(model, &windows, role, &decoding[role]);
        let loss_before = fit_loss(&before, &target);
        let mut best = (loss_before, decoding[role], before);
        let sustain_grid: &[f32] = if drum { &[0.5] } else { &sustains };
        for &peaks_only in &[false, true] {
            for &onset_threshold in &onsets {
                for &sustain_threshold in sustain_grid {
                    let params = RoleDecoding {
                        onset_threshold,
                        sustain_threshold,
                        max_polyphony: cap,
                        peaks_only,
                        data_empty_bar_rate: None,
                    };
                    let got = measure(model, &windows, role, &params);
                    let loss = fit_loss(&got, &target);
                    // Strictly better only, so the first of equal settings wins: deterministic.
                    if loss < best.0 {
                        best = (loss, params, got);
                    }
                }
            }
        }
        decoding[role] = RoleDecoding {
            data_empty_bar_rate: target.empty_bar_rate.map(|rate| rate as f32),
            ..best.1
        };
        fits.push(RoleFit {
            role: config.roles[role],
            decoding: decoding[role],
            target,
            before,
            after: best.2,
            loss_before,
            loss_after: best.0,
        });
    }
    Ok(Calibration {
        windows: windows.len(),
        roles: fits,
        decoding,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Store per-role decoding in a model folder's `config.json` (atomically; the weights are not
/// touched, the model's hash changes because its output does).
pub fn write_decoding(dir: &Path, decoding: &[RoleDecoding]) -> Result<(), Error> {
    let mut config = store::read_config(dir)?;
    if decoding.len() != config.roles.len() {
        return Err(Error::Invalid(format!(
            "{} decodings for {} roles",
            decoding.len(),
            config.roles.len()
        )));
    }
    config.decoding = decoding.to_vec();
    let json = serde_json::to_vec_pretty(&config).expect("config serializes");
    store::write_atomic(&dir.join(store::CONFIG), &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrion_dataset::WindowNote;

    #[test]
    fn loss_is_zero_on_target_and_grows_with_density_error() {
        let t = DecodedStats {
            notes_per_bar: 4.0,
            empty_bar_rate: Some(0.0),
            polyphonic_rate: Some(0.0),
            qualified_note_rate: Some(0.6),
        };
        assert_eq!(fit_loss(&t, &t), 0.0);
        let busy = DecodedStats {
            notes_per_bar: 8.0,
            ..t
        };
        let very_busy = DecodedStats {
            notes_per_bar: 16.0,
            ..t
        };
        assert!(fit_loss(&busy, &t) > 0.5);
        assert!(fit_loss(&very_busy, &t) > fit_loss(&busy, &t));
        let silent = DecodedStats {
            notes_per_bar: 0.0,
            empty_bar_rate: Some(1.0),
            polyphonic_rate: None,
            qualified_note_rate: None,
        };
        assert!(fit_loss(&silent, &t) > fit_loss(&very_busy, &t));
    }

    #[test]
    fn chord_size_is_the_ninetieth_percentile_of_sounding_steps() {
        let note = |pitch, start, duration| WindowNote {
            track: 1,
            pitch,
            velocity: 80,
            start,
            duration,
        };
        // Triads on 8 steps of 16 and a single note on the other 8.
        let mut notes = vec![note(40, 0, 8), note(44, 0, 8), note(47, 0, 8)];
        notes.push(note(40, 8, 8));
        let window = Window {
            song: 0,
            bar_steps: vec![16],
            notes,
        };
        assert_eq!(typical_chord_size(std::slice::from_ref(&window), 1), 3);
        assert_eq!(typical_chord_size(std::slice::from_ref(&window), 2), 1);
    }
}
