#!/usr/bin/env bash
# The GPU check of the LibTorch backend, for a machine that has an NVIDIA driver and a PyTorch
# wheel but no Rust toolchain: it needs only a prebuilt `swast` (built with `--features tch`
# against a torch of the same version as this machine's, see README "Backends") and python3
# with torch. In under 10 minutes it
#   1. prints the torch, CUDA and GPU facts,
#   2. runs `swast run --device tch-cuda` (the five methods on the embedded MNIST-5k),
#   3. measures ResNet-18 (CIFAR-style) training throughput on CIFAR-shaped data (random
#      3x32x32 samples written in the CIFAR-10 binary format: 10,000 on a GPU, 1,280 on the
#      CPU, or SWAST_CHECK_SAMPLES), batch 128, in `swast
#      train` and in PyTorch eager on the same GPU, with the same model, optimizer and batch,
# and writes OUT/report.md (plus the raw outputs beside it).
#
#   bash scripts/gpu-check.sh [SWAST_BIN] [OUT]     # defaults: target/release/swast, gpu-check
#
# SWAST_PYTHON picks the python (default python3); SWAST_DEVICE the device (default tch-cuda;
# tch-cpu runs the same check on the CPU, which is how it is tested on machines without a GPU).
set -euo pipefail
bin="${1:-target/release/swast}"
out="${2:-gpu-check}"
py="${SWAST_PYTHON:-python3}"
device="${SWAST_DEVICE:-tch-cuda}"
case "$device" in
  tch-cuda*) torch_device="cuda${device#tch-cuda}"; samples="${SWAST_CHECK_SAMPLES:-10000}" ;;
  tch-cpu) torch_device="cpu"; samples="${SWAST_CHECK_SAMPLES:-1280}" ;;
  *) echo "error: SWAST_DEVICE must be tch-cuda[:N] or tch-cpu, got $device" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "error: $bin is not an executable swast binary; pass its path as the first argument" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
t_start=$(date +%s)

# 1. torch facts; the binary finds libtorch in this torch's lib folder
facts="$("$py" - "$torch_device" <<'PY'
import os, sys, torch
dev = sys.argv[1]
gpu = torch.cuda.get_device_name(int(dev.split(":")[1]) if ":" in dev else 0) if dev.startswith("cuda") and torch.cuda.is_available() else "none"
print(torch.__version__, torch.version.cuda or "none", torch.cuda.is_available(), gpu.replace(" ", "_"), os.path.join(os.path.dirname(torch.__file__), "lib"))
PY
)" || { echo "error: $py cannot import torch; install a PyTorch wheel or set SWAST_PYTHON" >&2; exit 2; }
read -r torch_version cuda_version cuda_ok gpu torch_lib <<<"$facts"
if [ "$torch_device" != "cpu" ] && [ "$cuda_ok" != "True" ]; then
  echo "error: torch $torch_version sees no CUDA device (torch.cuda.is_available() is False); check the driver (nvidia-smi)" >&2
  exit 2
fi
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! "$bin" --version >"$out/version.txt" 2>&1; then
  echo "error: $bin does not start against torch $torch_version ($torch_lib): $(head -c 300 "$out/version.txt"); build swast against this torch version (README, Backends)" >&2
  exit 2
fi
echo "torch $torch_version (CUDA $cuda_version), device $device, GPU ${gpu//_/ }, $(cat "$out/version.txt")"

# 2. the main job on the device
rm -rf "$out/run"
t0=$(date +%s)
timeout 300 "$bin" run --device "$device" --out "$out/run" >"$out/run.txt" 2>&1 || {
  echo "error: swast run --device $device failed or ran past 300 s (exit $?), see $out/run.txt:" >&2; tail -5 "$out/run.txt" >&2; exit 1; }
run_secs=$(( $(date +%s) - t0 ))

# 3a. CIFAR-shaped data: $samples train / 1,000 test random samples
"$py" - "$out/data/cifar10" "$samples" <<'PY'
import os, sys, numpy as np
d, n = sys.argv[1], int(sys.argv[2]); os.makedirs(d, exist_ok=True)
r = np.random.default_rng(0)
def batch(n):
    rec = np.empty((n, 3073), np.uint8)
    rec[:, 0] = r.integers(0, 10, n); rec[:, 1:] = r.integers(0, 256, (n, 3072))
    return rec.tobytes()
