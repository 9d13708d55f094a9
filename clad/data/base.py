"""The data contract: a labelled image dataset as uint8 arrays, and the split that turns it into a
normal-vs-anomaly experiment.

Every loader in `clad.data` returns an `ImageDataset`; `make_split` turns it into an
`AnomalySplit` (normal training images, held-out normal validation images, and a labelled test
set with 1 = anomaly). Detectors only ever see float images in [0, 1] (`to_float`), so no dataset
statistics are pasted anywhere: each detector standardizes with statistics of its own training data.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clad.base import check_param

log = logging.getLogger(__name__)


def check_labels(dataset: str, labels: np.ndarray, n_classes: int, source: str) -> None:
    """Raise ValueError naming `source` (the file the labels came from) unless every label is a
    class id 0..n_classes-1: a label outside would silently drop its image from every split."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"dataset '{dataset}': labels from {source} must be integers, got dtype {labels.dtype}")
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"dataset '{dataset}': {source} holds {int(bad.sum())} label(s) outside the {n_classes} classes 0..{n_classes - 1}: "
            f"values {sorted(set(labels[bad].tolist()))[:10]}, the first at position {first}"
        )


@dataclass(frozen=True)
class ImageDataset:
    """Images as uint8 arrays of shape (n, channels, height, width) with integer class labels."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            x, y = getattr(self, f"{part}_x"), getattr(self, f"{part}_y")
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name}: {part}_x must be uint8 (n, c, h, w), got {x.dtype} {x.shape}")
            if len(x) != len(y):
                raise ValueError(f"{self.name}: {part}_x has {len(x)} images but {part}_y has {len(y)} labels")
            check_labels(self.name, y, len(self.class_names), f"{part}_y")
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            raise ValueError(
                f"{self.name}: train images are {self.train_x.shape[1:]} but test images are {self.test_x.shape[1:]}; set dataset.image_size"
            )

    @property
    def class_ids(self) -> list[int]:
        return list(range(len(self.class_names)))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]


@dataclass(frozen=True)
class AnomalySplit:
    """One experiment's data: train/val hold normal images only; test_y is 1 for anomalies."""

    name: str
    normal: tuple[int, ...]
    train_x: np.ndarray
    val_x: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    test_class: np.ndarray
    test_index: np.ndarray  # position of each test image in the dataset's test set
    # The hidden class of each training image: for diagnostics only (how well pseudo-labels
    # recover the classes), never passed to a detector.
    train_class: np.ndarray | None = None


def _is_number(class_name: str) -> bool:
    return class_name.isascii() and class_name.isdigit()


def names_are_numbers_not_ids(class_names: Sequence[str]) -> bool:
    """True when some classes are named by numbers and the names are not the ids 0..k-1 (image
    folders `1, 2, 3, 10, 11`); False for MNIST, digits and GTSRB, whose class i is named 'i'."""
    names_are_ids = all(_is_number(n) and int(n) == i for i, n in enumerate(class_names))
    return not names_are_ids and any(_is_number(n) for n in class_names)


def resolve_class_names(
    name: str, classes: Sequence[int | str] | int | str | None, class_names: Sequence[str], setting: str = "normal"
) -> list[int] | None:
    """The class ids of a split's `setting` (normal or universe), each class given as:

    - a string: a class name, case-insensitive ('dog', or '10' for a folder named 10);
    - an integer: a class id 0..k-1, except when the classes are named by numbers that are not their
      ids (`names_are_numbers_not_ids`: folders `1, 2, 3, 10, 11` get ids 0..4): then an integer is
      the class *named* by that number, so `split.normal=[2]` is folder '2' (id 1), never the third
      folder. Where class i is named 'i' (MNIST, digits, GTSRB) both readings agree.
    Floats (1.5 is no class) and booleans (YAML reads `true` as one) raise ValueError.
    """
    if classes is None:
        return None
    if isinstance(classes, (str, numbers.Number)):  # split.normal=3 from the command line
        classes = [classes]
    lookup = {n.lower(): i for i, n in enumerate(class_names)}
    by_number = names_are_numbers_not_ids(class_names)
    ids = []
    for c in classes:
        if isinstance(c, str):
            if c.strip().lower() not in lookup:
                raise ValueError(
                    f"split '{name}': class name '{c}' is unknown to the dataset; valid class names are {list(class_names)}"
                )
            ids.append(lookup[c.strip().lower()])
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool):
            if not by_number:
                ids.append(int(c))
                continue
            named = [i for i, n in enumerate(class_names) if _is_number(n) and int(n) == c]
            if len(named) != 1:
                problem = (
                    f"names {len(named)} classes ({[class_names[i] for i in named]})" if named else "names no class"
                )
                raise ValueError(
                    f"split '{name}': split.{setting} class {c} {problem}: the dataset's classes are named by "
                    f"numbers, so a number in a split is a class name, not an id; class names are {list(class_names)}"
                )
            ids.append(named[0])
        else:
            raise ValueError(
                f"split '{name}': split.{setting} holds {c!r} ({type(c).__name__}); each class must be an "
                f"integer class id or a class name (a string); class names are {list(class_names)}"
            )
    return ids


