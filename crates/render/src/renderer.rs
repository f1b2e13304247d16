//! The render loop: lanes render a chunk each (in parallel), the chunk is mixed, limited,
//! converted to 16-bit and written, then the next chunk. Memory stays bounded by the chunk
//! size and the release tail whatever the song's length: a 60-minute song streams to disk.

use crate::engine::Lane;
use crate::error::{Error, ErrorKind, io_error};
use crate::humanize::{HumanizeOptions, humanize};
use crate::limiter::Limiter;
use crate::schedule::{
    LANE_OVERHEAD_DRY, LANE_OVERHEAD_WITH_EFFECTS, group_tracks, lanes_worth_it, plan_lane,
    song_end_frame,
};
use crate::soundfont::{Instrument, SoundFontChoice, resolve};
use orchestrion_music::Song;
use rayon::prelude::*;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Cursor, Seek, Write};
use std::path::{Path, PathBuf};

/// Frames rendered per step of the loop (~0.19 s at 44.1 kHz).
const CHUNK_FRAMES: usize = 8192;
/// Level under which the tail counts as silent (-80 dBFS, under 16-bit's last 2 bits).
const SILENCE: f32 = 1e-4;
/// The tail ends after this much continuous silence (0.1 s at 44.1 kHz, scaled by rate).
const QUIET_RUN_SECONDS: f64 = 0.1;
/// The largest data chunk a WAV file can describe (its sizes are 32-bit).
const WAV_DATA_LIMIT: u64 = u32::MAX as u64 - 64;

/// How to render. `Default` is what the CLI and the studio use: SoundFont found by the search
/// order, 44.1 kHz, humanized with seed 0, no swing, reverb and chorus on.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Which SoundFont (or the built-in synth).
    pub soundfont: SoundFontChoice,
    /// Output sample rate in Hz (16 000 – 192 000).
    pub sample_rate: u32,
    /// Humanize with this seed before rendering; `None` plays the notes exactly as written.
    pub humanize: Option<u64>,
    /// Swing for the humanizer (0.0 – 0.5, see [`HumanizeOptions::swing`]); ignored when
    /// `humanize` is `None`.
    pub swing: f32,
    /// Synths ("lanes") rendering a mix in parallel. 0 = automatic: up to one per thread of
    /// rayon's pool, but only as many as pay for their cost (each SoundFont lane runs its own
    /// reverb and chorus, which a sparse song's voices do not outweigh).
    pub threads: usize,
    /// Longest release/reverb tail kept after the last note ends, in seconds.
    pub max_tail_seconds: f32,
    /// The SoundFont synth's reverb and chorus.
    pub effects: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            soundfont: SoundFontChoice::Auto,
            sample_rate: 44_100,
            humanize: Some(0),
            swing: 0.0,
            threads: 0,
            max_tail_seconds: 3.0,
            effects: true,
        }
    }
}

impl RenderOptions {
    fn validate(&self) -> Result<(), Error> {
        if !(16_000..=192_000).contains(&self.sample_rate) {
            return Err(ErrorKind::InvalidOptions(format!(
                "sample rate {} Hz is outside 16000–192000",
                self.sample_rate
            ))
            .into());
        }
        if !(0.0..=0.5).contains(&self.swing) {
            return Err(ErrorKind::InvalidOptions(format!(
                "swing {} is outside 0.0–0.5",
                self.swing
            ))
            .into());
        }
        if !(0.0..=60.0).contains(&self.max_tail_seconds) {
            return Err(ErrorKind::InvalidOptions(format!(
                "tail {} s is outside 0–60",
                self.max_tail_seconds
            ))
            .into());
        }
        Ok(())
    }
}

/// What a render did, for the caller to show or store.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderReport {
    /// The SoundFont used; `None` when the built-in synth played.
    pub soundfont: Option<PathBuf>,
    /// Why the built-in synth played, when it did (say so to the user).
    pub builtin_reason: Option<String>,
    /// Frames per second of the file.
    pub sample_rate: u32,
    /// Frames in the file (per channel).
    pub frames: u64,
    /// Seconds in the file: the song plus the release tail.
    pub seconds: f64,
    /// Seconds from the start to the end of the last note (after humanizing).
    pub song_seconds: f64,
    /// Largest absolute sample of the mix before limiting (1.0 = full scale).
    pub peak_before_limiter: f32,
    /// Smallest gain the limiter applied to the mix (1.0 = it never acted).
    pub limiter_min_gain: f32,
    /// Stem files written, in track order, when stems were asked for.
    pub stems: Vec<PathBuf>,
    /// Synths that rendered in parallel (one per track for stems).
    pub lanes: usize,
}

