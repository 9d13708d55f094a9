"""GTSRB (Stallkamp et al. 2012): German traffic signs of 43 classes (ClassId 0..42), from the
official layout read by torchvision.datasets.GTSRB or from an image folder `gtsrb/{train,test}/<ClassId>/`.
Official images vary in size (15x15 to 250x250), so every image is resized to `image_size`.
Class folders are listed in natural order and hidden files skipped (clad.data.images.scan_image_folder),
so folders `0..42` and `00000..00042` both give class id = ClassId; a test ClassId outside 0..42 in
GT-final_test.csv is an error naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.datasets import GTSRB

from clad.data.base import ImageDataset, check_labels
from clad.data.cache import cached
from clad.data.images import check_image_size, decode_images, folder_part, not_found, scan_image_folder

N_CLASSES = 43
LAYOUT = """  either an image folder (torchvision.datasets.ImageFolder), one folder per ClassId 0..42:
    <root>/gtsrb/train/{00000,00001,...,00042}/*.ppm|png|jpg
    <root>/gtsrb/test/{00000,00001,...,00042}/*.ppm|png|jpg
  or the official layout (torchvision.datasets.GTSRB):
    <root>/gtsrb/GTSRB/Training/{00000..00042}/*.ppm
    <root>/gtsrb/GTSRB/Final_Test/Images/*.ppm  with  <root>/gtsrb/GT-final_test.csv"""
HOW = (
    "run with dataset.download=true (torchvision downloads the official archives into <root>/gtsrb), or download "
    "GTSRB-Training_fixed.zip, GTSRB_Final_Test_Images.zip and GTSRB_Final_Test_GT.zip from "
    "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/ and unzip them into <root>/gtsrb"
)


def _official(root: Path, part: str, image_size: int | None) -> dict[str, np.ndarray]:
    if part == "train":  # Training/<ClassId>/*.ppm, listed as any class-folder tree
        classes, paths, labels = scan_image_folder(
            root / "gtsrb" / "GTSRB" / "Training", "gtsrb", LAYOUT, HOW, extensions=(".ppm",)
        )
        return {"x": decode_images(paths, image_size, 3, "gtsrb"), "y": labels, "classes": np.array(classes, dtype=str)}
    try:
        ds = GTSRB(root, split=part, download=False)
    except Exception as err:  # torchvision: "Dataset not found", a missing CSV, network errors
        raise not_found(
            "gtsrb", [root / "gtsrb" / "GTSRB"], LAYOUT, HOW, detail=f"{type(err).__name__}: {err}"
        ) from None
    samples = ds._samples  # (path, ClassId) from GT-final_test.csv; no public list; pinned torchvision==0.29.1
    paths = [p for p, _ in samples]
    x = decode_images(paths, image_size, 3, "gtsrb")
    return {
        "x": x,
        "y": np.array([c for _, c in samples], dtype=np.int64),
        "classes": np.array([f"{c:05d}" for c in range(N_CLASSES)], dtype=str),
    }


def _check_classes(classes: np.ndarray, where: Path) -> None:
    """The class folders, in natural order, must be ClassId 0..42 ('00007' or '7'), so that id = ClassId."""
    if [int(c) if str(c).isdigit() else -1 for c in classes] != list(range(N_CLASSES)):
        raise not_found(
            "gtsrb",
            [where],
            LAYOUT,
            HOW,
            detail=f"expected 43 class folders named by ClassId 0..42 (such as 00007 or 7), found {len(classes)}: {list(classes)[:12]}",
        )


def load_gtsrb(
    root: str | Path, cache_dir: str | Path | None = None, download: bool = False, image_size: int | None = 32
) -> ImageDataset:
    """GTSRB with class id = ClassId (class names '0'..'42'). The image folder wins when both layouts exist."""
    check_image_size(image_size, "gtsrb")
    root = Path(root).expanduser()
    base = root / "gtsrb"
    params = {"image_size": image_size}
    if (base / "train").is_dir() or (base / "test").is_dir():
        parts = {
            part: cached(
                cache_dir,
                "gtsrb",
                f"folder-{part}",
                [base / part],
                params,
                lambda part=part: folder_part(base / part, "gtsrb", image_size, 3, LAYOUT, HOW),
            )
            for part in ("train", "test")
        }
    elif (base / "GTSRB").is_dir() or download:
        sources = {
            "train": [base / "GTSRB" / "Training"],
            "test": [base / "GTSRB" / "Final_Test" / "Images", base / "GT-final_test.csv"],
        }
        parts = {}
        for part in ("train", "test"):
            if download:
                _download(root, part)
            missing = [p for p in sources[part] if not p.exists()]
            if missing:
                raise not_found("gtsrb", missing, LAYOUT, HOW, detail="missing " + ", ".join(map(str, missing)))
            parts[part] = cached(
                cache_dir,
                "gtsrb",
                f"official-{part}",
                sources[part],
                params,
                lambda part=part: _official(root, part, image_size),
            )
        check_labels("gtsrb", parts["test"]["y"], N_CLASSES, str(base / "GT-final_test.csv"))
    else:
        raise not_found(
            "gtsrb", [base / "train", base / "test", base / "GTSRB"], LAYOUT, HOW, detail="neither layout exists"
        )
    for part, arrays in parts.items():
        _check_classes(arrays["classes"], base / part)
    return ImageDataset(
        name="gtsrb",
        train_x=parts["train"]["x"],
        train_y=parts["train"]["y"],
        test_x=parts["test"]["x"],
        test_y=parts["test"]["y"],
        class_names=tuple(str(c) for c in range(N_CLASSES)),
    )


def _download(root: Path, part: str) -> None:
    try:
        GTSRB(root, split=part, download=True)
    except Exception as err:
        raise not_found(
            "gtsrb", [root / "gtsrb"], LAYOUT, HOW, detail=f"download failed: {type(err).__name__}: {err}"
        ) from None
