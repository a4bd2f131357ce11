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


# Image folders (data.dataset = "folder"): gray 8x8 PNGs written with zlib, and one 8x8 gray
# JPEG (the bytes the `image` crate's encoder writes for x*30 + y*3).
import zlib


def png(w, h, seed):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes((seed * 31 + x * 7 + y * 13) % 256 for x in range(w)) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


JPEG_8X8 = bytes.fromhex(
    "ffd8ffe000104a46494600010200000100010000ffc0000b080008000801011100ffdb00430008060607060508070707"
    "0909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38"
    "323c2e333432ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103"
    "03020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f024336272"
    "82090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
    "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00a5f092dbfd471e95"
    "ffd9"
)


def folder(name, extra=(), size=(8, 8)):
    for c in ("ant", "bee"):
        for i in range(3):
            put(f"{name}/train/{c}/{i}.png", png(size[0], size[1], i))
        put(f"{name}/test/{c}/0.png", png(size[0], size[1], 9))
    for rel, data in extra:
        put(f"{name}/{rel}", data)


folder("folder-truncated-jpeg", [("train/bee/cut.jpg", JPEG_8X8[: len(JPEG_8X8) // 2])])
folder("folder-text-as-png", [("train/ant/notes.png", b"these are notes, not an image\n")])
folder("folder-empty-class", [("train/cat/README.txt", b"images go here\n")])
folder("folder-mixed-sizes", [("train/bee/big.png", png(12, 10, 1))])
folder("folder-unknown-test-class", [("test/dog/0.png", png(8, 8, 1))])
put("folder-no-train/images/0.png", png(8, 8, 1))