/// A loaded instrument plus options, ready to render any number of songs. Cheap to share:
/// `Arc<Renderer>` across requests keeps one copy of the SoundFont in memory.
#[derive(Debug)]
pub struct Renderer {
    options: RenderOptions,
    instrument: Instrument,
}

/// Called with the fraction of the song rendered so far (0.0 – 1.0).
pub type Progress<'a> = &'a mut dyn FnMut(f64);

impl Renderer {
    /// Validates the options and resolves and loads the SoundFont (once).
    pub fn new(options: RenderOptions) -> Result<Self, Error> {
        options.validate()?;
        let instrument = resolve(&options.soundfont)?;
        Ok(Renderer {
            options,
            instrument,
        })
    }

    /// The options this renderer was made with.
    pub fn options(&self) -> &RenderOptions {
        &self.options
    }

    /// What makes the sound: the SoundFont and its path, or the built-in synth and why.
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// A one-line notice when the built-in synth plays instead of a SoundFont, to show once.
    pub fn fallback_notice(&self) -> Option<String> {
        match &self.instrument {
            Instrument::BuiltIn { reason } => Some(format!(
                "using the built-in synth ({reason}); install a General MIDI SoundFont \
                 (apt-get install fluid-soundfont-gm) or pass --soundfont for better sound"
            )),
            Instrument::SoundFont { .. } => None,
        }
    }

