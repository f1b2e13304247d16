//! Plain-text tables of a report, for the terminal and for docs: one row per track role with a
//! column per metric, one row per pair for the tonal distance, and a comparison layout that puts
//! each value beside the reference (the training data's) and their ratio.

use crate::report::{MetricsReport, TrackMetrics};
use orchestrion_music::TrackRole;
use std::fmt::{self, Write};

/// One per-track metric as a table column.
#[derive(Clone, Copy)]
pub struct MetricColumn {
    /// Column header (the abbreviation used in docs/metrics.md).
    pub short: &'static str,
    /// Full name.
    pub name: &'static str,
    /// Reads the metric from a track's report.
    pub get: fn(&TrackMetrics) -> Option<f64>,
}

const fn column(
    short: &'static str,
    name: &'static str,
    get: fn(&TrackMetrics) -> Option<f64>,
) -> MetricColumn {
    MetricColumn { short, name, get }
}

/// Every per-track metric, in table order.
pub const TRACK_METRICS: [MetricColumn; 8] = [
    column("EB", "empty-bar rate", |t| t.empty_bar_rate),
    column("UPC", "used pitch classes per bar", |t| {
        t.used_pitch_classes
    }),
    column("PR", "polyphonic rate", |t| t.polyphonic_rate),
    column("QN", "qualified-note rate", |t| t.qualified_note_rate),
    column("DP", "drum pattern", |t| t.drum_pattern),
    column("IS", "in-scale rate", |t| t.in_scale_rate),
    column("PCE", "pitch-class entropy", |t| t.pitch_class_entropy),
    column("GC", "groove consistency", |t| t.groove_consistency),
];

fn role_name(t: &TrackMetrics) -> String {
    let name = t.role.as_str();
    if t.is_drum && t.role != TrackRole::Drums {
        format!("{name} (drums)")
    } else {
        name.to_owned()
    }
}

fn pair_name(a: TrackRole, b: TrackRole) -> String {
    format!("{} ↔ {}", a.as_str(), b.as_str())
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

impl fmt::Display for MetricsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<16} {:>6} {:>7}", "track", "bars", "notes")?;
        for column in TRACK_METRICS {
            write!(f, " {:>6}", column.short)?;
        }
        writeln!(f)?;
        for t in &self.tracks {
            write!(f, "{:<16} {:>6} {:>7}", role_name(t), t.bars, t.notes)?;
            for column in TRACK_METRICS {
                write!(f, " {:>6}", cell((column.get)(t)))?;
            }
            writeln!(f)?;
        }
        if !self.pairs.is_empty() {
            writeln!(f, "\n{:<24} {:>6} {:>6}", "pair", "bars", "TD")?;
            for p in &self.pairs {
                writeln!(
                    f,
                    "{:<24} {:>6} {:>6}",
                    pair_name(p.a, p.b),
                    p.bars,
                    cell(p.tonal_distance)
                )?;
            }
        }
        if let Some(scale) = self.scale {
            writeln!(f, "\nin-scale rates against {scale}")?;
        }
        Ok(())
    }
}

/// One line per metric of every track and pair in `report`: its value, the reference's value
/// for the same role (or pair) and their ratio. Missing values print as `-`.
pub fn compare_table(report: &MetricsReport, reference: &MetricsReport) -> String {
    let mut out = String::new();
    let ratio = |v: Option<f64>, r: Option<f64>| match (v, r) {
        (Some(v), Some(r)) if r != 0.0 => format!("{:.2}", v / r),
        _ => "-".to_owned(),
    };
    let _ = writeln!(
        out,
        "{:<24} {:<6} {:>9} {:>9} {:>7}",
        "track", "metric", "value", "reference", "ratio"
    );
    for t in &report.tracks {
        let r = reference
            .tracks
            .iter()
            .find(|r| r.role == t.role && r.is_drum == t.is_drum);
        for column in TRACK_METRICS {
            let (v, rv) = ((column.get)(t), r.and_then(column.get));
            if v.is_none() && rv.is_none() {
                continue;
            }
            let _ = writeln!(
                out,
                "{:<24} {:<6} {:>9} {:>9} {:>7}",
                role_name(t),
                column.short,
                cell(v),
                cell(rv),
                ratio(v, rv)
            );
        }
    }
    for p in &report.pairs {
        let rv = reference.pair(p.a, p.b).and_then(|r| r.tonal_distance);
        let _ = writeln!(
            out,
            "{:<24} {:<6} {:>9} {:>9} {:>7}",
            pair_name(p.a, p.b),
            "TD",
            cell(p.tonal_distance),
            cell(rv),
            ratio(p.tonal_distance, rv)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate;
    use crate::view::tests::roll;
    use orchestrion_music::TrackRole;

    fn report(melody_len: usize) -> MetricsReport {
        evaluate(&roll(
            4,
            &[16, 16],
            &[
                (
                    TrackRole::Melody,
                    false,
                    &[(0, 60, melody_len), (16, 62, 4)],
                ),
                (TrackRole::Piano, false, &[(0, 48, 16), (0, 52, 16)]),
            ],
        ))
        .unwrap()
    }

    #[test]
    fn report_table_has_a_row_per_track_and_pair() {
        let text = report(4).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("track") && lines[0].contains("EB") && lines[0].contains("GC")
        );
        assert!(lines[1].starts_with("melody") && lines[1].contains("0.000"));
        assert!(lines[2].starts_with("piano"));
        assert!(text.contains("melody ↔ piano"));
        assert!(text.contains("in-scale rates against"));
    }

    #[test]
    fn comparison_shows_value_reference_and_ratio() {
        // Melody notes of 2 steps: QN 0.5 against a reference of 1.0.
        let text = compare_table(&report(2), &report(4));
        let qn = text
            .lines()
            .find(|l| l.starts_with("melody") && l.contains(" QN "))
            .unwrap();
        let cells: Vec<&str> = qn.split_whitespace().collect();
        assert_eq!(cells, ["melody", "QN", "0.500", "1.000", "0.50"]);
        // Drum pattern is undefined on both sides: no row.
        assert!(!text.contains(" DP "));
        assert!(
            text.lines()
                .any(|l| l.starts_with("melody ↔ piano") && l.contains("TD"))
        );
    }
}
