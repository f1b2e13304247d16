//! A model's quality report: what it writes for melodies it never trained on, measured against
//! the data it learned from, with every target of the shipped-models issue marked pass or miss.
//!
//! Melodies: the dataset's validation split (never used in training), stitched back from its
//! overlapping windows into runs of up to `max_bars` bars of one song and one bar length, so
//! generation goes through several windows and the seams between them can be measured. The
//! output is cut into windows of the dataset's `window_bars` and measured exactly as the
//! reference (`stats.json`) was: `Window::to_roll` and the metrics crate.
//!
//! Targets: every metric within ±15 % of the data (for rates near 0 the tolerance is 15 % of
//! 0.05, i.e. ±0.0075); qualified-note rate also ≥ 0.9 × data; melody preserved 100 %; tonal
//! distance melody ↔ part lower for matched than for shuffled melodies; no seam (density and
//! pitch-class overlap at window borders within ±15 % of inside, density jumps no larger).

use crate::calibrate::validation_windows;
use crate::data::GridNote;
use crate::error::Error;
use crate::inference::{GenerateOptions, GenreModel};
use crate::seams::{SeamReport, SongGrid};
use crate::training::window_song;
use orchestrion_dataset::{Dataset, Window, WindowNote};
use orchestrion_metrics::table::TRACK_METRICS;
use orchestrion_metrics::{MetricsAccumulator, MetricsReport, evaluate, melody_preserved};
use orchestrion_music::{Song, TrackRole};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Relative tolerance of every metric target.
pub const TOLERANCE: f64 = 0.15;
/// Qualified-note rate must reach this share of the data's.
pub const QUALIFIED_SHARE: f64 = 0.9;

/// What to evaluate on.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityOptions {
    /// Validation songs (stitched melodies) to generate for.
    pub melodies: usize,
    /// Longest melody, in bars.
    pub max_bars: u32,
    /// Seed of the first melody's generation (melody `i` uses `seed + i`).
    pub seed: u64,
}

impl Default for QualityOptions {
    fn default() -> Self {
        QualityOptions {
            melodies: 32,
            max_bars: 16,
            seed: 1,
        }
    }
}

/// Tonal distance melody ↔ one part, for the melody it was written for and for another one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TonalRow {
    pub role: TrackRole,
    pub generated_matched: Option<f64>,
    pub generated_shuffled: Option<f64>,
    pub data_matched: Option<f64>,
    pub data_shuffled: Option<f64>,
}

/// One target of the issue, met or missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The part, or `None` for whole-song targets.
    pub role: Option<TrackRole>,
    /// What is measured, e.g. `QN` or `melody preserved`.
    pub metric: String,
    pub value: Option<f64>,
    /// The data's value where the target is relative to it.
    pub reference: Option<f64>,
    /// The target in words, e.g. `±15 %`.
    pub target: String,
    pub pass: bool,
}

/// The report of [`evaluate_model`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub model: String,
    pub model_hash: String,
    pub dataset: String,
    /// Melodies generated for, bars generated in all, windows measured.
    pub melodies: usize,
    pub bars: usize,
    pub windows: usize,
    /// Meters (as steps per bar) of the melodies.
    pub bar_lengths: Vec<u32>,
    pub generated: MetricsReport,
    pub reference: MetricsReport,
    pub tonal: Vec<TonalRow>,
    pub melody_notes: usize,
    pub melody_preserved: usize,
    pub seams: SeamReport,
    pub checks: Vec<Check>,
    pub millis: f64,
}

/// Bars `first .. first + count` of a window, notes cut at its end.
fn slice(window: &Window, first: usize, count: usize) -> Window {
    let start: u32 = window.bar_steps[..first].iter().sum();
    let bar_steps = window.bar_steps[first..first + count].to_vec();
    let end = start + bar_steps.iter().sum::<u32>();
    let notes = window
        .notes
        .iter()
        .filter(|n| u32::from(n.start) >= start && u32::from(n.start) < end)
        .map(|n| WindowNote {
            start: (u32::from(n.start) - start) as u16,
            duration: (u32::from(n.duration).min(end - u32::from(n.start))).max(1) as u16,
            ..*n
        })
        .collect();
    Window {
        song: window.song,
        bar_steps,
        notes,
    }
}

