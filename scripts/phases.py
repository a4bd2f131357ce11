#!/usr/bin/env python3
"""Where a run's wall time goes, from its folder: full-data epochs, coreset epochs, the
probe passes, the selector, evaluation and checkpoints (issue 29).

    python3 scripts/phases.py RUN_DIR [RUN_DIR ...]          # a Markdown table

Per epoch, `metrics.jsonl` gives the epoch's wall seconds (selection, training and
evaluation) and its evaluation seconds; each selection event its seconds and, of them, the
probe's. Training = epoch − evaluation − selection. `summary.json`'s `phase_seconds.checkpoint`
holds the checkpoints' time (runs of swast from issue 29 on; older runs show "—"); the wall
time is `wall_seconds` (the epochs) plus the checkpoints, and "other" what the epochs'
seconds hold besides the phases above (should be about 0).
"""

import json
import sys
from pathlib import Path


def phases(run: Path) -> dict:
    summary = json.loads((run / "summary.json").read_text())
    sel_by_epoch, probe, selector = {}, 0.0, 0.0
    full = coreset = evaluation = 0.0
    epochs = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e["event"] == "selection":
            sel_by_epoch[e["epoch"]] = sel_by_epoch.get(e["epoch"], 0.0) + e["seconds"]
            probe += e.get("probe_seconds", 0.0)
            selector += e["seconds"] - e.get("probe_seconds", 0.0)
        elif e["event"] == "epoch_end":
            epochs.append(e)
    for e in epochs:
        train = e["seconds"] - e.get("eval_seconds", 0.0) - sel_by_epoch.get(e["epoch"], 0.0)
        evaluation += e.get("eval_seconds", 0.0)
        if e["phase"] == "full":
            full += train
        else:
            coreset += train
    ckpt = summary.get("phase_seconds", {}).get("checkpoint")
    # `wall_seconds` sums the epochs (selection, training, evaluation); checkpoints are
    # written between epochs, so they come on top of it
    wall = summary["wall_seconds"] + (ckpt or 0.0)
    known = full + coreset + probe + selector + evaluation + (ckpt or 0.0)
    return {
        "run": run.as_posix(),
        "method": summary["method"],
        "fraction": summary["coreset_fraction"],
        "wall": wall,
        "full": full,
        "coreset": coreset,
        "probe": probe,
        "selector": selector,
        "eval": evaluation,
        "checkpoint": ckpt,
        "other": wall - known,
    }


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cols = ["full", "coreset", "probe", "selector", "eval", "checkpoint", "other"]
    print(
        "| run | method | wall s | full-data epochs | coreset epochs | probe | selector | evaluation | checkpoints | other | selection share |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in sys.argv[1:]:
        if not (Path(d) / "summary.json").is_file():
            print(f"| {d} | not finished | | | | | | | | | |")
            continue
        p = phases(Path(d))
        cells = []
        for c in cols:
            v = p[c]
            cells.append("—" if v is None else f"{v:.1f} ({100 * v / p['wall']:.1f}%)")
        share = 100 * (p["probe"] + p["selector"]) / p["wall"]
        print(
            f"| {p['run']} | {p['method']} | {p['wall']:.0f} | " + " | ".join(cells) + f" | {share:.1f}% |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
