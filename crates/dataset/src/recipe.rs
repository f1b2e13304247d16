//! Recipes: the TOML file that says how a folder of MIDI becomes training windows.
//!
//! A recipe is the single source of truth for a dataset (and, through its hash, for every model
//! trained on it). It is parsed strictly (unknown keys are errors, so a typo cannot silently fall
//! back to a default) and validated as a whole before any file is read. See `docs/datasets.md`
//! for the full field reference; `recipes/*.toml` are worked examples.

use crate::error::Error;
use orchestrion_music::TrackRole;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed and validated recipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Dataset name, also the default model name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// Free text for people; not used by the builder.
    #[serde(default)]
    pub description: String,
    pub source: Source,
    #[serde(default)]
    pub grid: Grid,
    pub melody: MelodySpec,
    /// Accompaniment roles in plane order (plane 0 is always the melody).
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    #[serde(default)]
    pub augment: Augment,
    #[serde(default)]
    pub filter: Filter,
    #[serde(default)]
    pub split: Split,
    /// Other recipes whose windows join this dataset (see "Blending corpora" in
    /// `docs/datasets.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<WithSpec>,
}

/// Another corpus blended into a dataset. A recipe with a melody adds its training windows
/// (its roles must be this recipe's roles); a recipe whose melody is `absent` (drums only, say)
/// lends its parts: they are laid over the windows of every corpus that lacks those roles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithSpec {
    /// The recipe file, relative to this recipe's folder.
    pub recipe: String,
    /// At most this many of its training windows per training window of this recipe's own
    /// (evenly spread over its songs). None: all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_share: Option<f64>,
}

/// Where the MIDI files come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Root of the corpora, relative to the recipe file; `--datasets-dir` overrides it.
    #[serde(default = "default_datasets_dir")]
    pub datasets_dir: String,
    /// Folders (relative to `datasets_dir`) searched recursively for `.mid` / `.midi` files.
    pub folders: Vec<String>,
    /// Files (relative to `datasets_dir`) left out on purpose, e.g. songs in a meter the recipe
    /// cannot bar correctly.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// A tab-separated index (relative to `datasets_dir`) with one row per file: used by
    /// `melody.lead_guess` and by `require`.
    #[serde(default)]
    pub index: Option<String>,
    /// The index column naming the file (its path relative to the index's folder, or its name).
    #[serde(default = "default_index_file_column")]
    pub index_file_column: String,
    /// Keep only files whose index row has these exact column values.
    #[serde(default)]
    pub require: BTreeMap<String, String>,
    /// Keep only files whose path (relative to `datasets_dir`) matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
}

/// Time grid and windowing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Steps per quarter note (4 = sixteenths).
    #[serde(default = "default_steps_per_beat")]
    pub steps_per_beat: u32,
    /// Bars per training window.
    #[serde(default = "default_window_bars")]
    pub window_bars: u32,
    /// Bars between the starts of consecutive windows (default: `window_bars`, no overlap).
    #[serde(default)]
    pub hop_bars: Option<u32>,
    /// Meters kept, as written (`"4/4"`, `"6/8"`); bars in any other meter never enter a window.
    #[serde(default = "default_meters")]
    pub meters: Vec<String>,
    /// Ignore the files' time signatures and bar everything in this meter from tick 0 (for
    /// corpora whose time-signature events are known to be wrong, such as POP909).
    #[serde(default)]
    pub force_meter: Option<String>,
}

