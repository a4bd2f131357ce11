#!/usr/bin/env bash
# Runs one `cargo xtask repro` target's grid as independent, resumable `swast train` runs:
# plan -> scripts/run-plan.sh (N at a time, one thread each) -> --collect into docs/results.
# Stopped (kill, reboot, another machine), it resumes: finished folders are skipped, partial
# ones resumed from their checkpoint, and folders committed from another machine (config,
# summary, metrics: scripts/commit-grid.sh) count as finished.
#
#   bash scripts/grid.sh TARGET [SEEDS] [WORKERS] [SCALE]      e.g. scripts/grid.sh table1-trim 3 2
#
# Needs release binaries: cargo build --release -p swast-cli -p xtask
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: grid.sh TARGET [SEEDS] [WORKERS] [SCALE]}
seeds=${2:-3}
jobs=${3:-2}
scale=${4:-cpu}
bin="${CARGO_TARGET_DIR:-target}/release"
for b in swast xtask; do
  [ -x "$bin/$b" ] || { echo "grid.sh: no $bin/$b: run cargo build --release -p swast-cli -p xtask" >&2; exit 1; }
done
out="grids/$scale"
plan="grids/plan-$target-$scale.txt"
mkdir -p "$out"
"$bin/xtask" repro "$target" --scale "$scale" --seeds "$seeds" --out "$out" --plan "$plan" --swast "$bin/swast"
start=$(date +%s)
# a run that fails (a diverged cell: λ = 10 does) is reported and left out of the tables;
# the grid's other runs, and the targets after it, go on
RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}" nice -n "${GRID_NICE:-5}" bash scripts/run-plan.sh "$plan" "$jobs" ||
  echo "grid.sh: some runs of $target failed (their errors are above); collecting the finished ones" >&2
echo "grid.sh: $target ran in $(( $(date +%s) - start )) s ($jobs workers)" >&2
"$bin/xtask" repro "$target" --scale "$scale" --seeds "$seeds" --out "$out" --collect
mkdir -p "docs/results/$scale"
for f in "$out/$target".md "$out/$target".csv "$out/$target"-seeds.csv; do
  cp "$f" "docs/results/$scale/"
done
