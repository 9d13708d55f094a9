"""CIFAR-10 (Krizhevsky 2009): 32x32 colour images of 10 classes, from torchvision's official python
batches (`cifar-10-batches-py/`) or from an image-folder layout `cifar10/{train,test}/<class>/`
(class folders in natural order, hidden files skipped: clad.data.images.scan_image_folder). A batch
label outside 0..9 is an error naming the batch files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10

from clad.data.base import ImageDataset, check_labels
from clad.data.cache import cached
from clad.data.images import check_image_size, folder_part, not_found, resize_batch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
LAYOUT = """  either the official python batches (torchvision.datasets.CIFAR10):
    <root>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
  or an image folder (torchvision.datasets.ImageFolder), class folders named as CIFAR-10's classes:
    <root>/cifar10/train/{airplane,automobile,...,truck}/*.png|jpg
    <root>/cifar10/test/{airplane,automobile,...,truck}/*.png|jpg"""
HOW = (
    "run with dataset.download=true (torchvision downloads the python batches into <root>), or download "
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz by hand and untar it into <root>"
)


def _batches(root: Path, part: str, download: bool, image_size: int | None) -> dict[str, np.ndarray]:
    try:
        ds = CIFAR10(root, train=part == "train", download=download)
    except Exception as err:  # torchvision: "Dataset not found or corrupted", network errors, bad pickles
        raise not_found(
            "cifar10", [root / CIFAR10.base_folder], LAYOUT, HOW, detail=f"{type(err).__name__}: {err}"
        ) from None
    x = np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2))  # torchvision keeps HWC
    return {
        "x": resize_batch(x, image_size),
        "y": np.asarray(ds.targets, dtype=np.int64),
        "classes": np.array(ds.classes, dtype=str),
    }


def load_cifar10(
    root: str | Path, cache_dir: str | Path | None = None, download: bool = False, image_size: int | None = 32
) -> ImageDataset:
    """CIFAR-10 in the standard label order (0 airplane ... 9 truck). The image folder wins when both layouts exist."""
    check_image_size(image_size, "cifar10")
    root = Path(root).expanduser()
    folder, batches = root / "cifar10", root / CIFAR10.base_folder
    params = {"image_size": image_size}
    if (folder / "train").is_dir() or (folder / "test").is_dir():
        for part in ("train", "test"):
            if not (folder / part).is_dir():
                raise not_found("cifar10", [folder / part], LAYOUT, HOW, detail=f"{folder / part} is missing")
        parts = {
            part: cached(
                cache_dir,
                "cifar10",
                f"folder-{part}",
                [folder / part],
                params,
                lambda part=part: folder_part(folder / part, "cifar10", image_size, 3, LAYOUT, HOW),
            )
            for part in ("train", "test")
        }
    elif batches.is_dir() or download:
        if download:  # one archive holds both parts; download first so the cache key sees the files
            _batches(root, "test", True, image_size)
        parts = {}
        for part in ("train", "test"):
            parts[part] = cached(
                cache_dir,
                "cifar10",
                f"batches-{part}",
                [batches],
                params,
                lambda part=part: _batches(root, part, False, image_size),
            )
            files = [f for f, _ in (CIFAR10.train_list if part == "train" else CIFAR10.test_list)]
            check_labels("cifar10", parts[part]["y"], len(CLASSES), f"{batches} ({', '.join(files)})")
    else:
        raise not_found("cifar10", [folder, batches], LAYOUT, HOW, detail="neither layout exists")
    for part, arrays in parts.items():
        found = tuple(str(c) for c in arrays["classes"])
        if found != CLASSES:
            raise not_found(
                "cifar10",
                [folder / part],
                LAYOUT,
                HOW,
                detail=f"class folders {list(found)} are not CIFAR-10's {list(CLASSES)}; for other classes use dataset=image_folder",
            )
    return ImageDataset(
        name="cifar10",
        train_x=parts["train"]["x"],
        train_y=parts["train"]["y"],
        test_x=parts["test"]["x"],
        test_y=parts["test"]["y"],
        class_names=CLASSES,
    )