/// How to find the melody track: every given field must match; the first matching note track
/// wins (`highest` picks the matching track with the highest mean pitch instead).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MelodySpec {
    /// Regular expression on the track name (case-insensitive).
    #[serde(default)]
    pub name: Option<String>,
    /// Index among the song's note tracks (tracks with at least one note), from 0.
    #[serde(default)]
    pub index: Option<usize>,
    /// Inclusive GM program range.
    #[serde(default)]
    pub programs: Option<(u8, u8)>,
    /// MIDI channel, 1–16.
    #[serde(default)]
    pub channel: Option<u8>,
    /// Use the `lead_guess` column of `source.index` (`track<i>/ch<c>/prog<p>(family)`).
    #[serde(default)]
    pub lead_guess: bool,
    /// Among the tracks that match, take the non-drum one with the highest mean pitch.
    #[serde(default)]
    pub highest: bool,
    /// The corpus has no melody (e.g. drum grooves): plane 0 stays empty. Only for reference
    /// statistics and pre-training data; set `filter.min_melody_notes = 0`.
    #[serde(default)]
    pub absent: bool,
    /// Keep only the top note at each onset and cut notes at the next onset (a sung line).
    #[serde(default = "default_true")]
    pub monophonic: bool,
    /// Pitch range `[lowest, highest]` (MIDI) the melody is folded into by octaves.
    #[serde(default)]
    pub range: Option<(u8, u8)>,
}

/// One accompaniment role: either taken from tracks (`from`) or derived from an earlier role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub role: TrackRole,
    /// GM program written for this role at export (ignored for drums).
    #[serde(default)]
    pub program: u8,
    /// Tracks feeding this role: a track matching any selector joins it (each track feeds at
    /// most one role: the first in recipe order; the melody track feeds none).
    #[serde(default)]
    pub from: Vec<Selector>,
    /// A role made from another role's notes instead of from tracks.
    #[serde(default)]
    pub derive: Option<Derive>,
    /// Pitch range `[lowest, highest]` (MIDI) notes are folded into by octaves; default: the
    /// range observed in the data, widened by the transposition range.
    #[serde(default)]
    pub range: Option<(u8, u8)>,
}

/// Which tracks a role takes. Every given field must match.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Regular expression on the track name (case-insensitive).
    #[serde(default)]
    pub name: Option<String>,
    /// Index among the song's note tracks, from 0.
    #[serde(default)]
    pub index: Option<usize>,
    /// Inclusive GM program range (non-drum tracks only).
    #[serde(default)]
    pub programs: Option<(u8, u8)>,
    /// MIDI channel, 1–16.
    #[serde(default)]
    pub channel: Option<u8>,
    /// `true`: drum tracks only (channel 10); `false`: pitched tracks only.
    #[serde(default)]
    pub drums: Option<bool>,
}

/// A derived role: one voice of another role, e.g. "bass = lowest voice of the piano below G3".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derive {
    /// The role whose notes are read (must come earlier in the recipe, or be `melody`).
    pub from: TrackRole,
    /// Which voice at each onset: the lowest or the highest note.
    pub voice: Voice,
    /// Only notes below this MIDI pitch qualify.
    #[serde(default)]
    pub below: Option<u8>,
    /// Only notes at or above this MIDI pitch qualify.
    #[serde(default)]
    pub above: Option<u8>,
    /// Take the notes out of the source role (a split) instead of copying them.
    #[serde(default)]
    pub remove: bool,
    /// Octaves to shift the derived notes by (e.g. -1 for a bass under block chords).
    #[serde(default)]
    pub octave: i8,
}

/// A voice of a polyphonic part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Voice {
    Lowest,
    Highest,
}

/// Augmentation the model applies at load time; the recipe only records what is allowed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Augment {
    /// Inclusive range of semitone shifts, e.g. `[-5, 6]` covers all twelve keys.
    #[serde(default)]
    pub transpose: (i8, i8),
}

/// Density filters on windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// A window needs at least this many melody notes.
    #[serde(default = "default_min_melody_notes")]
    pub min_melody_notes: u32,
    /// A window needs at least this many notes in each named role (role name → count).
    #[serde(default)]
    pub min_notes: BTreeMap<String, u32>,
}

