//! `dataset build`: from a recipe to a dataset directory, in parallel, deterministically.
//!
//! Files are read and windowed in parallel (rayon), but every result is gathered in path order
//! and every sum is taken in that order, so the same recipe over the same files gives the same
//! bytes on any machine and thread count. One bad file never stops a build: it is skipped,
//! reported through [`Progress::warn`], and listed in `stats.json`. The directory appears
//! complete or not at all: it is written beside the target and renamed into place.

use crate::blend::{Blend, Corpus, blend};
use crate::error::Error;
use crate::extract::{ExtractError, ROLL_LOWEST, ROLL_ROWS, extract};
use crate::meta::DatasetMeta;
use crate::recipe::{LoadedRecipe, Plane, role_name};
use crate::shard;
use crate::split::{Side, side_of};
use crate::stats::{FileCounts, SkippedFile, SplitCounts, Stats, WindowCounts};
use crate::timeline::bars;
use crate::window::{Window, cut_windows};
use orchestrion_metrics::{MetricsAccumulator, evaluate};
use orchestrion_music::{Limits, Song, TrackRole};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Names of the files in a dataset directory.
pub const META_FILE: &str = "meta.json";
pub const STATS_FILE: &str = "stats.json";
pub const SONGS_FILE: &str = "songs.json";
pub const RECIPE_FILE: &str = "recipe.toml";
pub const TRAIN_FILE: &str = "train.safetensors";
pub const VALIDATION_FILE: &str = "validation.safetensors";

/// Drum notes span the GM percussion map (35 Acoustic Bass Drum … 81 Open Triangle) when a
/// drum role has no notes to measure.
const GM_DRUMS: (u8, u8) = (35, 81);

/// Receives the build's progress; the CLI draws a bar with it. Called from worker threads.
pub trait Progress: Sync {
    /// About to read `files` files.
    fn start(&self, _files: usize) {}
    /// One file is done (read, skipped or failed).
    fn file_done(&self) {}
    /// A file was skipped, with the reason.
    fn warn(&self, _message: &str) {}
    /// A new phase began (e.g. "metrics", "writing").
    fn phase(&self, _name: &str) {}
}

/// Reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// One row of `songs.json`: every file considered, whether or not it gave windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SongEntry {
    /// The id windows refer to (`Window::song`).
    pub id: u32,
    /// Relative to the datasets folder, with `/` separators.
    pub path: String,
    pub side: Side,
    /// Windows kept from this song.
    pub windows: usize,
}

/// What one file gave.
struct FileResult {
    windows: Vec<Window>,
    cut: usize,
    skipped: Option<(String, String)>,
}

/// [`build`] on a pool of `threads` workers (`None`: rayon's global pool, all cores).
pub fn build_with_threads(
    recipe: &LoadedRecipe,
    out: &Path,
    progress: &dyn Progress,
    threads: Option<usize>,
) -> Result<Stats, Error> {
    match threads {
        None => build(recipe, out, progress),
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|err| Error::io(out, std::io::Error::other(err.to_string())))?
            .install(|| build(recipe, out, progress)),
    }
}

