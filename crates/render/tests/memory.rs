//! Long songs render in bounded memory: the mix and the stems stream to their writers chunk by
//! chunk, so the heap a render needs does not grow with the song's length.
//!
//! This test binary counts every heap byte through its own global allocator and compares the
//! peak a render adds for a short song with the peak for a long one. A whole-song buffer would
//! show at once: 60 minutes of 16 kHz stereo 16-bit audio are 230 MB.

mod common;

use common::TPB;
use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
use orchestrion_render::{RenderOptions, Renderer, SoundFontChoice};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Seek, SeekFrom, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes live now and the most live since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator, with the caller's guarantees.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc` above with this layout.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests in this binary run one at a time: the counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Heap bytes `work` adds at its peak over what was live before it.
fn peak_growth(work: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    work();
    PEAK.load(Ordering::Relaxed) - before
}

/// A writer that keeps nothing: it only tracks the length a file would have, so a long render
/// costs neither memory nor disk.
#[derive(Default)]
struct Discard {
    position: u64,
    length: u64,
}

impl Write for Discard {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.position += bytes.len() as u64;
        self.length = self.length.max(self.position);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Discard {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = match to {
            SeekFrom::Start(at) => at,
            SeekFrom::End(delta) => self.length.saturating_add_signed(delta),
            SeekFrom::Current(delta) => self.position.saturating_add_signed(delta),
        };
        Ok(self.position)
    }
}

/// A sparse song of `minutes` at 120 BPM: a bass note every bar and a piano chord every fourth
/// bar, the last note ending exactly at the end.
fn sparse_song(minutes: u64) -> Song {
    let bar = 4 * TPB;
    let bars = minutes * 30;
    let note = |pitch: u8, start: u64| Note {
        pitch,
        velocity: 90,
        start,
        duration: bar,
    };
    let bass = (0..bars)
        .map(|b| note(36 + (b % 5) as u8, b * bar))
        .collect();
    let piano = (0..bars)
        .step_by(4)
        .flat_map(|b| [60u8, 64, 67].map(|pitch| note(pitch, b * bar)))
        .collect();
    let track = |name: &str, role: TrackRole, program: u8, notes: Vec<Note>| Track {
        name: name.into(),
        program,
        channel: 0,
        is_drum: false,
        role,
        notes,
    };
    Song {
        ticks_per_beat: TPB as u16,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator: 4,
            denominator: 4,
        }],
        key_signatures: vec![],
        tracks: vec![
            track("Bass", TrackRole::Bass, 33, bass),
            track("Piano", TrackRole::Piano, 0, piano),
        ],
        texts: vec![],
    }
}

/// The built-in synth at 16 kHz: the loop, limiter and writers are the same as at 44.1 kHz,
/// with 2.8 times fewer frames to get through in a test.
fn renderer() -> Renderer {
    Renderer::new(RenderOptions {
        soundfont: SoundFontChoice::BuiltIn,
        sample_rate: 16_000,
        humanize: None,
        ..RenderOptions::default()
    })
    .unwrap()
}

/// Heap a render adds, besides the song and its schedule (which grow with the note count):
/// lane buffers, limiters and writer buffers. A few MB whatever the length.
const BOUND: usize = 8 << 20;

#[test]
fn a_60_minute_mix_streams_in_bounded_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|poison| poison.into_inner());
    let renderer = renderer();
    let measure = |minutes: u64| {
        let song = sparse_song(minutes);
        let mut sink = Discard::default();
        let mut report = None;
        let growth = peak_growth(|| {
            report = Some(
                renderer
                    .render_to_writer(&song, &mut sink, &mut |_| {})
                    .unwrap(),
            );
        });
        let report = report.unwrap();
        // The whole song was written: header plus 4 bytes a frame.
        assert!((report.song_seconds - minutes as f64 * 60.0).abs() < 1e-6);
        assert_eq!(sink.length, 44 + 4 * report.frames);
        eprintln!(
            "{minutes} min: {} frames written, peak heap growth {:.2} MB",
            report.frames,
            growth as f64 / 1e6
        );
        growth
    };
    measure(1); // warm-up: thread pool, wavetables and other one-time set-up
    let short = measure(1);
    let long = measure(60);
    assert!(
        long < BOUND,
        "a 60-minute render grew the heap by {long} bytes"
    );
    // What grows with length is the schedule: ~6 notes a bar, a few hundred kB for an hour.
    assert!(
        long < short + (1 << 20),
        "1 min: {short} bytes, 60 min: {long} bytes: memory grows with the song"
    );
}

#[test]
fn stems_stream_in_bounded_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|poison| poison.into_inner());
    let renderer = renderer();
    let dir = tempfile::tempdir().unwrap();
    let measure = |minutes: u64| {
        let song = sparse_song(minutes);
        let mix = dir.path().join(format!("mix-{minutes}.wav"));
        let stems = dir.path().join(format!("stems-{minutes}"));
        let mut report = None;
        let growth = peak_growth(|| {
            report = Some(
                renderer
                    .render_files(&song, Some(&mix), Some(&stems), &mut |_| {})
                    .unwrap(),
            );
        });
        let report = report.unwrap();
        let expected_bytes = 44 + 4 * report.frames;
        assert_eq!(report.stems.len(), 2);
        for file in report.stems.iter().chain([&mix]) {
            assert_eq!(std::fs::metadata(file).unwrap().len(), expected_bytes);
        }
        eprintln!(
            "{minutes} min with stems: peak heap growth {:.2} MB",
            growth as f64 / 1e6
        );
        std::fs::remove_dir_all(&stems).unwrap();
        std::fs::remove_file(&mix).unwrap();
        growth
    };
    // Three 16 kHz files of 10 minutes are 115 MB on disk: enough to show a slope, and the
    // same code path as an hour.
    measure(1); // warm-up
    let short = measure(1);
    let long = measure(10);
    assert!(
        long < BOUND,
        "a 10-minute render grew the heap by {long} bytes"
    );
    assert!(
        long < short + (1 << 20),
        "1 min: {short} bytes, 10 min: {long} bytes: memory grows with the song"
    );
}