/// Train / validation split by song.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// Fraction of songs held out for validation (by a hash of their path, so it is stable).
    #[serde(default = "default_validation")]
    pub validation: f64,
    /// Mixed into the hash: change it to draw a different split.
    #[serde(default = "default_salt")]
    pub salt: String,
}

fn default_datasets_dir() -> String {
    "../../shared/datasets".into()
}
fn default_index_file_column() -> String {
    "file".into()
}
fn default_steps_per_beat() -> u32 {
    4
}
fn default_window_bars() -> u32 {
    4
}
fn default_meters() -> Vec<String> {
    vec!["4/4".into()]
}
fn default_true() -> bool {
    true
}
fn default_min_melody_notes() -> u32 {
    1
}
fn default_validation() -> f64 {
    0.1
}
fn default_salt() -> String {
    "orchestrion".into()
}

impl Default for Grid {
    fn default() -> Self {
        Grid {
            steps_per_beat: default_steps_per_beat(),
            window_bars: default_window_bars(),
            hop_bars: None,
            meters: default_meters(),
            force_meter: None,
        }
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            min_melody_notes: default_min_melody_notes(),
            min_notes: BTreeMap::new(),
        }
    }
}

impl Default for Split {
    fn default() -> Self {
        Split {
            validation: default_validation(),
            salt: default_salt(),
        }
    }
}

/// A time signature as written: (numerator, denominator).
pub type MeterSig = (u8, u8);

/// Parses `"6/8"`.
pub fn parse_meter(text: &str) -> Result<MeterSig, String> {
    let (num, den) = text
        .split_once('/')
        .ok_or_else(|| format!("meter {text:?} is not of the form N/D"))?;
    let num: u8 = num
        .trim()
        .parse()
        .map_err(|_| format!("meter {text:?}: bad numerator"))?;
    let den: u8 = den
        .trim()
        .parse()
        .map_err(|_| format!("meter {text:?}: bad denominator"))?;
    if num == 0 || num > 32 {
        return Err(format!("meter {text:?}: numerator must be 1–32"));
    }
    if !matches!(den, 1 | 2 | 4 | 8 | 16 | 32) {
        return Err(format!(
            "meter {text:?}: denominator must be a power of two up to 32"
        ));
    }
    Ok((num, den))
}

/// Steps in one bar of `meter` on a grid of `steps_per_beat` per quarter note, when whole.
pub fn bar_steps_of(meter: MeterSig, steps_per_beat: u32) -> Option<u32> {
    orchestrion_music::Grid { steps_per_beat }.steps_per_bar(meter.0, meter.1)
}

/// A recipe loaded from disk, with the paths resolved and the selectors compiled.
#[derive(Debug, Clone)]
pub struct LoadedRecipe {
    pub recipe: Recipe,
    /// The recipe file as read (copied into the dataset directory).
    pub text: String,
    /// Where the recipe came from.
    pub path: PathBuf,
    /// `source.datasets_dir` resolved against the recipe's folder or the override.
    pub datasets_dir: PathBuf,
    pub meters: Vec<MeterSig>,
    pub force_meter: Option<MeterSig>,
    /// Plane order: melody first, then the recipe's roles.
    pub roles: Vec<TrackRole>,
    pub(crate) melody: CompiledMelody,
    pub(crate) role_sources: Vec<Vec<CompiledSelector>>,
    /// Per role (plane order): minimum notes per window.
    pub min_notes: Vec<u32>,
    /// `source.include`, compiled.
    pub(crate) include: Option<Regex>,
    /// The recipes of `with`, loaded, in order.
    pub blended: Vec<Blended>,
    /// Hex SHA-256 (first 16 digits) of the recipe's meaning (and its blended recipes'),
    /// stable across formatting.
    pub hash: String,
}

/// A recipe of [`Recipe::with`], loaded.
#[derive(Debug, Clone)]
pub struct Blended {
    pub recipe: LoadedRecipe,
    pub max_share: Option<f64>,
}

