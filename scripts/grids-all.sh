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
# The open readings (head, lambda, rigl-cadence: 48 new 1%/5% runs, the rest shared with
# Table 1) run before Table A, Fig. 9 and Fig. 6 (about 200 runs, 45 of them full-data
# arms): they are small and each gives a verdict line of its own.
for t in table1-trim table1-cut table2 head lambda rigl-cadence table-noise fig9 fig6; do
  bash scripts/grid.sh "$t" "${SEEDS:-3}" "${WORKERS:-2}"
  bash scripts/commit-grid.sh "grids: finished runs of $t"
done