/// Melody onsets (relative step, pitch) of bars `first .. first + count` of a window.
fn melody_bars(window: &Window, first: usize, count: usize) -> Vec<(u16, u8)> {
    slice(window, first, count)
        .notes
        .iter()
        .filter(|n| n.track == 0)
        .map(|n| (n.start, n.pitch))
        .collect()
}

/// Validation windows of one song put back together: consecutive windows overlap by the bars
/// whose melody repeats; stitching stops at `max_bars` or where the bar length changes.
pub fn validation_songs(windows: &[Window], max_bars: u32) -> Vec<Window> {
    let mut songs: Vec<Window> = Vec::new();
    let mut open: Option<Window> = None;
    for w in windows {
        if w.bar_steps.is_empty() {
            continue;
        }
        let uniform = w.bar_steps.iter().all(|&s| s == w.bar_steps[0]);
        let continues = open.as_ref().is_some_and(|song| {
            song.song == w.song
                && uniform
                && song.bar_steps[0] == w.bar_steps[0]
                && song.bar_steps.len() < max_bars as usize
        });
        if !continues {
            if let Some(song) = open.take() {
                songs.push(song);
            }
            if uniform {
                let bars = w.bar_steps.len().min(max_bars as usize);
                open = Some(slice(w, 0, bars));
            }
            continue;
        }
        let song = open.as_mut().expect("checked");
        let bars = song.bar_steps.len();
        // The largest overlap whose melody agrees (the dataset's hop is not stored).
        let overlap = (1..w.bar_steps.len().min(bars))
            .rev()
            .find(|&o| melody_bars(song, bars - o, o) == melody_bars(w, 0, o))
            .unwrap_or(0);
        let room = max_bars as usize - bars;
        let add = (w.bar_steps.len() - overlap).min(room);
        if add == 0 {
            continue;
        }
        let tail = slice(w, overlap, add);
        let offset: u32 = song.bar_steps.iter().sum();
        song.notes.extend(tail.notes.iter().map(|n| WindowNote {
            start: (u32::from(n.start) + offset) as u16,
            ..*n
        }));
        song.bar_steps.extend(tail.bar_steps);
    }
    songs.extend(open);
    songs
}

/// A generated song back on the grid as a window: track `r` of the output is role `r`.
fn song_window(model: &GenreModel, song: &Song, source: &Window) -> Window {
    let config = model.config();
    let spb = u64::from(config.steps_per_beat);
    let tpb = u64::from(song.ticks_per_beat.max(1));
    let total: u32 = source.bar_steps.iter().sum();
    let mut notes: Vec<WindowNote> = source
        .notes
        .iter()
        .filter(|n| n.track == 0)
        .copied()
        .collect();
    for (r, track) in song.tracks.iter().enumerate().skip(1) {
        for n in &track.notes {
            let start = (n.start * spb + tpb / 2) / tpb;
            let end = ((n.start + n.duration) * spb + tpb / 2) / tpb;
            if start >= u64::from(total) {
                continue;
            }
            notes.push(WindowNote {
                track: r as u8,
                pitch: n.pitch,
                velocity: n.velocity,
                start: start as u16,
                duration: end
                    .saturating_sub(start)
                    .max(1)
                    .min(u64::from(total) - start) as u16,
            });
        }
    }
    notes.sort_unstable_by_key(|n| (n.start, n.track, n.pitch));
    Window {
        song: source.song,
        bar_steps: source.bar_steps.clone(),
        notes,
    }
}