/// One plane of a dataset: its role, the GM program written at export and any fixed range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plane {
    pub role: TrackRole,
    pub program: u8,
    pub range: Option<(u8, u8)>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledSelector {
    pub name: Option<Regex>,
    pub index: Option<usize>,
    pub programs: Option<(u8, u8)>,
    pub channel: Option<u8>,
    pub drums: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledMelody {
    pub select: CompiledSelector,
    pub lead_guess: bool,
    pub highest: bool,
    pub absent: bool,
}

impl Recipe {
    /// Parses recipe text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Recipe, Error> {
        toml::from_str(text).map_err(|err| Error::recipe(path, err.to_string()))
    }
}

impl LoadedRecipe {
    /// Reads, parses and validates a recipe file (and the recipes of its `with`).
    /// `datasets_override` overrides `source.datasets_dir` (which is otherwise relative to the
    /// recipe's folder), for them all.
    pub fn load(path: &Path, datasets_override: Option<&Path>) -> Result<LoadedRecipe, Error> {
        let text = std::fs::read_to_string(path).map_err(|err| Error::io(path, err))?;
        let recipe = Recipe::parse(&text, path)?;
        let datasets_dir = match datasets_override {
            Some(dir) => dir.to_path_buf(),
            None => path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&recipe.source.datasets_dir),
        };
        let mut loaded = LoadedRecipe::validate(recipe, text, path.to_path_buf(), datasets_dir)?;
        let folder = path.parent().unwrap_or(Path::new("."));
        for (i, spec) in loaded.recipe.with.clone().iter().enumerate() {
            let fail = |message: String| Error::recipe(path, format!("with[{i}]: {message}"));
            if !spec.max_share.is_none_or(|share| share > 0.0) {
                return Err(fail("max_share must be above 0".into()));
            }
            let other = LoadedRecipe::load(&folder.join(&spec.recipe), datasets_override)?;
            loaded.check_blendable(&other).map_err(fail)?;
            loaded.blended.push(Blended {
                recipe: other,
                max_share: spec.max_share,
            });
        }
        if !loaded.blended.is_empty() {
            let mut hasher = Sha256::new();
            hasher.update(loaded.hash.as_bytes());
            for blended in &loaded.blended {
                hasher.update(blended.recipe.hash.as_bytes());
            }
            loaded.hash = hex::encode(&hasher.finalize()[..8]);
        }
        Ok(loaded)
    }

    /// Validates a parsed recipe that blends no other (`with` needs the files: use
    /// [`LoadedRecipe::load`]).
    pub fn from_recipe(
        recipe: Recipe,
        text: String,
        path: PathBuf,
        datasets_dir: PathBuf,
    ) -> Result<LoadedRecipe, Error> {
        if !recipe.with.is_empty() {
            return Err(Error::recipe(
                &path,
                "`with` names other recipe files: load the recipe from its file",
            ));
        }
        LoadedRecipe::validate(recipe, text, path, datasets_dir)
    }

    /// Whether `other`'s windows can join this recipe's: same grid, meters among ours, and
    /// (when it has a melody) only roles we have.
    fn check_blendable(&self, other: &LoadedRecipe) -> Result<(), String> {
        let (ours, theirs) = (&self.recipe.grid, &other.recipe.grid);
        if !other.recipe.with.is_empty() {
            return Err(format!(
                "{} blends recipes itself; blend them all here instead",
                other.path.display()
            ));
        }
        if (ours.steps_per_beat, ours.window_bars) != (theirs.steps_per_beat, theirs.window_bars) {
            return Err(format!(
                "{} has {} steps per beat and {}-bar windows, this recipe {} and {}",
                other.path.display(),
                theirs.steps_per_beat,
                theirs.window_bars,
                ours.steps_per_beat,
                ours.window_bars
            ));
        }
        if let Some(meter) = other.meters.iter().find(|m| !self.meters.contains(m)) {
            return Err(format!(
                "{} keeps {}/{} bars, which this recipe does not",
                other.path.display(),
                meter.0,
                meter.1
            ));
        }
        if !other.melody.absent
            && let Some(role) = other.roles.iter().find(|r| !self.roles.contains(r))
        {
            return Err(format!(
                "{} has a melody and the role {}, which this recipe lacks (only a recipe \
                 without melody may add roles)",
                other.path.display(),
                role_name(*role)
            ));
        }
        Ok(())
    }

    /// The planes in order: the melody, then the recipe's roles.
    pub(crate) fn planes(&self) -> Vec<Plane> {
        std::iter::once(Plane {
            role: TrackRole::Melody,
            program: 0,
            range: self.recipe.melody.range,
        })
        .chain(self.recipe.roles.iter().map(|spec| Plane {
            role: spec.role,
            program: if spec.role == TrackRole::Drums {
                0
            } else {
                spec.program
            },
            range: spec.range,
        }))
        .collect()
    }

    fn validate(
        recipe: Recipe,
        text: String,
        path: PathBuf,
        datasets_dir: PathBuf,
    ) -> Result<LoadedRecipe, Error> {
        let fail = |message: String| Error::recipe(&path, message);
        if recipe.name.is_empty()
            || !recipe
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(fail(format!(
                "name {:?} must be lowercase letters, digits, '-' or '_'",
                recipe.name
            )));
        }
        if recipe.source.folders.is_empty() {
            return Err(fail(
                "source.folders is empty: name at least one folder".into(),
            ));
        }
        let grid = &recipe.grid;
        if !(1..=48).contains(&grid.steps_per_beat) {
            return Err(fail("grid.steps_per_beat must be 1–48".into()));
        }
        if !(1..=64).contains(&grid.window_bars) {
            return Err(fail("grid.window_bars must be 1–64".into()));
        }
        if grid.hop_bars == Some(0) {
            return Err(fail("grid.hop_bars must be at least 1".into()));
        }
        if grid.meters.is_empty() {
            return Err(fail("grid.meters is empty: keep at least one meter".into()));
        }
        let mut meters = Vec::new();
        for text in &grid.meters {
            let meter = parse_meter(text).map_err(|m| fail(format!("grid.meters: {m}")))?;
            let steps = bar_steps_of(meter, grid.steps_per_beat).ok_or_else(|| {
                fail(format!(
                    "grid.meters: a bar of {text} is not a whole number of steps at {} steps per beat",
                    grid.steps_per_beat
                ))
            })?;
            if u64::from(steps) * u64::from(grid.window_bars) > u64::from(u16::MAX) {
                return Err(fail(format!(
                    "a window of {} bars of {text} is longer than {} steps",
                    grid.window_bars,
                    u16::MAX
                )));
            }
            if !meters.contains(&meter) {
                meters.push(meter);
            }
        }
        let force_meter = match &grid.force_meter {
            None => None,
            Some(text) => {
                let meter =
                    parse_meter(text).map_err(|m| fail(format!("grid.force_meter: {m}")))?;
                if !meters.contains(&meter) {
                    return Err(fail(format!(
                        "grid.force_meter {text} is not one of grid.meters"
                    )));
                }
                Some(meter)
            }
        };

        let melody = &recipe.melody;
        if melody.name.is_none()
            && melody.index.is_none()
            && melody.programs.is_none()
            && melody.channel.is_none()
            && !melody.lead_guess
            && !melody.highest
            && !melody.absent
        {
            return Err(fail(
                "melody: say how to find it (name, index, programs, channel, lead_guess, highest or absent)"
                    .into(),
            ));
        }
        if melody.lead_guess && recipe.source.index.is_none() {
            return Err(fail("melody.lead_guess needs source.index".into()));
        }
        if !recipe.source.require.is_empty() && recipe.source.index.is_none() {
            return Err(fail("source.require needs source.index".into()));
        }
        check_range("melody.range", melody.range).map_err(fail)?;
        if melody.absent && recipe.filter.min_melody_notes > 0 {
            return Err(fail(
                "melody.absent needs filter.min_melody_notes = 0 (no window has melody notes)"
                    .into(),
            ));
        }
        let compiled_melody = CompiledMelody {
            select: compile_selector(
                "melody",
                &Selector {
                    name: melody.name.clone(),
                    index: melody.index,
                    programs: melody.programs,
                    channel: melody.channel,
                    drums: Some(false),
                },
            )
            .map_err(fail)?,
            lead_guess: melody.lead_guess,
            highest: melody.highest,
            absent: melody.absent,
        };

        let mut roles = vec![TrackRole::Melody];
        let mut role_sources = Vec::new();
        for (i, spec) in recipe.roles.iter().enumerate() {
            let here = format!("roles[{i}] ({:?})", spec.role).to_lowercase();
            if spec.role == TrackRole::Melody {
                return Err(fail(format!(
                    "{here}: the melody is set by [melody], not by [[roles]]"
                )));
            }
            if roles.contains(&spec.role) {
                return Err(fail(format!(
                    "{here}: role appears twice; list several selectors in one `from` instead"
                )));
            }
            if spec.program > 127 {
                return Err(fail(format!("{here}: program must be 0–127")));
            }
            check_range(&format!("{here}.range"), spec.range).map_err(fail)?;
            match (&spec.derive, spec.from.is_empty()) {
                (Some(_), false) => {
                    return Err(fail(format!(
                        "{here}: give either `from` or `derive`, not both"
                    )));
                }
                (None, true) => {
                    return Err(fail(format!(
                        "{here}: give `from` (which tracks) or `derive` (from which role)"
                    )));
                }
                (Some(derive), true) => {
                    // A derived role reads a role taken from tracks (any position) or one
                    // derived before it, so the order of derivations is the recipe's order.
                    let source = recipe.roles.iter().position(|r| r.role == derive.from);
                    let readable = derive.from == TrackRole::Melody
                        || source.is_some_and(|j| j < i || recipe.roles[j].derive.is_none());
                    if !readable || derive.from == spec.role {
                        return Err(fail(format!(
                            "{here}: derive.from {:?} must be the melody, a role taken from tracks, \
                             or a derived role listed earlier",
                            derive.from
                        )
                        .to_lowercase()));
                    }
                    if derive.octave.abs() > 4 {
                        return Err(fail(format!("{here}: derive.octave must be -4–4")));
                    }
                    role_sources.push(Vec::new());
                }
                (None, false) => {
                    let compiled = spec
                        .from
                        .iter()
                        .enumerate()
                        .map(|(j, s)| compile_selector(&format!("{here}.from[{j}]"), s))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(fail)?;
                    role_sources.push(compiled);
                }
            }
            roles.push(spec.role);
        }
        if roles.len() > 16 {
            return Err(fail("at most 15 accompaniment roles".into()));
        }

        let (low, high) = recipe.augment.transpose;
        if low > 0 || high < 0 || low < -12 || high > 12 {
            return Err(fail(
                "augment.transpose must be [low, high] with -12 <= low <= 0 <= high <= 12".into(),
            ));
        }
        let mut min_notes = vec![0; roles.len()];
        min_notes[0] = recipe.filter.min_melody_notes;
        for (name, &count) in &recipe.filter.min_notes {
            let role = role_from_name(name)
                .ok_or_else(|| fail(format!("filter.min_notes: {name:?} is not a role name")))?;
            let plane = roles.iter().position(|&r| r == role).ok_or_else(|| {
                fail(format!(
                    "filter.min_notes: role {name:?} is not produced by this recipe"
                ))
            })?;
            min_notes[plane] = min_notes[plane].max(count);
        }
        let validation = recipe.split.validation;
        if !(0.0..1.0).contains(&validation) {
            return Err(fail("split.validation must be in [0, 1)".into()));
        }

        let include =
            match &recipe.source.include {
                None => None,
                Some(pattern) => Some(Regex::new(pattern).map_err(|err| {
                    fail(format!("source.include: bad regular expression: {err}"))
                })?),
            };
        let canonical = serde_json::to_vec(&recipe).expect("a recipe always serializes");
        let hash = hex::encode(&Sha256::digest(&canonical)[..8]);
        Ok(LoadedRecipe {
            recipe,
            text,
            path,
            datasets_dir,
            meters,
            force_meter,
            roles,
            melody: compiled_melody,
            role_sources,
            min_notes,
            include,
            blended: Vec::new(),
            hash,
        })
    }

    /// Bars between window starts.
    pub fn hop_bars(&self) -> u32 {
        self.recipe
            .grid
            .hop_bars
            .unwrap_or(self.recipe.grid.window_bars)
    }

    /// The longest window in steps, over the kept meters.
    pub fn max_window_steps(&self) -> u32 {
        self.meters
            .iter()
            .filter_map(|&m| bar_steps_of(m, self.recipe.grid.steps_per_beat))
            .max()
            .unwrap_or(0)
            * self.recipe.grid.window_bars
    }
}

