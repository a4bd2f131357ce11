#!/usr/bin/env python3
"""Writes the bad-input corpus next to this script (the files are committed; rerun to
regenerate them byte for byte). Every data set here is synthetic: a deterministic pixel
pattern, no real images."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def idx_images(n, rows=28, cols=28, magic=0x803):
    head = struct.pack(">IIII", magic, n, rows, cols)
    return head + bytes((i * 7 + j) % 256 for i in range(n) for j in range(rows * cols))


def idx_labels(labels, magic=0x801):
    return struct.pack(">II", magic, len(labels)) + bytes(labels)


def mnist_dir(name, train_images=None, train_labels=None, n=10, test_images=None):
    labels = [i % 10 for i in range(n)]
    put(f"{name}/train-images-idx3-ubyte", train_images if train_images is not None else idx_images(n))
    put(f"{name}/train-labels-idx1-ubyte", train_labels if train_labels is not None else idx_labels(labels))
    put(f"{name}/t10k-images-idx3-ubyte", test_images if test_images is not None else idx_images(n))
    put(f"{name}/t10k-labels-idx1-ubyte", idx_labels(labels))


# IDX (MNIST layout)
mnist_dir("idx-truncated", train_images=idx_images(10)[:-300])
mnist_dir("idx-wrong-magic", train_images=idx_images(10, magic=0x80A))
mnist_dir("idx-count-mismatch", train_labels=idx_labels([i % 10 for i in range(9)]))
mnist_dir("idx-label-out-of-range", train_labels=idx_labels([i % 10 for i in range(9)] + [12]))
mnist_dir("idx-empty", train_images=idx_images(0), train_labels=idx_labels([]))
mnist_dir("idx-test-shape-mismatch", test_images=idx_images(10, rows=20, cols=20))


# CIFAR-10 binary layout: one record per file
def cifar_record(label, k):
    return bytes([label]) + bytes((k * 13 + j) % 256 for j in range(3072))


def cifar_dir(name, bad_batch=None):
    for i in range(1, 6):
        data = cifar_record(i % 10, i)
        if bad_batch and bad_batch[0] == i:
            data = bad_batch[1]
        put(f"{name}/cifar-10-batches-bin/data_batch_{i}.bin", data)
    put(f"{name}/cifar-10-batches-bin/test_batch.bin", cifar_record(3, 9))


cifar_dir("cifar-bad-record-size", bad_batch=(2, cifar_record(1, 2) + b"\x00" * 100))
cifar_dir("cifar-label-out-of-range", bad_batch=(3, cifar_record(11, 3)))

# configs
configs = {
    "fraction-zero.toml": "method = \"coreset-only\"\n\n[coreset]\nfraction = 0.0\n",
    "fraction-too-big.toml": "method = \"coreset-only\"\n\n[coreset]\nfraction = 1.5\n",
    "fraction-nan.toml": "method = \"coreset-only\"\n\n[coreset]\nfraction = nan\n",
    "sparsity-one.toml": "method = \"pruning-only\"\n\n[prune]\nsparsity = 1.0\n",
    "not-toml.toml": "this is [not toml\n",
    "wrong-type.toml": "[train]\nepochs = \"ten\"\n",
}
for name, text in configs.items():
    put(f"configs/{name}", text.encode())