/// Builds the dataset of `recipe` (and of the recipes it blends) into `out`, replacing it when
/// it exists, and returns its stats.
pub fn build(recipe: &LoadedRecipe, out: &Path, progress: &dyn Progress) -> Result<Stats, Error> {
    let mut corpora = vec![collect(recipe, None, progress)?];
    for blended in &recipe.blended {
        progress.phase(&format!("blending {}", blended.recipe.recipe.name));
        corpora.push(collect(&blended.recipe, blended.max_share, progress)?);
    }
    let parts: Vec<&Corpus> = corpora.iter().map(|c| &c.corpus).collect();
    let Blend {
        planes,
        train,
        validation,
        songs,
    } = blend(&recipe.recipe.split.salt, &parts);
    let skipped: Vec<SkippedFile> = corpora.iter().flat_map(|c| c.skipped.clone()).collect();
    let found = corpora.iter().map(|c| c.found).sum();
    let excluded = corpora.iter().map(|c| c.excluded).sum();
    let before_filters = corpora.iter().map(|c| c.before_filters).sum();
    let split_counts = SplitCounts {
        train: corpora.iter().map(|c| c.split_counts.train).sum(),
        validation: corpora.iter().map(|c| c.split_counts.validation).sum(),
    };
    let meta = make_meta(recipe, &planes, train.iter().chain(&validation));

    progress.phase("metrics");
    let reports: Vec<_> = train
        .par_iter()
        .chain(validation.par_iter())
        .map(|window| evaluate(&window.to_roll(&meta, 0)))
        .collect();
    let mut accumulator = MetricsAccumulator::new();
    for report in reports {
        match report {
            Ok(report) => accumulator.add(&report),
            Err(err) => {
                return Err(Error::corrupt(
                    out,
                    format!("measuring a window failed: {err}"),
                ));
            }
        }
    }

    let mut notes_per_role: BTreeMap<String, u64> = meta
        .roles
        .iter()
        .map(|&role| (role_name(role), 0))
        .collect();
    for window in train.iter().chain(&validation) {
        for (plane, count) in window.notes_per_track(meta.roles.len()).iter().enumerate() {
            *notes_per_role
                .entry(role_name(meta.roles[plane]))
                .or_default() += u64::from(*count);
        }
    }
    let mut skipped_by_reason = BTreeMap::new();
    for file in &skipped {
        *skipped_by_reason.entry(file.reason.clone()).or_default() += 1;
    }
    let stats = Stats {
        name: recipe.recipe.name.clone(),
        recipe_hash: recipe.hash.clone(),
        files: FileCounts {
            found,
            excluded,
            skipped: skipped.len(),
            used: split_counts.train + split_counts.validation,
        },
        songs: split_counts,
        windows: WindowCounts {
            train: train.len(),
            validation: validation.len(),
            before_filters,
        },
        notes_per_role,
        skipped_by_reason,
        skipped,
        metrics: accumulator.finish(),
    };

    progress.phase("writing");
    let files_out: Vec<(&str, Vec<u8>)> = vec![
        (META_FILE, pretty_json(&meta)),
        (STATS_FILE, pretty_json(&stats)),
        (SONGS_FILE, pretty_json(&songs)),
        (RECIPE_FILE, recipe.text.clone().into_bytes()),
        (
            TRAIN_FILE,
            shard::encode(&train).map_err(|m| Error::corrupt(out, m))?,
        ),
        (
            VALIDATION_FILE,
            shard::encode(&validation).map_err(|m| Error::corrupt(out, m))?,
        ),
    ];
    write_dir_atomically(out, &files_out)?;
    Ok(stats)
}

/// What one recipe's files gave: its windows, ready to blend, and its counts.
struct Collected {
    corpus: Corpus,
    skipped: Vec<SkippedFile>,
    split_counts: SplitCounts,
    found: usize,
    excluded: usize,
    before_filters: usize,
}

/// Reads, windows and splits the files of one recipe (not the recipes it blends); `max_share`
/// is its cap as a blended corpus.
fn collect(
    recipe: &LoadedRecipe,
    max_share: Option<f64>,
    progress: &dyn Progress,
) -> Result<Collected, Error> {
    let (files, excluded, found) = list_files(recipe)?;
    let index = match &recipe.recipe.source.index {
        Some(index) => Some(Index::load(
            &recipe.datasets_dir.join(index),
            &recipe.recipe.source.index_file_column,
        )?),
        None => None,
    };
    // `require` filters on the index before any file is read.
    let (files, excluded) = {
        let mut kept = Vec::new();
        let mut excluded = excluded;
        for file in files {
            let row = index
                .as_ref()
                .and_then(|i| i.row(&recipe.datasets_dir, &file));
            let ok = recipe
                .recipe
                .source
                .require
                .iter()
                .all(|(column, value)| row.and_then(|r| r.get(column)) == Some(value));
            if ok {
                kept.push(file);
            } else {
                excluded += 1;
            }
        }
        (kept, excluded)
    };

    progress.start(files.len());
    let limits = Limits::default();
    let results: Vec<FileResult> = files
        .par_iter()
        .enumerate()
        .map(|(id, file)| {
            let row = index
                .as_ref()
                .and_then(|i| i.row(&recipe.datasets_dir, file));
            let lead_guess = row.and_then(|r| r.get("lead_guess")).map(String::as_str);
            let result = process_file(recipe, id as u32, file, lead_guess, &limits);
            if let Some((reason, detail)) = &result.skipped {
                progress.warn(&format!("skipped {file}: {reason}: {detail}"));
            }
            progress.file_done();
            result
        })
        .collect();

    let salt = &recipe.recipe.split.salt;
    let validation_fraction = recipe.recipe.split.validation;
    let mut train = Vec::new();
    let mut validation = Vec::new();
    let mut songs = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    let mut split_counts = SplitCounts::default();
    let mut before_filters = 0;
    for (id, (file, result)) in files.iter().zip(results).enumerate() {
        let side = side_of(salt, file, validation_fraction);
        before_filters += result.cut;
        songs.push(SongEntry {
            id: id as u32,
            path: file.clone(),
            side,
            windows: result.windows.len(),
        });
        if let Some((reason, detail)) = result.skipped {
            skipped.push(SkippedFile {
                path: file.clone(),
                reason,
                detail,
            });
            continue;
        }
        match side {
            Side::Train => {
                split_counts.train += 1;
                train.extend(result.windows);
            }
            Side::Validation => {
                split_counts.validation += 1;
                validation.extend(result.windows);
            }
        }
    }

    Ok(Collected {
        corpus: Corpus {
            planes: recipe.planes(),
            songs,
            train,
            validation,
            lends_parts: recipe.melody.absent,
            max_share,
        },
        skipped,
        split_counts,
        found,
        excluded,
        before_filters,
    })
}

