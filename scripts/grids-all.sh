#!/usr/bin/env bash
# Runs every cpu-scale grid of issues 24 and 29 in their order, resumably: finished cells
# are skipped (their committed folders count), partial ones resumed; after each target its
# finished runs are committed (scripts/commit-grid.sh) and its tables copied to
# docs/results/cpu/ (scripts/grid.sh).
#
#   cargo build --release -p swast-cli -p xtask
#   nohup bash scripts/grids-all.sh > grids.log 2>&1 &       # SEEDS=3 WORKERS=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
for t in table1-trim table1-cut table2 table-noise fig9 fig6 head lambda rigl-cadence; do
  bash scripts/grid.sh "$t" "${SEEDS:-3}" "${WORKERS:-2}"
  bash scripts/commit-grid.sh "grids: finished runs of $t"
done
