"""A plain PyTorch MNIST training loop that re-selects a GradMatch coreset every R epochs
with swast — beside the same loop selecting with CORDS' own GradMatch solver, when CORDS is
installed.

    python swast-py/examples/torch_mnist_loop.py --data data/mnist [--epochs 10] [--out FILE]

Both arms share everything but the selector: LeNet-5, SGD 0.05 (momentum 0.9, Nesterov,
weight decay 5e-4, cosine over epochs), batch 128, a 10% coreset re-selected every R = 2
epochs after one full-data epoch (SWaST's literal schedule), unweighted training on the
coreset. The probe (softmax outputs and the classifier's inputs over the training set) is
the same function for both; swast selects with ``swast.select("gradmatch", …)``; CORDS with
``OrthogonalMP_REG`` per class on the rows ``(p_c − 1)·[1, h]``, the quota filled up at
random, as its ``GradMatchStrategy`` does on a CPU. ``cargo xtask py-example`` runs it.
"""

import argparse
import gzip
import importlib.util
import json
import math
import os
import pathlib
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import swast
from swast.torch import probe_arrays


def read_idx(path):
    p = pathlib.Path(path)
    if not p.exists() and pathlib.Path(str(p) + ".gz").exists():
        p = pathlib.Path(str(p) + ".gz")
    raw = gzip.open(p).read() if p.suffix == ".gz" else p.read_bytes()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist(root):
    def split(prefix):
        x = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255
        y = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        return torch.from_numpy((x - 0.1307) / 0.3081).unsqueeze(1), torch.from_numpy(y)

    return split("train"), split("t10k")


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc(F.relu(self.fc2(x)))


def cords_gradmatch(probs, feats, labels, budget, rng):
    """CORDS 0.0.4's per-class GradMatch on a CPU (its OrthogonalMP_REG, positive, lam 0,
    its default tolerance), the quota filled up at random."""
    import cords

    spec = importlib.util.spec_from_file_location(
        "omp", os.path.join(os.path.dirname(cords.__file__), "selectionstrategies/helpers/omp_solvers.py"))
    omp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(omp)
    n = len(labels)
    chosen = []
    for c in range(probs.shape[1]):
        rows = np.where(labels == c)[0]
        e = probs[rows, c] - 1.0
        g = (e[:, None] * np.hstack([np.ones((len(rows), 1), np.float32), feats[rows]])).astype(np.float32)
        q = math.ceil(budget * len(rows) / n)
        x = omp.OrthogonalMP_REG(g.T, g.sum(0), nnz=q, positive=True, lam=0)
        s = list(np.nonzero(x)[0])
        rest = np.setdiff1d(np.arange(len(rows)), s)
        s += list(rng.choice(rest, max(q - len(s), 0), replace=False))
        chosen.extend(rows[s].tolist())
    return np.array(sorted(chosen))


def run(arm, train, test, epochs, interval, fraction, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    (xtr, ytr), (xte, yte) = train, test
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    ds = torch.utils.data.TensorDataset(xtr, ytr)
    probe_loader = torch.utils.data.DataLoader(ds, batch_size=1024, shuffle=False)
    warmup = math.ceil(epochs * fraction / 2)
    view = None
    select_s = probe_s = 0.0
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if epoch > warmup and epoch % interval == 0:
            t = time.perf_counter()
            p, h, y = probe_arrays(model, probe_loader, features="fc")
            probe_s += time.perf_counter() - t
            t = time.perf_counter()
            if arm == "swast":
                view, _ = swast.select("gradmatch", p, h, y, fraction, seed=seed + epoch)
            else:
                view = cords_gradmatch(p, h, y, round(fraction * len(y)), rng)
            select_s += time.perf_counter() - t
        sub = ds if view is None else torch.utils.data.Subset(ds, view.tolist())
        loader = torch.utils.data.DataLoader(
            sub, batch_size=128, shuffle=True, generator=torch.Generator().manual_seed(seed + epoch))
        model.train()
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        sched.step()
    wall = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = float((model(xte).argmax(1) == yte).float().mean())
    return {"arm": arm, "test_accuracy": acc, "wall_seconds": wall, "probe_seconds": probe_s,
            "selector_seconds": select_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--interval", type=int, default=2)
    ap.add_argument("--fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train, test = mnist(a.data)
    arms = ["swast"]
    if importlib.util.find_spec("cords") is not None:
        arms.append("cords")
    else:
        print("CORDS is not installed: the swast arm only")
    rows = [run(arm, train, test, a.epochs, a.interval, a.fraction, a.seed) for arm in arms]
    md = [
        f"PyTorch {torch.__version__}, LeNet-5 on full MNIST, {a.epochs} epochs, a {a.fraction:.0%} GradMatch "
        f"coreset every {a.interval} epochs, seed {a.seed}, {a.threads} threads",
        "",
        "| selection by | test accuracy | wall (s) | probes (s) | selector (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        md.append(f"| {r['arm']} | {100 * r['test_accuracy']:.2f}% | {r['wall_seconds']:.1f} | "
                  f"{r['probe_seconds']:.1f} | {r['selector_seconds']:.2f} |")
    text = "\n".join(md)
    print(text)
    if a.out:
        pathlib.Path(a.out).write_text(text + "\n\n```json\n" + json.dumps(rows, indent=1) + "\n```\n")


if __name__ == "__main__":
    main()