/// Pretty JSON with a final newline (the files are meant to be read by people too).
fn pretty_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("plain data serializes");
    bytes.push(b'\n');
    bytes
}

fn process_file(
    recipe: &LoadedRecipe,
    id: u32,
    file: &str,
    lead_guess: Option<&str>,
    limits: &Limits,
) -> FileResult {
    let skip = |reason: &str, detail: String| FileResult {
        windows: Vec::new(),
        cut: 0,
        skipped: Some((reason.to_string(), detail)),
    };
    let path = recipe.datasets_dir.join(file);
    let song = match Song::read_file(&path, limits) {
        Ok(song) => song,
        Err(err) => return skip("unreadable", err.to_string()),
    };
    let parts = match extract(recipe, &song, lead_guess) {
        Ok(parts) => parts,
        Err(ExtractError::NoMelody(detail)) => return skip("no melody", detail),
    };
    let grid = &recipe.recipe.grid;
    let bars = bars(
        &song,
        recipe.force_meter,
        grid.steps_per_beat,
        parts.end_tick,
    );
    if !bars
        .iter()
        .any(|b| b.whole && recipe.meters.contains(&b.meter))
    {
        let meters: Vec<String> = song
            .meters
            .iter()
            .map(|m| format!("{}/{}", m.numerator, m.denominator))
            .collect();
        return skip(
            "no usable bars",
            format!(
                "no whole bar in a kept meter (file meters: {})",
                meters.join(", ")
            ),
        );
    }
    let (windows, cut) = cut_windows(
        id,
        &parts,
        &bars,
        &recipe.meters,
        grid.window_bars,
        recipe.hop_bars(),
        &recipe.min_notes,
    );
    if windows.is_empty() {
        return FileResult {
            cut,
            ..skip(
                "no window passed the filters",
                format!("{cut} windows of whole bars, none dense enough"),
            )
        };
    }
    FileResult {
        windows,
        cut,
        skipped: None,
    }
}

/// The recipe's meta plus what only the data can say: each role's pitch range.
fn make_meta<'a>(
    recipe: &LoadedRecipe,
    plane_specs: &[Plane],
    windows: impl Iterator<Item = &'a Window>,
) -> DatasetMeta {
    let planes = plane_specs.len();
    let mut observed: Vec<Option<(u8, u8)>> = vec![None; planes];
    for window in windows {
        for note in &window.notes {
            let slot = &mut observed[usize::from(note.track)];
            *slot = Some(match *slot {
                None => (note.pitch, note.pitch),
                Some((low, high)) => (low.min(note.pitch), high.max(note.pitch)),
            });
        }
    }
    let (down, up) = recipe.recipe.augment.transpose;
    let roll_high = ROLL_LOWEST + ROLL_ROWS - 1;
    let pitch_ranges = (0..planes)
        .map(|plane| {
            let role = plane_specs[plane].role;
            let explicit = plane_specs[plane].range;
            let (low, high) = if role == TrackRole::Drums {
                explicit.or(observed[plane]).unwrap_or(GM_DRUMS)
            } else {
                match (explicit, observed[plane]) {
                    (Some(range), _) => range,
                    (None, Some((low, high))) => (
                        (i16::from(low) + i16::from(down)).max(i16::from(ROLL_LOWEST)) as u8,
                        (i16::from(high) + i16::from(up)).min(i16::from(roll_high)) as u8,
                    ),
                    (None, None) => (ROLL_LOWEST, roll_high),
                }
            };
            let (low, high) = (low.max(ROLL_LOWEST), high.min(roll_high).max(low));
            (low, high - low + 1)
        })
        .collect();
    let programs = plane_specs.iter().map(|plane| plane.program).collect();
    DatasetMeta {
        name: recipe.recipe.name.clone(),
        roles: plane_specs.iter().map(|plane| plane.role).collect(),
        programs,
        steps_per_beat: recipe.recipe.grid.steps_per_beat,
        window_bars: recipe.recipe.grid.window_bars,
        max_window_steps: recipe.max_window_steps(),
        pitch_ranges,
        meters: recipe.meters.clone(),
        recipe_hash: recipe.hash.clone(),
        transpose: recipe.recipe.augment.transpose,
    }
}