    /// Renders the mix to WAV bytes in memory.
    pub fn render_wav(&self, song: &Song) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::new();
        self.render_to_writer(song, Cursor::new(&mut bytes), &mut |_| {})?;
        Ok(bytes)
    }

    /// Renders one track alone (a stem) to WAV bytes in memory, as long as the full mix.
    pub fn render_track_wav(&self, song: &Song, track: usize) -> Result<Vec<u8>, Error> {
        if track >= song.tracks.len() {
            return Err(ErrorKind::InvalidSong(format!(
                "track {track} does not exist (the song has {})",
                song.tracks.len()
            ))
            .into());
        }
        let mut bytes = Vec::new();
        let sink = WavSink::new(Cursor::new(&mut bytes), self.options.sample_rate)?;
        self.run(song, Some(sink), Vec::new(), Some(track), &mut |_| {})?;
        Ok(bytes)
    }

    /// Renders the mix into any seekable writer (a WAV header is patched at the end).
    pub fn render_to_writer<W: Write + Seek>(
        &self,
        song: &Song,
        writer: W,
        progress: Progress<'_>,
    ) -> Result<RenderReport, Error> {
        let sink = WavSink::new(writer, self.options.sample_rate)?;
        self.run(song, Some(sink), Vec::new(), None, progress)
    }

    /// Renders the mix to `path` (written to a temporary file beside it, then renamed, so a
    /// failed render leaves no half-written file).
    pub fn render_to_file(
        &self,
        song: &Song,
        path: &Path,
        progress: Progress<'_>,
    ) -> Result<RenderReport, Error> {
        self.render_files(song, Some(path), None, progress)
    }

    /// Renders the mix to `mix` (optional) and one stem per track into `stems_dir`
    /// (`NN-name.wav`, all as long as the mix) in one pass; stems render in parallel and the
    /// mix is their sum.
    pub fn render_files(
        &self,
        song: &Song,
        mix: Option<&Path>,
        stems_dir: Option<&Path>,
        progress: Progress<'_>,
    ) -> Result<RenderReport, Error> {
        let mix_file = mix.map(AtomicFile::create).transpose()?;
        let mut stem_files = Vec::new();
        if let Some(dir) = stems_dir {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            for (index, track) in song.tracks.iter().enumerate() {
                let path = dir.join(stem_file_name(index, track));
                stem_files.push(AtomicFile::create(&path)?);
            }
        }
        let rate = self.options.sample_rate;
        let mix_sink = match &mix_file {
            Some(file) => Some(WavSink::new(file.writer()?, rate)?),
            None => None,
        };
        let stem_sinks = stem_files
            .iter()
            .map(|file| WavSink::new(file.writer()?, rate))
            .collect::<Result<Vec<_>, Error>>()?;
        let wants_stems = stems_dir.is_some();
        let mut report = if wants_stems {
            self.run_stems(song, mix_sink, stem_sinks, progress)?
        } else {
            self.run(song, mix_sink, Vec::new(), None, progress)?
        };
        if let Some(file) = mix_file {
            file.persist()?;
        }
        for file in stem_files {
            report.stems.push(file.persist()?);
        }
        Ok(report)
    }

    fn run_stems<W: Write + Seek>(
        &self,
        song: &Song,
        mix: Option<WavSink<W>>,
        stems: Vec<WavSink<BufWriter<File>>>,
        progress: Progress<'_>,
    ) -> Result<RenderReport, Error> {
        self.run(song, mix, stems, None, progress)
    }

    /// The render loop. With `stems` non-empty there is one lane per track and stem `i` gets
    /// lane `i`; otherwise tracks are grouped into lanes (only `only_track` when given).
    fn run<W: Write + Seek>(
        &self,
        song: &Song,
        mut mix: Option<WavSink<W>>,
        mut stems: Vec<WavSink<BufWriter<File>>>,
        only_track: Option<usize>,
        progress: Progress<'_>,
    ) -> Result<RenderReport, Error> {
        let options = &self.options;
        let rate = options.sample_rate;
        let song: Cow<'_, Song> = match options.humanize {
            Some(seed) => {
                let mut humanize_options = HumanizeOptions::new(seed);
                humanize_options.swing = options.swing;
                Cow::Owned(humanize(song, &humanize_options))
            }
            None => Cow::Borrowed(song),
        };
        let song_end = song_end_frame(&song, rate);
        let max_tail = (f64::from(options.max_tail_seconds) * f64::from(rate)) as u64;
        let limit_frames = song_end + max_tail;
        if limit_frames.saturating_mul(4) > WAV_DATA_LIMIT {
            return Err(ErrorKind::InvalidSong(format!(
                "it lasts {:.0} minutes; a 16-bit stereo WAV holds at most {:.0} minutes at {rate} Hz",
                song_end as f64 / f64::from(rate) / 60.0,
                WAV_DATA_LIMIT as f64 / 4.0 / f64::from(rate) / 60.0
            ))
            .into());
        }
        let stem_mode = !stems.is_empty();
        let groups = match only_track {
            Some(track) => vec![vec![track]],
            None => {
                let lanes = if stem_mode || options.threads > 0 {
                    options.threads
                } else {
                    let overhead = match (&self.instrument, options.effects) {
                        (Instrument::SoundFont { .. }, true) => LANE_OVERHEAD_WITH_EFFECTS,
                        _ => LANE_OVERHEAD_DRY,
                    };
                    lanes_worth_it(&song, rayon::current_num_threads(), overhead)
                };
                group_tracks(&song, lanes, stem_mode)
            }
        };
        let mut lanes = groups
            .iter()
            .map(|tracks| {
                let plan = plan_lane(&song, rate, tracks);
                Lane::new(&self.instrument, rate, options.effects, plan, CHUNK_FRAMES)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for sink in mix.iter_mut() {
            sink.song_end = song_end;
        }
        for sink in stems.iter_mut() {
            sink.song_end = song_end;
        }

        let mut output = Output {
            mix,
            stems,
            mix_left: vec![0.0; CHUNK_FRAMES],
            mix_right: vec![0.0; CHUNK_FRAMES],
            song_end,
            quiet_run: (QUIET_RUN_SECONDS * f64::from(rate)) as u64,
            written: 0,
            keep_until: song_end,
        };
        // The chunk rendered last, one buffer pair per lane: it is mixed and written while the
        // lanes render the next one, then the buffers change places.
        let mut ready: Vec<(Vec<f32>, Vec<f32>)> = lanes
            .iter()
            .map(|_| (vec![0.0; CHUNK_FRAMES], vec![0.0; CHUNK_FRAMES]))
            .collect();
        let mut ready_frames = 0usize;
        let mut rendered = 0u64;
        loop {
            let next = (limit_frames - rendered).min(CHUNK_FRAMES as u64) as usize;
            let mut written = Ok(());
            rayon::in_place_scope(|scope| {
                if next > 0 {
                    let lanes = &mut lanes;
                    scope.spawn(move |_| {
                        lanes.par_iter_mut().for_each(|lane| lane.render_next(next))
                    });
                }
                if ready_frames > 0 {
                    written = output.write(&ready, ready_frames);
                }
            });
            written?;
            if ready_frames > 0 {
                progress((output.written as f64 / song_end.max(1) as f64).min(1.0));
                if output.tail_has_ended() {
                    break;
                }
            }
            if next == 0 {
                break;
            }
            for (lane, (left, right)) in lanes.iter_mut().zip(&mut ready) {
                std::mem::swap(&mut lane.left, left);
                std::mem::swap(&mut lane.right, right);
            }
            ready_frames = next;
            rendered += next as u64;
        }
        let Output {
            mix,
            stems,
            keep_until,
            ..
        } = output;
        let total = keep_until.min(limit_frames);
        let mut report = RenderReport {
            soundfont: self.instrument.soundfont_path().map(Path::to_path_buf),
            builtin_reason: match &self.instrument {
                Instrument::BuiltIn { reason } => Some(reason.clone()),
                Instrument::SoundFont { .. } => None,
            },
            sample_rate: rate,
            frames: total,
            seconds: total as f64 / f64::from(rate),
            song_seconds: song_end as f64 / f64::from(rate),
            peak_before_limiter: 0.0,
            limiter_min_gain: 1.0,
            stems: Vec::new(),
            lanes: lanes.len(),
        };
        if let Some(sink) = mix {
            report.peak_before_limiter = sink.limiter.input_peak;
            report.limiter_min_gain = sink.limiter.min_gain;
            sink.finish(total)?;
        }
        for sink in stems {
            sink.finish(total)?;
        }
        progress(1.0);
        Ok(report)
    }
}

