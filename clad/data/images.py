"""Image files -> uint8 (n, c, h, w) arrays, and the errors every real-data loader raises.

Class folders are found with torchvision's ImageFolder helpers (`find_classes`, `make_dataset`:
class folders sorted by name -> ids 0..k-1, files sorted); each file is then decoded once with PIL
into a preallocated array. A missing or malformed dataset raises `DatasetNotFoundError` naming the
path searched, the layout expected and how to get the data; an unreadable image raises
`CorruptImageError` naming the file. torchvision's own exceptions never reach the user bare.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

log = logging.getLogger(__name__)

MODES = {1: "L", 3: "RGB"}  # channels -> PIL mode


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing or not laid out as expected."""


class CorruptImageError(ValueError):
    """One image file cannot be decoded."""


def not_found(dataset: str, searched: Sequence[Path | str], layout: str, how: str, detail: str = "") -> DatasetNotFoundError:
    """The one error for missing or malformed data: what was searched, what was expected, how to get it."""
    where = "\n".join(f"  {p}" for p in searched)
    why = f"\nProblem: {detail}" if detail else ""
    return DatasetNotFoundError(
        f"dataset '{dataset}': data not found or not in the expected layout.{why}\n"
        f"Searched:\n{where}\nExpected layout:\n{layout.rstrip()}\nTo get it: {how}\n"
        f"(The data root is paths.data_dir, i.e. $CLAD_DATA or ./data.)"
    )


def scan_image_folder(directory: Path, dataset: str, layout: str, how: str) -> tuple[list[str], list[str], np.ndarray]:
    """Class names (sorted folder names), file paths (sorted) and labels of one `<class>/<file>` tree."""
    if not directory.is_dir():
        raise not_found(dataset, [directory], layout, how, detail=f"{directory} is not a directory")
    try:
        classes, class_to_idx = find_classes(directory)
        samples = make_dataset(directory, class_to_idx, extensions=IMG_EXTENSIONS)
    except FileNotFoundError as err:  # no class folder, or a class folder without images
        raise not_found(dataset, [directory], layout, how, detail=str(err)) from None
    paths = [p for p, _ in samples]
    labels = np.fromiter((c for _, c in samples), dtype=np.int64, count=len(samples))
    return classes, paths, labels


def decode_images(paths: Sequence[str], image_size: int | None, channels: int = 3, dataset: str = "?") -> np.ndarray:
    """Decode each file once with PIL into a (n, channels, size, size) uint8 array.

    Images whose size differs from `image_size` are resized (bilinear, antialiased when shrinking);
    `image_size=None` keeps the native size and requires every image to share it.
    """
    if channels not in MODES:
        raise ValueError(f"dataset '{dataset}': channels must be one of {sorted(MODES)}, got {channels}")
    if not paths:
        return np.zeros((0, channels, image_size or 1, image_size or 1), dtype=np.uint8)
    mode, t0 = MODES[channels], time.perf_counter()
    out: np.ndarray | None = None
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                img = img.convert(mode)  # forces the full decode: a truncated file fails here
                if image_size is not None and img.size != (image_size, image_size):
                    img = img.resize((image_size, image_size), Image.BILINEAR)
                arr = np.asarray(img)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise CorruptImageError(f"dataset '{dataset}': cannot decode image file {path}: {err}") from None
        if out is None:
            out = np.empty((len(paths), *arr.shape[:2], channels), dtype=np.uint8)
        if arr.shape[:2] != out.shape[1:3]:
            raise CorruptImageError(
                f"dataset '{dataset}': image {path} is {arr.shape[1]}x{arr.shape[0]} but earlier images are "
                f"{out.shape[2]}x{out.shape[1]}; set dataset.image_size to resize all images to one size"
            )
        out[i] = arr.reshape(out.shape[1:])
    log.info("%s: decoded %d images in %.1fs", dataset, len(paths), time.perf_counter() - t0)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def resize_batch(x: np.ndarray, image_size: int | None) -> np.ndarray:
    """Resize a uint8 (n, c, h, w) batch to (image_size, image_size) in one call; None keeps it."""
    if image_size is None or x.shape[2:] == (image_size, image_size):
        return x
    t = torch.from_numpy(x).float()
    t = F.interpolate(t, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    return t.round_().clamp_(0, 255).to(torch.uint8).numpy()


def check_image_size(image_size: int | None, dataset: str) -> None:
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise ValueError(f"dataset '{dataset}': image_size must be a positive integer or null (native size), got {image_size!r}")


def folder_part(directory: Path, dataset: str, image_size: int | None, channels: int, layout: str, how: str) -> dict[str, np.ndarray]:
    """One `<class>/<image>` tree decoded: {'x': uint8 (n, c, h, w), 'y': int64 (n,), 'classes': str (k,)}."""
    classes, paths, labels = scan_image_folder(directory, dataset, layout, how)
    x = decode_images(paths, image_size, channels, dataset)
    return {"x": x, "y": labels, "classes": np.array(classes, dtype=str)}