/// Source files relative to the datasets folder, sorted; plus how many were excluded and found.
fn list_files(recipe: &LoadedRecipe) -> Result<(Vec<String>, usize, usize), Error> {
    let root = &recipe.datasets_dir;
    let mut files = Vec::new();
    for folder in &recipe.recipe.source.folders {
        let dir = root.join(folder);
        if !dir.is_dir() {
            return Err(Error::recipe(
                &recipe.path,
                format!(
                    "source folder {} does not exist (datasets folder: {}; use --datasets-dir)",
                    dir.display(),
                    root.display()
                ),
            ));
        }
        walk(&dir, &mut files)?;
    }
    let mut relative: Vec<String> = files
        .iter()
        .filter_map(|path| path.strip_prefix(root).ok())
        .map(|path| {
            path.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    relative.sort();
    relative.dedup();
    let found = relative.len();
    let exclude: std::collections::HashSet<&str> = recipe
        .recipe
        .source
        .exclude
        .iter()
        .map(String::as_str)
        .collect();
    relative.retain(|path| {
        !exclude.contains(path.as_str()) && recipe.include.as_ref().is_none_or(|i| i.is_match(path))
    });
    Ok((relative.clone(), found - relative.len(), found))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|err| Error::io(dir, err))?;
    for entry in entries {
        let entry = entry.map_err(|err| Error::io(dir, err))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|err| Error::io(&path, err))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// A tab-separated index: one row per file, keyed by the file column.
struct Index {
    /// The index's folder, relative to which its file column is written.
    folder: PathBuf,
    rows: HashMap<String, HashMap<String, String>>,
}

impl Index {
    fn load(path: &Path, file_column: &str) -> Result<Index, Error> {
        let text = std::fs::read_to_string(path).map_err(|err| Error::io(path, err))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let key = header
            .iter()
            .position(|h| *h == file_column)
            .ok_or_else(|| {
                Error::corrupt(path, format!("the index has no column {file_column:?}"))
            })?;
        let mut rows = HashMap::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.split('\t').collect();
            let row: HashMap<String, String> = header
                .iter()
                .zip(&cells)
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect();
            if let Some(name) = cells.get(key) {
                rows.insert(name.to_string(), row);
            }
        }
        Ok(Index {
            folder: path.parent().unwrap_or(Path::new("")).to_path_buf(),
            rows,
        })
    }

    /// The row of a file (relative to `root`), by its path relative to the index's folder or
    /// by its file name.
    fn row(&self, root: &Path, file: &str) -> Option<&HashMap<String, String>> {
        let full = root.join(file);
        let from_index = full
            .strip_prefix(&self.folder)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        from_index.and_then(|p| self.rows.get(&p)).or_else(|| {
            let name = file.rsplit('/').next()?;
            self.rows.get(name)
        })
    }
}

/// Writes `files` into a fresh sibling directory, then swaps it in for `out`.
fn write_dir_atomically(out: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), Error> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|err| Error::io(&parent, err))?;
    let pid = std::process::id();
    let partial = parent.join(format!(".{name}.partial-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir(&partial).map_err(|err| Error::io(&partial, err))?;
    for (file, bytes) in files {
        let path = partial.join(file);
        std::fs::write(&path, bytes).map_err(|err| Error::io(&path, err))?;
    }
    if out.exists() {
        std::fs::rename(out, &old).map_err(|err| Error::io(out, err))?;
    }
    if let Err(err) = std::fs::rename(&partial, out) {
        // Put the previous dataset back rather than leave nothing.
        let _ = std::fs::rename(&old, out);
        return Err(Error::io(out, err));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