/// The melody of window `melody` over the parts of window `parts` (same bar lengths).
fn swap_melody(parts: &Window, melody: &Window) -> Window {
    let mut notes: Vec<WindowNote> = parts
        .notes
        .iter()
        .filter(|n| n.track != 0)
        .copied()
        .collect();
    notes.extend(melody.notes.iter().filter(|n| n.track == 0));
    notes.sort_unstable_by_key(|n| (n.start, n.track, n.pitch));
    Window {
        song: parts.song,
        bar_steps: parts.bar_steps.clone(),
        notes,
    }
}

/// Metrics of windows as they are, and with each one's melody swapped for another song's.
fn matched_and_shuffled(dataset: &Dataset, windows: &[Window]) -> (MetricsReport, MetricsReport) {
    let mut matched = MetricsAccumulator::new();
    let mut shuffled = MetricsAccumulator::new();
    let n = windows.len();
    for (i, w) in windows.iter().enumerate() {
        if let Ok(report) = evaluate(&w.to_roll(&dataset.meta, 0)) {
            matched.add(&report);
        }
        // Half-way round, the next window of another song with the same bar lengths.
        let other = (0..n)
            .map(|k| &windows[(i + n / 2 + k) % n])
            .find(|o| o.song != w.song && o.bar_steps == w.bar_steps);
        if let Some(other) = other
            && let Ok(report) = evaluate(&swap_melody(w, other).to_roll(&dataset.meta, 0))
        {
            shuffled.add(&report);
        }
    }
    (matched.finish(), shuffled.finish())
}

fn tonal(report: &MetricsReport, role: TrackRole) -> Option<f64> {
    report
        .pair(TrackRole::Melody, role)
        .and_then(|p| p.tonal_distance)
}

