#!/usr/bin/env python3
"""Numbers behind the verdict table of docs/results/README.md, read from the result CSVs.

    python3 scripts/verdicts.py docs/results

Prints, per claim of the paper, our differences (mean over 3 seeds; the std of each cell is
in the CSVs) so the verdicts can be checked against the tables. Missing targets are skipped.
"""
import csv
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "docs/results"


def rows(name):
    p = os.path.join(root, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return list(csv.DictReader(f))


def table1(variant):
    r = rows(f"table1-{variant}.csv")
    if r is None:
        return None
    t = {}
    for x in r:
        t[(x["coreset"], x["rate"])] = (float(x["ours_mean"]), float(x["ours_std"]))
    return t


for variant in ["trim", "cut"]:
    t = table1(variant)
    if t is None:
        continue
    print(f"== Table 1, {variant}: SWaST − coreset-only (points), per coreset size")
    for size in ["0.1", "0.05", "0.01", "0.01-step"]:
        co = t.get((size, "coreset-only"))
        if co is None:
            continue
        diffs = {
            rate: t[(size, rate)][0] - co[0]
            for rate in ["0.9", "0.7", "0.5", "0.3", "0.1"]
            if (size, rate) in t
        }
        best = max(diffs, key=diffs.get)
        print(
            f"  {size:>9}: coreset-only {co[0]:.2f} ± {co[1]:.2f}; "
            + ", ".join(f"{r}: {d:+.2f}" for r, d in diffs.items())
            + f"; best {best} ({diffs[best]:+.2f}); rates ahead: {sum(d > 0 for d in diffs.values())}/5"
        )
        off = t.get((size, "0.5-preserve-off"))
        if off is not None and (size, "0.5") in t:
            on = t[(size, "0.5")]
            print(
                f"             preservation at 50%: complete {on[0]:.2f} ± {on[1]:.2f} vs off {off[0]:.2f} ± {off[1]:.2f} ({on[0] - off[0]:+.2f})"
            )

r = rows("table-noise.csv")
if r is not None:
    t = {(x["subset"], x["rate"]): float(x["ours_mean"]) for x in r}
    print("== Table A (20% noise)")
    dense = t.get(("1.0", "0.0")) or t.get(("1", "0"))
    for sub in ["0.2", "0.1", "0.05"]:
        co = t.get((sub, "0.0")) or t.get((sub, "0"))
        cut = {k[1]: v for k, v in t.items() if k[0] == sub and k[1] not in ("0", "0.0")}
        if co is None or not cut:
            continue
        best = max(cut, key=cut.get)
        print(
            f"  {sub}: coreset-only {co:.2f}, dense {dense}, best cut {best} {cut[best]:.2f} "
            f"(vs coreset-only {cut[best] - co:+.2f}, vs dense {cut[best] - (dense or 0):+.2f}); "
            f"cut rates ahead of coreset-only: {sum(v > co for v in cut.values())}/{len(cut)}"
        )

r = rows("fig6.csv")
if r is not None:
    print("== Fig. 6: SWaST-cut (10% coreset) − pruning-only, same rates")
    for x in r:
        d = float(x["swast_mean"]) - float(x["prune_mean"])
        print(
            f"  {float(x['rate']):.2f}: {float(x['swast_mean']):.2f} vs {float(x['prune_mean']):.2f} ({d:+.2f}); "
            f"rel. FLOPs {float(x['swast_rel_flops']):.3f} vs {float(x['prune_rel_flops']):.3f}"
        )

r = rows("fig5a.csv")
if r is not None and r:
    last = r[-1]
    print(
        f"== Fig. 5a: last round noisy share coreset-only {float(last['coreset_only_mean']):.2f}% vs SWaST-cut {float(last['swast_cut_mean']):.2f}%"
    )
