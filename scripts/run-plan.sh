#!/usr/bin/env bash
# Runs a `cargo xtask repro … --plan FILE` plan on this machine, N lines at a time (default 2),
# without a cluster: each line is one run folder, idempotent (finished → skipped, partial →
# resumed, a folder in use → refused), so the plan can be rerun after a crash. GNU parallel
# does the same: `parallel -j N < FILE`.
#
#   bash scripts/run-plan.sh PLAN [N]
set -euo pipefail
plan=${1:?usage: run-plan.sh PLAN [N]}
jobs=${2:-2}
[ -f "$plan" ] || { echo "run-plan.sh: no plan file $plan" >&2; exit 1; }
# one bash per line; xargs exits non-zero when any line failed
grep -v '^[[:space:]]*$' "$plan" | xargs -d '\n' -n 1 -P "$jobs" bash -c
