#!/usr/bin/env python3
"""Times muspy's six metrics that Orchestrion shares on windows written by the metrics bench
(crates/metrics/benches/metrics.rs), so the bench compares both implementations on the same
windows in the same run.

Input: JSON {"steps_per_beat", "windows": [{"measure_steps", "tracks": [{"is_drum", "notes":
[[start, length, pitch], ...]}]}]} in steps. Building muspy objects is not timed; computing the
metrics is, best of three runs. Prints JSON {"seconds", "windows", "muspy_version"}. Exit status 3
when muspy is not installed.
"""

import json
import sys
import time


def main() -> int:
    try:
        import muspy
    except ImportError as error:
        print(f"muspy is not installed ({error})", file=sys.stderr)
        return 3
    with open(sys.argv[1]) as f:
        data = json.load(f)
    resolution = data["steps_per_beat"]
    songs = []
    for window in data["windows"]:
        tracks = [
            muspy.Track(
                is_drum=track["is_drum"],
                notes=[
                    muspy.Note(time=start, pitch=pitch, duration=length, velocity=100)
                    for start, length, pitch in track["notes"]
                ],
            )
            for track in window["tracks"]
        ]
        songs.append((muspy.Music(resolution=resolution, tracks=tracks), window["measure_steps"]))

    def run():
        for music, measure in songs:
            muspy.empty_beat_rate(music)
            muspy.polyphony_rate(music)
            muspy.pitch_class_entropy(music)
            muspy.scale_consistency(music)
            muspy.drum_pattern_consistency(music)
            muspy.groove_consistency(music, measure)

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"seconds": best, "windows": len(songs), "muspy_version": muspy.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
