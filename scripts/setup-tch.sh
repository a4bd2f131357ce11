#!/usr/bin/env bash
# Sets up the LibTorch backend (`--features tch`) against a PyTorch install, then writes an env
# file that builds against it and bakes an rpath to its libraries into every binary, so they run
# without LD_LIBRARY_PATH.
#
# Which torch: the one already installed where you point (SWAST_TORCH_PYTHON, else python3 on
# PATH) when its version is one tch 0.22 (burn-tch 0.22.1's binding) builds against; otherwise
# a venv with torch $SWAST_TORCH_VERSION (default 2.9.0, tch's own; PyPI's Linux wheel is the
# CUDA build, about 7 GB with its NVIDIA libraries).
#
# The range (docs/results/tch-torch-versions.md): 2.9.0 is tch 0.22's own; 2.10 and 2.11 build
# with tch's version check bypassed (LIBTORCH_BYPASS_VERSION_CHECK). With 2.12 the CUDA wheel
# does not link: burn-tch's CUDA stub calls at::cuda::getCurrentCUDABlasHandle(), which took a
# `bool` from 2.12 on; from 2.13 the C++ API no longer has functions tch's wrapper calls
# (Tensor::align_as, torch::align_tensors; from 2.14 also torch::cholesky and torch::qr, and it
# needs C++20).
#
#   bash scripts/setup-tch.sh            # (also: cargo xtask setup-tch)
#   source target-tch.env                # in each shell that builds with tch
#   cargo build --release -p swast-cli --features tch
#   cargo test --release -p swast-core --features tch --test devices
#   cargo run --release -p xtask --features tch -- bench
#
# SWAST_TCH_VENV picks the venv folder (default ~/.cache/swast-tch-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SWAST_TCH_VENV:-$HOME/.cache/swast-tch-venv}"
tch_own="2.9.0"
# major.minor versions tch 0.22 builds against (2.9 is its own)
supported="2.9 2.10 2.11"

version_of() {
  "$1" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true
}
is_supported() {
  local mm
  mm="$(echo "$1" | cut -d. -f1,2)"
  [[ " $supported " == *" $mm "* ]]
}

py=""
found="${SWAST_TORCH_PYTHON:-$(command -v python3 || true)}"
if [ -z "${SWAST_TORCH_VERSION:-}" ] && [ -n "$found" ]; then
  have="$(version_of "$found")"
  if [ -n "$have" ] && is_supported "$have"; then
    py="$found"
    echo "using the installed torch $have ($found)"
  elif [ -n "$have" ]; then
    echo "the installed torch $have ($found) is outside what tch 0.22 builds against ($supported); installing torch $tch_own into $venv"
  fi
fi
if [ -z "$py" ]; then
  want="${SWAST_TORCH_VERSION:-$tch_own}"
  if ! is_supported "$want"; then
    echo "error: SWAST_TORCH_VERSION=$want: tch 0.22 builds against torch $supported only" >&2
    exit 2
  fi
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  py="$venv/bin/python"
  if [ "$(version_of "$py")" != "$want" ]; then
    echo "installing torch==$want into $venv (large download)"
    "$venv/bin/pip" install --progress-bar off "torch==$want"
  fi
fi
version="$(version_of "$py")"
lib="$("$py" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
[ -f "$lib/libtorch_cpu.so" ] || { echo "error: $lib/libtorch_cpu.so not found: the torch install is broken; reinstall it (or delete $venv) and rerun" >&2; exit 1; }
bypass=""
if [ "$version" != "$tch_own" ]; then
  bypass="export LIBTORCH_BYPASS_VERSION_CHECK=1"
fi
cat > target-tch.env <<ENV
# written by scripts/setup-tch.sh for torch $version: source it before building with --features tch
export LIBTORCH_USE_PYTORCH=1
$bypass
export PATH="$(dirname "$py"):\$PATH"
export RUSTFLAGS="-C link-arg=-Wl,-rpath,$lib"
export CARGO_TARGET_DIR="\${SWAST_TCH_TARGET:-\$HOME/.cache/swast-target-tch-$version}"
ENV
echo "torch $version ready ($py)"
echo "now: source target-tch.env && cargo test --release -p swast-core --features tch --test devices"