def check_split_classes(
    name: str, normal: Sequence[int], universe: Sequence[int] | None, valid: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Validate a split's class ids against a dataset's; raise ValueError naming both otherwise."""
    valid = list(valid)
    universe_ = valid if universe is None else sorted({int(c) for c in universe})
    normal_ = sorted({int(c) for c in normal})
    hint = (
        f"valid class ids are {valid[0]}..{valid[-1]}"
        if valid == list(range(len(valid)))
        else f"valid class ids are {valid}"
    )
    if not normal_:
        raise ValueError(f"split '{name}': normal classes are empty; {hint}")
    unknown = [c for c in normal_ + universe_ if c not in valid]
    if unknown:
        raise ValueError(f"split '{name}': class ids {sorted(set(unknown))} are unknown to the dataset; {hint}")
    missing = [c for c in normal_ if c not in universe_]
    if missing:
        raise ValueError(f"split '{name}': normal classes {missing} are not in the split's universe {universe_}")
    if len(normal_) == len(universe_):
        raise ValueError(
            f"split '{name}': all {len(universe_)} classes of the universe are normal, so no test image is an anomaly; {hint}"
        )
    return normal_, universe_


def make_split(
    data: ImageDataset,
    name: str,
    normal: Sequence[int | str] | int | str,
    universe: Sequence[int | str] | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    max_train_per_class: int | None = None,
    dataset: str | None = None,
) -> AnomalySplit:
    """Train on the normal classes' training images; test on every test image of the universe.

    `val_fraction` of the normal training images (stratified by class, seeded) is held out for
    choices such as an operating threshold; the test set is scored once and chooses nothing.
    `max_train_per_class` keeps a seeded random subset of each normal class (before the hold-out).
    Classes are integer ids or the dataset's class names, read as `resolve_class_names` says (where
    classes are named by numbers, a number is a name); the log lists the chosen ids with their
    names. `dataset`, when given, is the dataset the split was written for; any other is refused.
    """
    if dataset is not None and dataset != data.name:
        raise ValueError(
            f"split '{name}' is defined for dataset '{dataset}' but the dataset is '{data.name}'; "
            f"choose a split for {data.name} (conf/split/{data.name}_*.yaml, one_class or custom)"
        )
    check_param(f"split '{name}'", "max_train_per_class", max_train_per_class, low=1, integer=True, optional=True)
    check_param(f"split '{name}'", "val_fraction", val_fraction, low=0, high=1, high_open=True)
    check_param(f"split '{name}'", "seed", seed, low=0, integer=True)
    normal = resolve_class_names(name, normal, data.class_names, "normal")
    universe = resolve_class_names(name, universe, data.class_names, "universe")
    normal_, universe_ = check_split_classes(name, normal, universe, data.class_ids)
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in normal_:
        idx = rng.permutation(np.flatnonzero(data.train_y == c))[:max_train_per_class]
        if len(idx) == 0:
            raise ValueError(
                f"split '{name}': normal class {c} ({data.class_names[c]}) has no training images in {data.name}"
            )
        n_val = int(round(val_fraction * len(idx)))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    train_idx = np.sort(np.concatenate(train_idx))
    val_idx = np.sort(np.concatenate(val_idx))
    test_index = np.flatnonzero(np.isin(data.test_y, universe_))
    test_class = data.test_y[test_index].astype(np.int64)
    test_y = (~np.isin(test_class, normal_)).astype(np.int64)
    if test_y.sum() == 0 or test_y.sum() == len(test_y):
        raise ValueError(
            f"split '{name}': the test set of {data.name} has {int(test_y.sum())} anomalies out of {len(test_y)}; need both kinds"
        )
    log.info(
        "split %s: normal %s, %d train, %d val, %d test (%d anomalous)",
        name,
        normal_,
        len(train_idx),
        len(val_idx),
        len(test_y),
        int(test_y.sum()),
    )
    # The classes as ids and names, so a split written with numbers can be checked against the folders it chose.
    log.info("split %s: normal classes (id: name) %s", name, {c: data.class_names[c] for c in normal_})
    if universe is not None:
        log.info("split %s: universe (id: name) %s", name, {c: data.class_names[c] for c in universe_})
    return AnomalySplit(
        name=name,
        normal=tuple(normal_),
        train_x=data.train_x[train_idx],
        val_x=data.train_x[val_idx],
        test_x=data.test_x[test_index],
        test_y=test_y,
        test_class=test_class,
        test_index=test_index,
        train_class=data.train_y[train_idx].astype(np.int64),
    )


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1], the one input format every detector accepts."""
    return x.astype(np.float32) / 255.0