for i in range(1, 6):
    open(os.path.join(d, f"data_batch_{i}.bin"), "wb").write(batch(n // 5))
open(os.path.join(d, "test_batch.bin"), "wb").write(batch(1000))
PY

# 3b. swast: two epochs, the second one timed (metrics.jsonl: seconds minus evaluation)
rm -rf "$out/r18"
timeout 240 "$bin" train --quiet --set data.dataset=cifar10 --set "data.dir=$out/data" \
  --set data.augment=off --set model.arch=resnet18 --set train.epochs=2 \
  --set train.batch_size=128 --set train.eval_every=2 --set "device=$device" \
  --out "$out/r18" >"$out/r18.txt" 2>&1 || {
  rc=$?; [ $rc = 124 ] && echo "error: the ResNet-18 run did not finish in 240 s (fewer samples: SWAST_CHECK_SAMPLES)" >&2
  echo "error: the ResNet-18 run failed (exit $rc), see $out/r18.txt:" >&2; tail -5 "$out/r18.txt" >&2; exit 1; }
swast_rate="$("$py" - "$out/r18/metrics.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ep = [e for e in ev if e.get("event") == "epoch_end"]
last = ep[-1]
print(f'{last["samples"] / (last["seconds"] - last.get("eval_seconds", 0.0)):.0f}')
PY
)"

# 3c. PyTorch eager: the same CIFAR-style ResNet-18 and step, data on the device
torch_rate="$("$py" - "$torch_device" <<'PY'
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
dev = torch.device(sys.argv[1]); torch.manual_seed(0)
class Block(nn.Module):
    def __init__(s, cin, c, stride):
        super().__init__()
        s.c1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False); s.b1 = nn.BatchNorm2d(c)
        s.c2 = nn.Conv2d(c, c, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(c)
        s.sc = None
        if stride != 1 or cin != c:
            s.sc = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), nn.BatchNorm2d(c))
    def forward(s, x):
        o = F.relu(s.b1(s.c1(x))); o = s.b2(s.c2(o))
        return F.relu(o + (x if s.sc is None else s.sc(x)))
class ResNet18(nn.Module):
    def __init__(s):
        super().__init__()
        s.stem = nn.Conv2d(3, 64, 3, 1, 1, bias=False); s.bn = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for i, c in enumerate([64, 128, 256, 512]):
            for b in range(2):
                blocks.append(Block(cin, c, 2 if i > 0 and b == 0 else 1)); cin = c
        s.blocks = nn.Sequential(*blocks); s.fc = nn.Linear(512, 10)
    def forward(s, x):
        return s.fc(F.adaptive_avg_pool2d(s.blocks(F.relu(s.bn(s.stem(x)))), 1).flatten(1))
m = ResNet18().to(dev)
opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
x = torch.randn(128, 3, 32, 32, device=dev); y = (torch.arange(128) % 10).to(dev)
def step():
    opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
for _ in range(5): step()
sync(); t0, n = time.time(), 0
while n < 10 or time.time() - t0 < 10:
    step(); n += 1
sync(); print(f"{128 * n / (time.time() - t0):.0f}")
PY
)"
total=$(( $(date +%s) - t_start ))
ratio="$("$py" -c "print(f'{$swast_rate / $torch_rate:.2f}')")"
{
  echo "# GPU check ($device)"
  echo
  echo "torch $torch_version (CUDA $cuda_version), GPU ${gpu//_/ }, $(cat "$out/version.txt"), $(date -u +%Y-%m-%d)."
  echo
  echo "## \`swast run --device $device\` (${run_secs} s)"
  echo
  echo '```'
  tail -8 "$out/run.txt"
  echo '```'
  echo
  echo "## ResNet-18 (CIFAR-style), batch 128, training samples/s ($samples samples an epoch)"
  echo
  echo "| swast train ($device, 2nd epoch, host batching included) | PyTorch eager ($torch_device, data on the device) | swast / PyTorch |"
  echo "|---:|---:|---:|"
  echo "| $swast_rate | $torch_rate | $ratio |"
  echo
  echo "Command: \`bash scripts/gpu-check.sh $bin $out\` · total ${total} s"
} >"$out/report.md"
cat "$out/report.md"
