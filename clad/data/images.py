"""Image files -> uint8 (n, c, h, w) arrays, and the errors every real-data loader raises.

`scan_image_folder` lists a `<class>/<file>` tree as torchvision's ImageFolder does (files sorted,
sub-folders included, image extensions only), with two differences: class folders are in *natural*
order (`1, 2, 3, 10, 11` -> ids 0..4, where a plain sort gives `1, 10, 11, 2, 3`; zero-padded or
non-numeric names sort as before), and hidden files and folders (names starting with '.', such as
`.DS_Store` or macOS `._img.png`) are skipped, as the cache key skips them. Each file is then
decoded once with PIL into a preallocated array. A missing or malformed dataset raises
`DatasetNotFoundError` naming the path searched, the layout expected and how to get the data; an
unreadable image raises `CorruptImageError` naming the file. torchvision's own exceptions never reach the user bare.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

from clad.data.cache import is_hidden

log = logging.getLogger(__name__)

MODES = {1: "L", 3: "RGB"}  # channels -> PIL mode


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing or not laid out as expected."""


class CorruptImageError(ValueError):
    """One image file cannot be decoded."""


def not_found(
    dataset: str, searched: Sequence[Path | str], layout: str, how: str, detail: str = ""
) -> DatasetNotFoundError:
    """The one error for missing or malformed data: what was searched, what was expected, how to get it."""
    where = "\n".join(f"  {p}" for p in searched)
    why = f"\nProblem: {detail}" if detail else ""
    return DatasetNotFoundError(
        f"dataset '{dataset}': data not found or not in the expected layout.{why}\n"
        f"Searched:\n{where}\nExpected layout:\n{layout.rstrip()}\nTo get it: {how}\n"
        f"(The data root is paths.data_dir, i.e. $CLAD_DATA or ./data.)"
    )


def natural_key(name: str) -> tuple:
    """Sort key that orders the digit runs of a name by value: '2' < '10', 'cls2' < 'cls10'.
    Ties of equal value ('7' and '07') fall back to the plain name."""
    parts = re.split(r"(\d+)", name)  # text, digits, text, ...: the same kind at the same position
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def list_images(folder: Path, extensions: tuple[str, ...]) -> list[str]:
    """Every non-hidden image file under `folder` (sub-folders included, hidden ones skipped), in
    torchvision's order: folders by path, files by name."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not is_hidden(d)]
        found.append((root, [f for f in files if not is_hidden(f) and has_file_allowed_extension(f, extensions)]))
    return [os.path.join(root, f) for root, files in sorted(found) for f in sorted(files)]


def scan_image_folder(
    directory: Path, dataset: str, layout: str, how: str, extensions: tuple[str, ...] = IMG_EXTENSIONS
) -> tuple[list[str], list[str], np.ndarray]:
    """Class names (non-hidden folder names in natural order), file paths and labels (the class's
    position in that order) of one `<class>/<file>` tree."""
    if not directory.is_dir():
        raise not_found(dataset, [directory], layout, how, detail=f"{directory} is not a directory")
    with os.scandir(directory) as entries:
        classes = sorted((e.name for e in entries if e.is_dir() and not is_hidden(e.name)), key=natural_key)
    if not classes:
        raise not_found(dataset, [directory], layout, how, detail=f"no class folder in {directory}")
    paths, labels, empty = [], [], []
    for label, name in enumerate(classes):
        files = list_images(directory / name, extensions)
        if not files:
            empty.append(name)
        paths += files
        labels += [label] * len(files)
    if empty:
        raise not_found(
            dataset,
            [directory],
            layout,
            how,
            detail=f"no image files ({', '.join(extensions)}) in the class folders {empty}",
        )
    return classes, paths, np.array(labels, dtype=np.int64)


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
        raise ValueError(
            f"dataset '{dataset}': image_size must be a positive integer or null (native size), got {image_size!r}"
        )


def folder_part(
    directory: Path, dataset: str, image_size: int | None, channels: int, layout: str, how: str
) -> dict[str, np.ndarray]:
    """One `<class>/<image>` tree decoded: {'x': uint8 (n, c, h, w), 'y': int64 (n,), 'classes': str (k,)}."""
    classes, paths, labels = scan_image_folder(directory, dataset, layout, how)
    x = decode_images(paths, image_size, channels, dataset)
    return {"x": x, "y": labels, "classes": np.array(classes, dtype=str)}
