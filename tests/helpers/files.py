"""Fake data sets written under tmp_path in the real layouts (MNIST raw IDX, image folders,
Tiny-ImageNet), for the loader, cache and split tests. Every random pixel is seeded: an image's
pixels follow from its path inside the data set, the same on every run and in any test order."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _rng_for(path: Path) -> np.random.Generator:
    """A generator seeded by the last three parts of `path` (e.g. train/cat/0000.png): files of
    different classes or splits differ, and tmp_path's random name plays no part."""
    return np.random.default_rng(zlib.crc32("/".join(path.parts[-3:]).encode()))


def write_image(
    path: Path, size: int = 8, mode: str = "RGB", value: int | None = None, seed: int | None = None
) -> np.ndarray:
    """One `size` x `size` image file (format from the suffix): grey `value` everywhere, else
    seeded noise (`seed`, or one drawn from the path). Returns its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    if value is not None:
        arr = np.full(shape, value, np.uint8)
    else:
        rng = _rng_for(path) if seed is None else np.random.default_rng(seed)
        arr = rng.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(arr, mode).save(path)
    return arr


def write_folder(root: Path, classes: list[str], n: int, size: int = 8, ext: str = "png") -> None:
    """<root>/<class>/<i>.<ext>: `n` noise images of each class."""
    for c in classes:
        for i in range(n):
            write_image(root / c / f"{i:04d}.{ext}", size)


def write_mnist(root: Path, n_train: int = 30, n_test: int = 20, seed: int = 0) -> None:
    """Standard IDX files (magic 2051 images / 2049 labels, big-endian counts) in MNIST/raw; labels cycle 0..9."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())


def write_tiny(root: Path) -> None:
    """A four-class tiny-imagenet-200 (wnids.txt, words.txt, train/<wnid>/images, val/ with its
    annotations): 3 training and 2 validation images a class, 64x64. `fly` names two WordNet ids."""
    base = root / "tiny-imagenet-200"
    words = {
        "n01": "golden retriever",
        "n02": "monarch, monarch butterfly, milkweed butterfly",
        "n03": "fly",
        "n04": "fly, housefly",
    }
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(words) + "\n")
    (base / "words.txt").write_text("".join(f"{w}\t{n}\n" for w, n in words.items()) + "n99\tbee\n")
    rows = []
    for k, w in enumerate(words):
        for i in range(3):
            write_image(base / "train" / w / "images" / f"{w}_{i}.JPEG", size=64)
            write_image(base / "val" / "images" / f"val_{k * 2 + i % 2}.JPEG", size=64)
        rows += [f"val_{k * 2}.JPEG\t{w}\t0\t0\t63\t63", f"val_{k * 2 + 1}.JPEG\t{w}\t0\t0\t63\t63"]
    (base / "val" / "val_annotations.txt").write_text("\n".join(rows) + "\n")