/// Generate for the dataset's validation melodies and measure everything the issue asks.
pub fn evaluate_model(
    model: &GenreModel,
    dataset: &Dataset,
    reference: &MetricsReport,
    options: &QualityOptions,
) -> Result<QualityReport, Error> {
    let started = Instant::now();
    let config = model.config();
    if dataset.meta.roles != config.roles {
        return Err(Error::Invalid(format!(
            "the dataset's roles {:?} are not the model's {:?}",
            dataset.meta.roles, config.roles
        )));
    }
    let all = validation_windows(dataset, usize::MAX)?;
    let songs: Vec<Window> = validation_songs(&all, options.max_bars.max(1));
    // Evenly spread songs, so one long song does not fill the sample.
    let stride = (songs.len() / options.melodies.max(1)).max(1);
    let songs: Vec<Window> = songs
        .into_iter()
        .step_by(stride)
        .take(options.melodies.max(1))
        .collect();
    let w = config.window_bars.max(1) as usize;
    let mut generated_windows = Vec::new();
    let mut seams = SeamReport::new();
    let (mut melody_notes, mut melody_kept, mut bars) = (0, 0, 0);
    let mut bar_lengths: Vec<u32> = Vec::new();
    for (i, source) in songs.iter().enumerate() {
        let melody = window_song(&dataset.meta, source);
        let generation = model.generate(
            &melody,
            &GenerateOptions {
                bars: Some(source.bar_steps.len() as u32),
                seed: options.seed + i as u64,
                // Measured on the straight grid, like the data: swing is a performance
                // choice at export, not something the networks learned.
                swing: Some(0.0),
                ..Default::default()
            },
        )?;
        let kept = melody_preserved(&melody.tracks[0].notes, &generation.song);
        melody_notes += kept.notes;
        melody_kept += kept.preserved;
        let out = song_window(model, &generation.song, source);
        bars += out.bar_steps.len();
        bar_lengths.push(out.bar_steps[0]);
        seams.add(
            &SongGrid {
                bar_steps: out.bar_steps.clone(),
                roles: config.roles.clone(),
                notes: out
                    .notes
                    .iter()
                    .map(|n| GridNote {
                        role: usize::from(n.track),
                        pitch: n.pitch,
                        velocity: n.velocity,
                        start: u32::from(n.start),
                        duration: u32::from(n.duration),
                    })
                    .collect(),
            },
            config.window_bars,
        );
        let count = out.bar_steps.len();
        let mut first = 0;
        while first + w <= count || (first == 0 && count > 0) {
            generated_windows.push(slice(&out, first, w.min(count)));
            first += w;
        }
    }
    bar_lengths.sort_unstable();
    bar_lengths.dedup();
    let (generated, generated_shuffled) = matched_and_shuffled(dataset, &generated_windows);
    let data_sample_stride = (all.len() / 512).max(1);
    let data_sample: Vec<Window> = all.iter().step_by(data_sample_stride).cloned().collect();
    let (data_matched, data_shuffled) = matched_and_shuffled(dataset, &data_sample);

    let mut checks = Vec::new();
    let mut tonal_rows = Vec::new();
    for r in reference
        .tracks
        .iter()
        .filter(|t| t.role != TrackRole::Melody)
    {
        let g = generated.track(r.role);
        let per_bar = |t: &orchestrion_metrics::TrackMetrics| t.notes as f64 / t.bars.max(1) as f64;
        let mut metrics: Vec<(&str, Option<f64>, Option<f64>)> =
            vec![("notes/bar", g.map(per_bar), Some(per_bar(r)))];
        for column in TRACK_METRICS {
            metrics.push((column.short, g.and_then(column.get), (column.get)(r)));
        }
        for (name, value, data) in metrics {
            let Some(data) = data else { continue };
            let tolerance = TOLERANCE * data.abs().max(0.05);
            let (target, pass) = if name == "QN" {
                (
                    format!("≥ {QUALIFIED_SHARE} × data, ≤ +15 %"),
                    value.is_some_and(|v| v >= QUALIFIED_SHARE * data && v <= data + tolerance),
                )
            } else {
                (
                    "±15 %".to_owned(),
                    value.is_some_and(|v| (v - data).abs() <= tolerance),
                )
            };
            checks.push(Check {
                role: Some(r.role),
                metric: name.to_owned(),
                value,
                reference: Some(data),
                target,
                pass,
            });
        }
        if r.is_drum {
            continue;
        }
        let row = TonalRow {
            role: r.role,
            generated_matched: tonal(&generated, r.role),
            generated_shuffled: tonal(&generated_shuffled, r.role),
            data_matched: tonal(&data_matched, r.role),
            data_shuffled: tonal(&data_shuffled, r.role),
        };
        checks.push(Check {
            role: Some(r.role),
            metric: "TD matched < shuffled".to_owned(),
            value: row.generated_matched,
            reference: row.generated_shuffled,
            target: "matched < shuffled".to_owned(),
            pass: matches!(
                (row.generated_matched, row.generated_shuffled),
                (Some(m), Some(s)) if m < s
            ),
        });
        tonal_rows.push(row);
    }
    checks.push(Check {
        role: None,
        metric: "melody preserved".to_owned(),
        value: Some(if melody_notes == 0 {
            1.0
        } else {
            melody_kept as f64 / melody_notes as f64
        }),
        reference: None,
        target: "100 %".to_owned(),
        pass: melody_kept == melody_notes,
    });
    checks.push(Check {
        role: None,
        metric: "seams (border/inside density, overlap, jumps)".to_owned(),
        value: Some(seams.density_ratio),
        reference: None,
        target: "ratios within ±15 % of 1".to_owned(),
        pass: seams.seamless(TOLERANCE),
    });
    Ok(QualityReport {
        model: config.name.clone(),
        model_hash: model.info().hash.clone(),
        dataset: dataset.meta.name.clone(),
        melodies: songs.len(),
        bars,
        windows: generated_windows.len(),
        bar_lengths,
        generated,
        reference: reference.clone(),
        tonal: tonal_rows,
        melody_notes,
        melody_preserved: melody_kept,
        seams,
        checks,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    })
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

impl QualityReport {
    /// Targets met and targets measured.
    pub fn passed(&self) -> (usize, usize) {
        (
            self.checks.iter().filter(|c| c.pass).count(),
            self.checks.len(),
        )
    }

    /// The report as Markdown, ready for a model card.
    pub fn markdown(&self) -> String {
        let (passed, total) = self.passed();
        let mut out = format!(
            "Model `{}` (hash {}) on {} validation melodies of dataset `{}` ({} bars, {} windows of the data's length; bar lengths {:?} steps). Targets met: {passed} / {total}.\n\n",
            self.model,
            self.model_hash,
            self.melodies,
            self.dataset,
            self.bars,
            self.windows,
            self.bar_lengths
        );
        out.push_str(
            "| role | metric | generated | data | target | |\n|---|---|---|---|---|---|\n",
        );
        for c in &self.checks {
            let Some(role) = c.role else { continue };
            if c.metric.starts_with("TD") {
                continue;
            }
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                role.as_str(),
                c.metric,
                cell(c.value),
                cell(c.reference),
                c.target,
                if c.pass { "pass" } else { "**miss**" }
            ));
        }
        out.push_str("\nTonal distance melody ↔ part (lower = closer harmony; shuffled = the part under another song's melody):\n\n| role | generated matched | generated shuffled | data matched | data shuffled | matched < shuffled |\n|---|---|---|---|---|---|\n");
        for t in &self.tonal {
            let pass =
                matches!((t.generated_matched, t.generated_shuffled), (Some(m), Some(s)) if m < s);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                t.role.as_str(),
                cell(t.generated_matched),
                cell(t.generated_shuffled),
                cell(t.data_matched),
                cell(t.data_shuffled),
                if pass { "pass" } else { "**miss**" }
            ));
        }
        let s = &self.seams;
        out.push_str(&format!(
            "\nMelody preserved: {} of {} notes ({:.1} %).\n\nSeams ({} border and {} inside bar transitions): onsets per step {:.3} at borders vs {:.3} inside (ratio {:.2}); density jump {:.3} vs {:.3} (ratio {:.2}); pitch-class overlap with the next bar {:.3} vs {:.3} (ratio {:.2}): {}.\n",
            self.melody_preserved,
            self.melody_notes,
            100.0 * self.melody_preserved as f64 / self.melody_notes.max(1) as f64,
            s.border_transitions,
            s.inside_transitions,
            s.density_border,
            s.density_inside,
            s.density_ratio,
            s.change_border,
            s.change_inside,
            s.change_ratio,
            s.overlap_border,
            s.overlap_inside,
            s.overlap_ratio,
            if s.seamless(TOLERANCE) { "no seam (pass)" } else { "**seam (miss)**" }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(song: u32, bars: &[u8]) -> Window {
        // One melody note per bar whose pitch names the bar, so overlaps are recognisable.
        let notes = bars
            .iter()
            .enumerate()
            .map(|(i, &p)| WindowNote {
                track: 0,
                pitch: p,
                velocity: 80,
                start: (i * 16) as u16,
                duration: 16,
            })
            .collect();
        Window {
            song,
            bar_steps: vec![16; bars.len()],
            notes,
        }
    }

    #[test]
    fn overlapping_windows_stitch_back_into_songs() {
        let windows = vec![
            window(0, &[60, 61, 62, 63]),
            window(0, &[62, 63, 64, 65]),
            window(0, &[64, 65, 66, 67]),
            window(1, &[70, 71, 72, 73]),
        ];
        let songs = validation_songs(&windows, 16);
        assert_eq!(songs.len(), 2);
        let pitches: Vec<u8> = songs[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, (60..68).collect::<Vec<u8>>());
        assert_eq!(songs[0].bar_steps.len(), 8);
        let capped = validation_songs(&windows, 6);
        assert_eq!(capped[0].bar_steps.len(), 6);
    }
}
