#!/usr/bin/env bash
# Sets up the LibTorch backend (`--features tch`): a Python venv with PyTorch 2.9.0 (the
# exact version burn-tch 0.22.1 binds; PyPI's Linux wheel is the CUDA build, about 7 GB with
# its NVIDIA libraries), then an env file that builds against it and bakes an rpath to its
# libraries into every binary, so they run without LD_LIBRARY_PATH.
#
#   bash scripts/setup-tch.sh            # venv + env file (also: cargo xtask setup-tch)
#   source target-tch.env                # in each shell that builds with tch
#   cargo build --release -p swast-cli --features tch
#   cargo test --release -p swast-core --features tch --test devices
#   cargo run --release -p xtask --features tch -- bench
#
# SWAST_TCH_VENV picks the venv folder (default ~/.cache/swast-tch-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SWAST_TCH_VENV:-$HOME/.cache/swast-tch-venv}"
want="2.9.0"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
have="$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
  echo "installing torch==$want into $venv (large download)"
  "$venv/bin/pip" install --progress-bar off "torch==$want"
fi
lib="$("$venv/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
[ -f "$lib/libtorch_cpu.so" ] || { echo "error: $lib/libtorch_cpu.so not found: the torch install is broken; delete $venv and rerun" >&2; exit 1; }
cat > target-tch.env <<ENV
# written by scripts/setup-tch.sh: source it before building with --features tch
export LIBTORCH_USE_PYTORCH=1
export PATH="$venv/bin:\$PATH"
export RUSTFLAGS="-C link-arg=-Wl,-rpath,$lib"
export CARGO_TARGET_DIR="\${SWAST_TCH_TARGET:-\$HOME/.cache/swast-target-tch}"
ENV
echo "torch $want ready in $venv"
echo "now: source target-tch.env && cargo test --release -p swast-core --features tch --test devices"
