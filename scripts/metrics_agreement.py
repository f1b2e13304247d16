#!/usr/bin/env python3
"""Reference values from muspy for the metrics Orchestrion shares with it.

The Rust test `crates/metrics/tests/muspy_agreement.rs` runs this script and compares our
implementation (crates/metrics/src/muspy.rs) with muspy's on the same MIDI files:

* a deterministic sample of files from every corpus under ../shared/datasets (every k-th file of
  each corpus in sorted order, so the sample spans the corpora and never changes between runs);
* for each file, muspy's values as muspy reads the file (`muspy.read_midi`, mido backend), the
  same values after dropping what is not a note (muspy counts a track's control changes in the
  song's length), and muspy's notes themselves, so the test can tell a difference in a metric's
  definition from a difference in reading MIDI.

Exit status 3 means muspy is not installed (the test then skips); JSON goes to --out, written
atomically. NaN (muspy's "undefined") is written as null.
"""

import argparse
import copy
import json
import math
import os
import sys
import tempfile
from pathlib import Path

MISSING_DEPENDENCY = 3


def sample_files(datasets: Path, per_corpus: int) -> list[Path]:
    """Every k-th MIDI file of each corpus, k chosen to pick `per_corpus` files."""
    chosen = []
    for corpus in sorted(p for p in datasets.iterdir() if p.is_dir()):
        files = sorted(
            p
            for p in corpus.rglob("*")
            if p.is_file() and p.suffix.lower() in (".mid", ".midi")
        )
        if not files:
            continue
        count = min(per_corpus, len(files))
        chosen.extend(files[i * len(files) // count] for i in range(count))
    return chosen


def measure_ticks(music) -> int | None:
    """Ticks per measure of the first time signature (4/4 when none), as muspy's
    `groove_consistency` needs one constant measure length; None when not a whole number."""
    numerator, denominator = 4, 4
    if music.time_signatures:
        first = min(music.time_signatures, key=lambda t: t.time)
        numerator, denominator = first.numerator, first.denominator
    ticks = music.resolution * 4 * numerator
    if ticks % denominator:
        return None
    return ticks // denominator


def metrics(muspy, music, measure: int | None) -> dict:
    def clean(value):
        value = float(value)
        return None if math.isnan(value) else value

    has_tracks = bool(music.tracks)
    values = {
        "empty_beat_rate": muspy.empty_beat_rate(music) if has_tracks else math.nan,
        "polyphony_rate": muspy.polyphony_rate(music) if has_tracks else math.nan,
        "pitch_class_entropy": muspy.pitch_class_entropy(music),
        "scale_consistency": muspy.scale_consistency(music),
        "drum_pattern_consistency": muspy.drum_pattern_consistency(music),
        "groove_consistency": (
            muspy.groove_consistency(music, measure)
            if has_tracks and measure
            else math.nan
        ),
    }
    return {name: clean(value) for name, value in values.items()}


def notes_only(music):
    """A copy keeping only the notes: no control changes, lyrics or chords to lengthen it."""
    stripped = copy.deepcopy(music)
    stripped.lyrics = []
    stripped.annotations = []
    for track in stripped.tracks:
        track.annotations = []
        track.lyrics = []
        track.chords = []
    return stripped


def describe(muspy, path: Path, datasets: Path) -> dict:
    entry = {"path": str(path.relative_to(datasets))}
    try:
        music = muspy.read_midi(path)
    except Exception as error:  # muspy refuses some files; the test reports them, no more
        entry["error"] = f"{type(error).__name__}: {error}"
        return entry
    measure = measure_ticks(music)
    entry["resolution"] = music.resolution
    entry["measure_ticks"] = measure
    entry["end_tick"] = max((t.get_end_time() for t in music.tracks), default=0)
    entry["muspy"] = metrics(muspy, music, measure)
    entry["muspy_notes_only"] = metrics(muspy, notes_only(music), measure)
    entry["tracks"] = [
        {
            "is_drum": bool(track.is_drum),
            "notes": [[n.time, n.duration, n.pitch, n.velocity] for n in track.notes],
        }
        for track in music.tracks
    ]
    return entry


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", type=Path, default=repo.parent / "shared" / "datasets"
    )
    parser.add_argument("--per-corpus", type=int, default=6)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    try:
        import muspy
    except ImportError as error:
        print(f"muspy is not installed ({error}); pip install muspy", file=sys.stderr)
        return MISSING_DEPENDENCY
    if not args.datasets.is_dir():
        print(f"no datasets at {args.datasets}", file=sys.stderr)
        return MISSING_DEPENDENCY

    datasets = args.datasets.resolve()
    files = sample_files(datasets, args.per_corpus)
    report = {
        "muspy_version": muspy.__version__,
        "files": [describe(muspy, path, datasets) for path in files],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, prefix=".metrics_agreement.")
    with os.fdopen(fd, "w") as out:
        json.dump(report, out)
    os.replace(tmp, args.out)
    print(f"{len(files)} files → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