/// Renders `song` to WAV bytes in memory with a renderer made for this call. Services that
/// render often should keep one [`Renderer`] instead (it loads the SoundFont once).
pub fn render_wav(song: &Song, options: &RenderOptions) -> Result<Vec<u8>, Error> {
    Renderer::new(options.clone())?.render_wav(song)
}

/// Renders `song` to a WAV file at `path`, streamed to disk and renamed into place when done.
pub fn render_to_file(
    song: &Song,
    options: &RenderOptions,
    path: &Path,
) -> Result<RenderReport, Error> {
    Renderer::new(options.clone())?.render_to_file(song, path, &mut |_| {})
}

/// Where rendered chunks go: summed into the mix, each lane to its stem, through the sinks.
struct Output<W: Write + Seek> {
    mix: Option<WavSink<W>>,
    stems: Vec<WavSink<BufWriter<File>>>,
    mix_left: Vec<f32>,
    mix_right: Vec<f32>,
    song_end: u64,
    /// Silence after the song that ends the tail.
    quiet_run: u64,
    /// Frames handed to the sinks so far.
    written: u64,
    /// Frames up to here are kept: the song, then the tail while it is audible.
    keep_until: u64,
}

impl<W: Write + Seek> Output<W> {
    /// Mixes one chunk (one buffer pair per lane), tracks the audible tail and writes the mix
    /// and the stems (the stems in parallel).
    fn write(&mut self, chunk: &[(Vec<f32>, Vec<f32>)], frames: usize) -> Result<(), Error> {
        let (mix_left, mix_right) = (&mut self.mix_left[..frames], &mut self.mix_right[..frames]);
        mix_left.fill(0.0);
        mix_right.fill(0.0);
        for (left, right) in chunk {
            for (sum, x) in mix_left.iter_mut().zip(&left[..frames]) {
                *sum += x;
            }
            for (sum, x) in mix_right.iter_mut().zip(&right[..frames]) {
                *sum += x;
            }
        }
        for (i, (l, r)) in mix_left.iter().zip(mix_right.iter()).enumerate() {
            let at = self.written + i as u64;
            if at >= self.song_end && l.abs().max(r.abs()) >= SILENCE {
                self.keep_until = at + 1;
            }
        }
        if let Some(sink) = self.mix.as_mut() {
            sink.push(mix_left, mix_right)?;
        }
        self.stems
            .par_iter_mut()
            .zip(chunk.par_iter())
            .try_for_each(|(sink, (left, right))| sink.push(&left[..frames], &right[..frames]))?;
        self.written += frames as u64;
        Ok(())
    }

    /// Whether the song is written and the tail has been silent long enough to stop.
    fn tail_has_ended(&self) -> bool {
        self.written >= self.song_end && self.written - self.keep_until >= self.quiet_run
    }
}

/// `NN-name.wav`: track number from 1 and a file-name-safe form of its name (or role).
fn stem_file_name(index: usize, track: &orchestrion_music::Track) -> String {
    let source = if track.name.trim().is_empty() {
        format!("{:?}", track.role).to_lowercase()
    } else {
        track.name.clone()
    };
    let mut name: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name = name.trim_matches('-');
    let name: String = name.chars().take(40).collect();
    if name.is_empty() {
        format!("{:02}-track.wav", index + 1)
    } else {
        format!("{:02}-{name}.wav", index + 1)
    }
}

