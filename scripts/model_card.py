#!/usr/bin/env python3
"""Writes models/NAME/MODEL_CARD.md from what was measured: the model's config.json, its training
run's events.jsonl (steps, step times) and the output of `orchestrion eval --model ... --data ...`
(the metric table), around the hand-written parts in scripts/model_cards.json (data, licences,
limits). Nothing numeric in a card is typed by hand.

    python3 scripts/model_card.py NAME RUN_DIR EVAL_MARKDOWN_FILE
    python3 scripts/model_card.py --overview NAME...   # the table of docs/models.md
"""
import json
import sys
from pathlib import Path

GM = {0: "acoustic grand piano", 26: "jazz electric guitar", 29: "overdriven guitar",
      32: "acoustic bass", 33: "electric bass (finger)", 40: "violin", 41: "viola", 42: "cello",
      48: "string ensemble", 52: "choir aahs", 65: "alto sax"}


def model_folder(root, name):
    """A model's folder: shipped in models/, else a candidate."""
    shipped = root / "models" / name
    return shipped if shipped.is_dir() else root / "candidates" / name


def missed(report):
    """One sentence on the quality targets this model misses, from the eval report."""
    met = next(l for l in report.splitlines() if "Targets met" in l)
    met = met[met.index("Targets met"):].rstrip(".")
    cells = {row.split("|")[2].strip() for row in report.splitlines()
             if row.startswith("| ") and "**miss**" in row}
    misses = sorted(c for c in cells if not c[:1].isdigit())
    if len(misses) < len(cells):
        misses.append("tonal distance matched < shuffled")
    if "seam (miss)" in report:
        misses.append("seams")
    if not misses:
        return f"{met}: every quality target of issue 6 is met on the validation melodies."
    # What each missed metric means for a listener, in the words of docs/metrics.md.
    meaning = {"notes/bar": "note density", "EB": "empty bars", "UPC": "pitch classes per bar",
               "PCE": "pitch-class variety", "QN": "notes lasting at least 3 sixteenths", "PR": "polyphony", "IS": "notes in the melody's key",
               "GC": "groove consistency", "DP": "drum pattern",
               "tonal distance matched < shuffled": "harmony following the melody",
               "seams": "continuity across generation windows"}
    explained = ", ".join(f"{m} ({meaning[m]})" if m in meaning else m for m in misses)
    return (f"{met}: the quality targets of issue 6 are not all met. Missed, for at least one "
            f"part (see the table): {explained}.")


def main():
    name, run_dir, eval_md = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    run = run_dir.name
    root = Path(__file__).resolve().parent.parent
    text = json.loads((root / "scripts/model_cards.json").read_text())[name]
    folder = model_folder(root, name)
    config = json.loads((folder / "config.json").read_text())
    steps = [json.loads(l) for l in (run_dir / "events.jsonl").open() if '"kind":"step"' in l]
    step_ms = sorted(e["millis"] for e in steps)
    minutes = sum(step_ms) / 60000
    def program(role, number):
        if role == "drums":
            return "drum kit, channel 10"
        return f"GM {number} {GM.get(number, '')}".strip()

    roles = ", ".join(
        f"{r} ({program(r, p)})" for r, p in zip(config["roles"], config["programs"]))
    meters = ", ".join(f"{n}/{d}" for n, d in config["meters"])
    shipped = folder.parent.name == "models"
    status = [] if shipped else [
        "**Not shipped: a candidate.** It fails the CI sanity check of shipped models "
        "(`crates/cli/tests/shipped_models.rs`: " + text.get("sanity", "see docs/models.md") + "), so "
        "it lives in `candidates/`, not `models/`. Try it with `--model candidates/" + name + "` or "
        "`orchestrion serve --models-dir candidates`.", ""]
    out = [f"# {name}", "", *status, text["summary"], "",
           "## Data and licences", *[f"- {d}" for d in text["data"]], "",
           "## Roles and programs",
           f"{roles}. Trained meters: {meters} (other meters are generated on the same grid, see "
           f"docs/models.md). Grid: {config['steps_per_beat']} steps per beat, windows of "
           f"{config['window_bars']} bars." + (
               f" Swing at export: {config['swing']:.2f} of an eighth (off-beat eighths of the "
               f"parts come late; the melody is not moved; `generate --swing 0` for straight; "
               f"see docs/models.md, \"Swing\")." if config.get("swing") else ""), "",
           "## Training",
           f"- Hyper-parameters: batch 32, Adam lr 2e-4 (β 0.5, 0.9), 1 critic update per step, "
           f"hinge loss, spectral-norm critic, reconstruction weight 1.0, channels "
           f"{config['channels']} / beat {config['beat_channels']} / critic "
           f"{config['critic_channels']}, latent {config['latent']}, seed 1.",
           f"- Steps: {len(steps)} (sum of step times {minutes:.0f} min; median step "
           f"{step_ms[len(step_ms) // 2]:.0f} ms).",
           f"- Hardware and wall time: {text['hardware']}",
           f"- Reproduce (training code of commit {text['commit']}; {text['reproducibility']}):",
           "```sh",
           f"orchestrion dataset build recipes/{name}.toml -o data/{name}",
           f"{text.get('env', '')}orchestrion train --data data/{name} --out runs/{run} "
           f"--steps {len(steps)} {text.get('train_flags', '')}--seed 1",
           f"orchestrion calibrate --model runs/{run}/checkpoint --data data/{name}",
           f"cp runs/{run}/checkpoint/{{config.json,generator.safetensors,critic.safetensors,"
           f"spectral.json}} {folder.parent.name}/{name}/",
           "```",
           f"- Continue training: `orchestrion train --data data/{name} --out runs/{run} "
           f"--resume --steps {len(steps) + 2000}`, then calibrate again.", "",
           "## Metrics (validation melodies never used in training, vs the training data)",
           "Made by `orchestrion eval --model models/%s --data data/%s`:" % (name, name), "",
           eval_md.read_text().strip(), "",
           "## Limits (honest)", f"- {missed(eval_md.read_text())}",
           *[f"- {l}" for l in text["limits"]], ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(out))




def overview(names):
    """The side-by-side table of docs/models.md, from each card's metric table."""
    root = Path(__file__).resolve().parent.parent
    rows = ["| model | role | notes/bar | UPC | QN | IS | TD matched · shuffled | data: notes/bar | UPC "
            "| QN | IS | TD matched · shuffled |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        folder = model_folder(root, name)
        card = (folder / "MODEL_CARD.md").read_text().splitlines()
        metric, tonal = {}, {}
        for line in card:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[1] in ("notes/bar", "UPC", "QN", "IS"):
                metric[(cells[0], cells[1])] = (cells[2], cells[3])
            elif len(cells) == 6 and cells[1][:1].isdigit():
                tonal[cells[0]] = (f"{cells[1]} · {cells[2]}", f"{cells[3]} · {cells[4]}")
        for role in dict.fromkeys(r for r, _ in metric):
            g = [metric.get((role, m), ("-", "-")) for m in ("notes/bar", "UPC", "QN", "IS")]
            td = tonal.get(role, ("-", "-"))
            rows.append(f"| {name} | {role} | " + " | ".join(x[0] for x in g) + f" | {td[0]} | "
                        + " | ".join(x[1] for x in g) + f" | {td[1]} |")
    print("\n".join(rows))


if __name__ == "__main__":
    if sys.argv[1] == "--overview":
        overview(sys.argv[2:])
    else:
        main()
