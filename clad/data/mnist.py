"""MNIST (LeCun et al.): 60,000 train / 10,000 test 28x28 grey digits, read with
torchvision.datasets.MNIST from its raw layout (the uncompressed IDX files). A label byte outside
0..9 is an error naming the label file (it would otherwise drop its image from every split)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.datasets import MNIST

from clad.data.base import ImageDataset, check_labels
from clad.data.cache import cached
from clad.data.images import check_image_size, not_found, resize_batch

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
LAYOUT = """  <root>/MNIST/raw/train-images-idx3-ubyte
  <root>/MNIST/raw/train-labels-idx1-ubyte
  <root>/MNIST/raw/t10k-images-idx3-ubyte
  <root>/MNIST/raw/t10k-labels-idx1-ubyte   (uncompressed IDX files, torchvision's raw layout)"""
HOW = (
    "run with dataset.download=true (torchvision downloads into <root>/MNIST/raw), or download the four "
    "*-ubyte.gz files from https://ossci-datasets.s3.amazonaws.com/mnist/ (mirror of yann.lecun.com/exdb/mnist) "
    "and gunzip them into <root>/MNIST/raw/"
)


def _download(root: Path) -> None:
    try:
        for train in (True, False):
            MNIST(root, train=train, download=True)
    except Exception as err:  # network, disk or checksum failure inside torchvision
        raise not_found(
            "mnist", [root / "MNIST" / "raw"], LAYOUT, HOW, detail=f"download failed: {type(err).__name__}: {err}"
        ) from None


def _read(root: Path, part: str, image_size: int | None) -> dict[str, np.ndarray]:
    try:
        ds = MNIST(root, train=part == "train", download=False)
        x, y = ds.data.numpy()[:, None], ds.targets.numpy().astype(np.int64)
    except Exception as err:  # a truncated or foreign IDX file fails deep inside torchvision
        files = ", ".join(str(root / "MNIST" / "raw" / f) for f in FILES[part])
        raise not_found(
            "mnist", [root / "MNIST" / "raw"], LAYOUT, HOW, detail=f"cannot read {files}: {type(err).__name__}: {err}"
        ) from None
    if len(x) != len(y) or x.shape[2:] != (28, 28):
        raise not_found(
            "mnist",
            [root / "MNIST" / "raw"],
            LAYOUT,
            HOW,
            detail=f"{part} files hold {x.shape} images and {len(y)} labels",
        )
    return {"x": resize_batch(np.ascontiguousarray(x), image_size), "y": y}


def load_mnist(
    root: str | Path, cache_dir: str | Path | None = None, download: bool = False, image_size: int | None = 28
) -> ImageDataset:
    """MNIST under `<root>/MNIST/raw`; class i is digit i (class names '0'..'9')."""
    check_image_size(image_size, "mnist")
    root = Path(root).expanduser()
    raw = root / "MNIST" / "raw"
    if download:
        _download(root)
    missing = [raw / f for part in FILES.values() for f in part if not (raw / f).is_file()]
    if missing:
        detail = "missing " + ", ".join(p.name for p in missing)
        raise not_found("mnist", [raw], LAYOUT, HOW, detail=detail)
    parts = {
        part: cached(
            cache_dir,
            "mnist",
            part,
            [raw / f for f in FILES[part]],
            {"image_size": image_size},
            lambda part=part: _read(root, part, image_size),
        )
        for part in ("train", "test")
    }
    for part in ("train", "test"):  # after the cache, so a cache of a bad file is refused too
        check_labels("mnist", parts[part]["y"], 10, str(raw / FILES[part][1]))
    return ImageDataset(
        name="mnist",
        train_x=parts["train"]["x"],
        train_y=parts["train"]["y"],
        test_x=parts["test"]["x"],
        test_y=parts["test"]["y"],
        class_names=tuple(str(d) for d in range(10)),
    )