/// A file written under a temporary name in its final folder and renamed when complete.
struct AtomicFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    fn create(path: &Path) -> Result<Self, Error> {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".orchestrion-render-").suffix(".wav.part");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A rendered file is an ordinary output (0644 less the umask), not the private
            // 0600 a temporary file gets by default.
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let temp = builder.tempfile_in(dir).map_err(io_error(dir))?;
        Ok(AtomicFile {
            temp,
            path: path.to_path_buf(),
        })
    }

    fn writer(&self) -> Result<BufWriter<File>, Error> {
        let file = self
            .temp
            .as_file()
            .try_clone()
            .map_err(io_error(&self.path))?;
        Ok(BufWriter::with_capacity(1 << 16, file))
    }

    fn persist(self) -> Result<PathBuf, Error> {
        let path = self.path;
        self.temp
            .persist(&path)
            .map_err(|err| io_error(&path)(err.error))?;
        Ok(path)
    }
}

/// Limits, converts to 16-bit and writes one output. Frames after the song's end are held
/// back until the tail's length is known, so silence after the tail is never written.
struct WavSink<W: Write + Seek> {
    writer: hound::WavWriter<W>,
    limiter: Limiter,
    song_end: u64,
    /// Output frames produced so far (the limiter delays them).
    produced: u64,
    /// Interleaved samples awaiting the writer (frames before the song's end).
    pending: Vec<i16>,
    /// Interleaved samples after the song's end, written up to the tail's length at the end.
    tail: Vec<i16>,
}

impl<W: Write + Seek> WavSink<W> {
    fn new(writer: W, sample_rate: u32) -> Result<Self, Error> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        Ok(WavSink {
            writer: hound::WavWriter::new(writer, spec)?,
            limiter: Limiter::new(sample_rate),
            song_end: 0,
            produced: 0,
            pending: Vec::with_capacity(2 * CHUNK_FRAMES),
            tail: Vec::new(),
        })
    }

    fn push(&mut self, left: &[f32], right: &[f32]) -> Result<(), Error> {
        let WavSink {
            limiter,
            song_end,
            produced,
            pending,
            tail,
            ..
        } = self;
        limiter.process(left, right, |l, r| {
            accept(pending, tail, *song_end, produced, (l, r))
        });
        self.write_pending()
    }

    #[inline]
    fn accept(&mut self, frame: (f32, f32)) {
        accept(
            &mut self.pending,
            &mut self.tail,
            self.song_end,
            &mut self.produced,
            frame,
        );
    }

    fn write_pending(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut samples = self.writer.get_i16_writer(self.pending.len() as u32);
        for &sample in &self.pending {
            samples.write_sample(sample);
        }
        samples.flush()?;
        self.pending.clear();
        Ok(())
    }

    /// Drains the limiter, writes the tail up to `total` frames and completes the header.
    fn finish(mut self, total: u64) -> Result<(), Error> {
        for _ in 0..self.limiter.latency() {
            if let Some(frame) = self.limiter.push(0.0, 0.0) {
                self.accept(frame);
            }
        }
        self.write_pending()?;
        let tail_frames = total.saturating_sub(self.song_end) as usize;
        let tail = std::mem::take(&mut self.tail);
        let keep = (2 * tail_frames).min(tail.len());
        if keep > 0 {
            let mut samples = self.writer.get_i16_writer(keep as u32);
            for &sample in &tail[..keep] {
                samples.write_sample(sample);
            }
            samples.flush()?;
        }
        self.writer.finalize()?;
        Ok(())
    }
}

/// Files a limited frame as 16-bit samples: before the song's end it is written with the next
/// chunk, after it it waits until the tail's length is known.
#[inline]
fn accept(
    pending: &mut Vec<i16>,
    tail: &mut Vec<i16>,
    song_end: u64,
    produced: &mut u64,
    (l, r): (f32, f32),
) {
    let target = if *produced < song_end { pending } else { tail };
    target.push(to_i16(l));
    target.push(to_i16(r));
    *produced += 1;
}

/// Full scale to 16-bit, rounding half away from zero. Adding ±0.5 and truncating is what
/// `f32::round` does, without the libm call it costs on baseline x86-64.
#[inline]
fn to_i16(x: f32) -> i16 {
    let scaled = x * 32767.0;
    ((scaled + 0.5f32.copysign(scaled)) as i32).clamp(-32768, 32767) as i16
}
