"""What the Python boundary costs: swast.select called from Python (array checks and
conversion, the call, the result arrays) against the same call a Rust user makes on arrays
in memory (`Probe::from_probabilities`, then `swast_coreset::select`), and against
`select` alone on a probe built once, on a probe of full-MNIST size (60,000 × 10 classes × 84 features,
LeNet-5's penultimate width), 10%.

    python swast-py/bench/boundary.py [--repeats 7]
"""

import argparse
import time

import numpy as np

import swast
from swast import _swast


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--n", type=int, default=60000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n, k, f = args.n, 10, 84
    z = rng.normal(size=(n, k)) * 2
    p = np.exp(z - z.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    x = np.maximum(rng.normal(size=(n, f)), 0).astype(np.float32)
    y = rng.integers(0, k, n)
    print("| selector | through Python (s) | Rust: probe from arrays + select (s) | boundary | Rust: select alone (s) | vs select alone |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ["gradmatch", "craig", "el2n", "kcenter"]:
        py = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            swast.select(name, p, x, y, 0.1, seed=0)
            py.append(time.perf_counter() - t)
        rs = _swast._rust_seconds(name, p, x, y, 0.1, 0, args.repeats, True)
        alone = _swast._rust_seconds(name, p, x, y, 0.1, 0, args.repeats, False)
        a, b, c = float(np.median(py)), float(np.median(rs)), float(np.median(alone))
        print(f"| {name} | {a:.4f} | {b:.4f} | {100 * (a - b) / b:+.1f}% | {c:.4f} | {100 * (a - c) / c:+.1f}% |")


if __name__ == "__main__":
    main()
