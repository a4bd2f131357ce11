#!/usr/bin/env bash
# Commits the small files of every finished grid run (a folder with summary.json) under
# grids/: config.toml, summary.json, metrics.jsonl, masks.json, run.json. A fresh clone skips
# those cells (`repro --collect` reads them; a rerun returns their summary at once).
#
#   bash scripts/commit-grid.sh ["message"]
set -euo pipefail
cd "$(dirname "$0")/.."
n=0
while IFS= read -r s; do
  d=$(dirname "$s")
  for f in config.toml summary.json metrics.jsonl masks.json run.json; do
    [ -f "$d/$f" ] && git add -- "$d/$f"
  done
  n=$((n + 1))
done < <(find grids -name summary.json | sort)
if git diff --cached --quiet -- grids; then
  echo "commit-grid.sh: nothing new ($n finished runs)"
else
  git commit -q -m "${1:-grids: finished runs ($n in all)}" -- grids
  echo "commit-grid.sh: committed ($n finished runs)"
fi
