#!/usr/bin/env bash
# `cargo xtask test-slurm`: the tiny `table1-cut` grid as a real Slurm job array on a one-node
# cluster started here (scripts/slurm-local.sh: root, Debian's slurm-wlm and munge), then
# collected: its table must equal the in-process run's byte for byte. Not part of CI (it
# installs and starts daemons); run it when the plan or Slurm scripts change.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work="$target/test-slurm"
rm -rf "$work"
mkdir -p "$work"
cargo build --release -p swast-cli
swast="$(cd "$target/release" && pwd)/swast"
bash scripts/slurm-local.sh > /dev/null
trap 'bash scripts/slurm-local.sh stop' EXIT
cargo xtask repro table1-cut --scale tiny --out "$work/inproc" > /dev/null
cargo xtask repro table1-cut --scale tiny --out "$work/slurm" \
  --plan "$work/plan.txt" --swast "$swast"
SWAST_SLURM_LOGS="$work/logs" timeout 1200 \
  bash scripts/slurm-repro.sh "$work/plan.txt" --wait
cargo xtask repro table1-cut --scale tiny --out "$work/slurm" --collect > /dev/null
diff "$work/inproc/table1-cut.csv" "$work/slurm/table1-cut.csv"
echo "test-slurm: the job array's table equals the in-process one"
