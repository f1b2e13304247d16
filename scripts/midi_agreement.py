#!/usr/bin/env python3
"""Independent reading of MIDI files with `mido`, for the Rust agreement test
(crates/music/tests/agreement.rs).

Usage: midi_agreement.py LIST_FILE   (one MIDI path per line)

Prints one JSON object per line and file:
  {"path": P, "ticks_per_beat": N, "notes": [[pitch, onset_seconds], ...]}
  {"path": P, "error": "..."}            when mido cannot read the file
A note is a note_on message with velocity > 0; its onset is mido's own playback time (tracks
merged, tempo changes followed). Exit status 3 when mido is not installed (pip install mido).
"""
import json
import sys

try:
    import mido
except ImportError:
    print("the Python package mido is not installed (pip install mido)", file=sys.stderr)
    sys.exit(3)


def read(path):
    midi = mido.MidiFile(path)
    if midi.ticks_per_beat <= 0:
        return {"path": path, "ticks_per_beat": midi.ticks_per_beat, "notes": []}
    now = 0.0
    notes = []
    for message in midi:  # merged tracks; message.time is the delta in seconds
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            notes.append([message.note, now])
    return {"path": path, "ticks_per_beat": midi.ticks_per_beat, "notes": notes}


def main():
    with open(sys.argv[1], encoding="utf-8") as listing:
        paths = [line.strip() for line in listing if line.strip()]
    for path in paths:
        try:
            result = read(path)
        except Exception as err:  # mido raises many kinds; the test only needs the reason
            result = {"path": path, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