/// Parses a role name as written in recipes (`"bass"`).
pub fn role_from_name(name: &str) -> Option<TrackRole> {
    serde_json::from_value(serde_json::Value::String(name.to_lowercase())).ok()
}

/// The lowercase name of a role as written in recipes and JSON.
pub fn role_name(role: TrackRole) -> String {
    match serde_json::to_value(role) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{role:?}").to_lowercase(),
    }
}

fn check_range(field: &str, range: Option<(u8, u8)>) -> Result<(), String> {
    if let Some((low, high)) = range
        && (high > 127 || low > high)
    {
        return Err(format!(
            "{field}: [{low}, {high}] must be two MIDI pitches, lowest first"
        ));
    }
    Ok(())
}

fn compile_selector(field: &str, selector: &Selector) -> Result<CompiledSelector, String> {
    let name = match &selector.name {
        None => None,
        Some(pattern) => Some(
            RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .map_err(|err| format!("{field}.name: bad regular expression: {err}"))?,
        ),
    };
    if let Some((low, high)) = selector.programs
        && (low > high || high > 127)
    {
        return Err(format!(
            "{field}.programs: [{low}, {high}] must be GM programs 0–127, lowest first"
        ));
    }
    if let Some(channel) = selector.channel
        && !(1..=16).contains(&channel)
    {
        return Err(format!(
            "{field}.channel: {channel} is not a MIDI channel 1–16"
        ));
    }
    if selector.name.is_none()
        && selector.index.is_none()
        && selector.programs.is_none()
        && selector.channel.is_none()
        && selector.drums.is_none()
    {
        return Err(format!("{field}: an empty selector would take every track"));
    }
    Ok(CompiledSelector {
        name,
        index: selector.index,
        programs: selector.programs,
        channel: selector.channel,
        drums: selector.drums,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedRecipe, Error> {
        let recipe = Recipe::parse(text, Path::new("test.toml"))?;
        LoadedRecipe::from_recipe(recipe, text.into(), "test.toml".into(), "data".into())
    }

    const GOOD: &str = r#"
        name = "pop"
        [source]
        folders = ["pop909/midi"]
        [grid]
        meters = ["4/4", "3/4"]
        [melody]
        name = "^MELODY$"
        [[roles]]
        role = "piano"
        from = [{ name = "^PIANO$" }]
        [[roles]]
        role = "bass"
        program = 33
        derive = { from = "piano", voice = "lowest", below = 55, remove = true }
        [filter]
        min_notes = { bass = 2 }
    "#;

    #[test]
    fn good_recipe_loads_with_roles_in_plane_order() {
        let loaded = load(GOOD).unwrap();
        assert_eq!(
            loaded.roles,
            vec![TrackRole::Melody, TrackRole::Piano, TrackRole::Bass]
        );
        assert_eq!(loaded.min_notes, vec![1, 0, 2]);
        assert_eq!(loaded.max_window_steps(), 64);
        assert_eq!(loaded.hash.len(), 16);
    }

    #[test]
    fn hash_ignores_formatting_but_not_meaning() {
        let a = load(GOOD).unwrap().hash;
        let b = load(&GOOD.replace("        ", "  ")).unwrap().hash;
        let c = load(&GOOD.replace("below = 55", "below = 56"))
            .unwrap()
            .hash;
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    fn error_of(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_key_is_an_error() {
        let msg = error_of(&GOOD.replace("[filter]", "[filter]\nmin_melody_note = 3"));
        assert!(msg.contains("min_melody_note"), "{msg}");
    }

    #[test]
    fn bad_meter_is_an_error() {
        assert!(error_of(&GOOD.replace("\"3/4\"", "\"3/5\"")).contains("denominator"));
        assert!(error_of(&GOOD.replace("\"3/4\"", "\"three\"")).contains("N/D"));
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(error_of(&GOOD.replace("^PIANO$", "(PIANO")).contains("regular expression"));
    }

    #[test]
    fn derive_from_an_unknown_role_is_an_error() {
        let text = GOOD.replace("from = \"piano\"", "from = \"guitar\"");
        assert!(error_of(&text).contains("listed earlier"));
        let text = GOOD.replace("from = \"piano\"", "from = \"bass\"");
        assert!(error_of(&text).contains("derive.from"));
    }

    #[test]
    fn duplicate_role_and_melody_role_are_errors() {
        let dup = format!("{GOOD}\n[[roles]]\nrole = \"piano\"\nfrom = [{{ index = 2 }}]\n");
        assert!(error_of(&dup).contains("twice"));
        let mel = GOOD.replace("role = \"piano\"", "role = \"melody\"");
        assert!(error_of(&mel).contains("[melody]"));
    }

    #[test]
    fn missing_melody_rule_is_an_error() {
        let text = GOOD.replace("name = \"^MELODY$\"", "monophonic = true");
        assert!(error_of(&text).contains("how to find it"));
    }

    #[test]
    fn lead_guess_needs_an_index() {
        let text = GOOD.replace("name = \"^MELODY$\"", "lead_guess = true");
        assert!(error_of(&text).contains("source.index"));
    }

    #[test]
    fn bad_numbers_are_errors() {
        assert!(error_of(&GOOD.replace("program = 33", "program = 200")).contains("0–127"));
        let t = format!("{GOOD}\n[augment]\ntranspose = [2, 6]\n");
        assert!(error_of(&t).contains("transpose"));
        let t = format!("{GOOD}\n[split]\nvalidation = 1.5\n");
        assert!(error_of(&t).contains("split.validation"));
        let t = GOOD.replace("bass = 2", "drums = 2");
        assert!(error_of(&t).contains("not produced"));
        let t = GOOD.replace("{ name = \"^PIANO$\" }", "{ channel = 17 }");
        assert!(error_of(&t).contains("channel"));
        let t = GOOD.replace("{ name = \"^PIANO$\" }", "{}");
        assert!(error_of(&t).contains("every track"));
    }

    #[test]
    fn force_meter_must_be_kept() {
        let t = GOOD.replace("[grid]", "[grid]\nforce_meter = \"6/8\"");
        assert!(error_of(&t).contains("force_meter"));
    }

    #[test]
    fn bar_steps_by_meter() {
        assert_eq!(bar_steps_of((4, 4), 4), Some(16));
        assert_eq!(bar_steps_of((6, 8), 4), Some(12));
        assert_eq!(bar_steps_of((3, 2), 4), Some(24));
        assert_eq!(bar_steps_of((5, 16), 2), None);
    }
}
