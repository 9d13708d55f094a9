"""Tiny-ImageNet (Le & Yang 2015): 64x64 colour images of 200 WordNet classes, 500 train and 50
validation images each, from the official `tiny-imagenet-200/` folder. The labelled validation set
(val/val_annotations.txt) is the test set, as in the paper. Classes are chosen by name or WordNet id;
names resolve to ids through words.txt. By default only the 40 classes of the paper's five scenarios
are loaded, which makes them the test universe."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clad.data.base import ImageDataset
from clad.data.cache import cached, is_hidden
from clad.data.images import check_image_size, decode_images, not_found

LAYOUT = """  <root>/tiny-imagenet-200/wnids.txt                      (the 200 WordNet ids)
  <root>/tiny-imagenet-200/words.txt                      (WordNet id <tab> comma-separated names)
  <root>/tiny-imagenet-200/train/<wnid>/images/*.JPEG
  <root>/tiny-imagenet-200/val/images/*.JPEG  with  <root>/tiny-imagenet-200/val/val_annotations.txt"""
log = logging.getLogger(__name__)

HOW = (
    "torchvision cannot download Tiny-ImageNet: download http://cs231n.stanford.edu/tiny-imagenet-200.zip "
    "by hand and unzip it into <root>"
)


def _read_lines(path: Path, base: Path) -> list[list[str]]:
    if not path.is_file():
        raise not_found("tiny_imagenet", [base], LAYOUT, HOW, detail=f"{path} is missing")
    return [line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def resolve_wnids(
    classes: Sequence[str] | None, wnids: Sequence[str], words: dict[str, str]
) -> tuple[list[str], list[str]]:
    """(WordNet ids, display names) of `classes`, each a WordNet id or one of its words.txt names
    (case-insensitive). None -> all of `wnids`, named by their first words.txt name."""
    if classes is None:
        return list(wnids), [words.get(w, w).split(",")[0].strip() for w in wnids]
    index: dict[str, set[str]] = {}
    for w in wnids:
        index.setdefault(w.lower(), set()).add(w)
        for name in words.get(w, "").split(","):
            if name.strip():
                index.setdefault(name.strip().lower(), set()).add(w)
    ids, names = [], []
    for c in classes:
        found = sorted(index.get(str(c).strip().lower(), ()))
        if len(found) != 1:
            problem = (
                "is ambiguous: it names " + ", ".join(f"{w} ({words.get(w)})" for w in found) + "; use a WordNet id"
                if found
                else "matches no WordNet id of wnids.txt nor any of their names in words.txt"
            )
            raise ValueError(f"dataset 'tiny_imagenet': class '{c}' {problem}")
        ids.append(found[0])
        names.append(str(c))
    dup = sorted({w for w in ids if ids.count(w) > 1})
    if dup:
        raise ValueError(f"dataset 'tiny_imagenet': classes {dup} are listed twice in dataset.classes")
    return ids, names


def _part(base: Path, part: str, wnids: list[str], image_size: int | None) -> dict[str, np.ndarray]:
    label = {w: i for i, w in enumerate(wnids)}
    if part == "train":
        items = []
        for w in wnids:
            folder = base / "train" / w / "images"
            if not folder.is_dir():
                raise not_found("tiny_imagenet", [folder], LAYOUT, HOW, detail=f"class folder {folder} is missing")
            items += [
                (str(p), label[w]) for p in sorted(folder.glob("*.JPEG")) if not is_hidden(p.name)
            ]  # not ._x.JPEG
    else:
        rows = _read_lines(base / "val" / "val_annotations.txt", base)
        items = [
            (str(base / "val" / "images" / r[0]), label[r[1]]) for r in sorted(rows) if len(r) > 1 and r[1] in label
        ]
    if not items:
        raise not_found(
            "tiny_imagenet", [base / part], LAYOUT, HOW, detail=f"no {part} images of classes {wnids[:5]}..."
        )
    x = decode_images([p for p, _ in items], image_size, 3, "tiny_imagenet")
    return {"x": x, "y": np.array([c for _, c in items], dtype=np.int64)}


def load_tiny_imagenet(
    root: str | Path,
    classes: Sequence[str] | None = None,
    cache_dir: str | Path | None = None,
    download: bool = False,
    image_size: int | None = 64,
) -> ImageDataset:
    """The listed classes (names or WordNet ids; ids 0..k-1 in the order given) of tiny-imagenet-200/."""
    check_image_size(image_size, "tiny_imagenet")
    base = Path(root).expanduser() / "tiny-imagenet-200"
    if download:
        raise not_found(
            "tiny_imagenet", [base], LAYOUT, HOW, detail="dataset.download=true is not supported for Tiny-ImageNet"
        )
    if not base.is_dir():
        raise not_found("tiny_imagenet", [base], LAYOUT, HOW, detail=f"{base} does not exist")
    all_wnids = [r[0] for r in _read_lines(base / "wnids.txt", base)]
    words = {r[0]: r[1] for r in _read_lines(base / "words.txt", base) if len(r) > 1}
    wnids, names = resolve_wnids(None if classes is None else list(classes), all_wnids, words)
    log.info("tiny_imagenet: %d classes %s", len(wnids), ", ".join(f"{n}={w}" for n, w in zip(names, wnids)))
    params = {"image_size": image_size, "wnids": wnids}
    sources = {
        "train": [base / "train" / w / "images" for w in wnids],
        "test": [base / "val" / "val_annotations.txt", base / "val" / "images"],
    }
    for part, paths in sources.items():
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise not_found("tiny_imagenet", missing[:5], LAYOUT, HOW, detail=f"{len(missing)} {part} path(s) missing")
    parts = {
        part: cached(
            cache_dir,
            "tiny_imagenet",
            part,
            sources[part],
            params,
            lambda part=part: _part(base, part, wnids, image_size),
        )
        for part in sources
    }
    return ImageDataset(
        name="tiny_imagenet",
        train_x=parts["train"]["x"],
        train_y=parts["train"]["y"],
        test_x=parts["test"]["x"],
        test_y=parts["test"]["y"],
        class_names=tuple(names),
    )
