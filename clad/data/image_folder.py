"""Any image dataset with no code: `<path>/train/<class>/*` and `<path>/test/<class>/*`, resized to one size.

Class ids follow the class-folder names of train/ in *natural* order: folders `1, 2, 3, 10, 11` get
ids 0..4 in that order (a plain sort would give 1, 10, 11, 2, 3); names without numbers sort as
usual. Hidden files and folders (names starting with '.', e.g. `.DS_Store`, `._img.png`) are
skipped. A split names classes by folder name; when folders are named by numbers that are not
their ids, a number in a split is a folder name too (`split.normal=[2]` is folder `2`, id 1; see
clad.data.base.resolve_class_names), and the split logs the ids and folder names it chose."""

from __future__ import annotations

from pathlib import Path

from clad.data.base import ImageDataset
from clad.data.cache import cached
from clad.data.images import check_image_size, folder_part, not_found

LAYOUT = """  <path>/train/<class_a>/*.png|jpg|jpeg|ppm|bmp|pgm|tif|tiff|webp
  <path>/train/<class_b>/...
  <path>/test/<class_a>/...
  <path>/test/<class_b>/...      (the same class folders in train/ and test/)
  where <path> is dataset.path, absolute or relative to the data root"""
HOW = "put your images in that layout and run with dataset=image_folder dataset.path=<path>"


def load_image_folder(
    root: str | Path,
    path: str | Path,
    name: str = "image_folder",
    image_size: int | None = 32,
    channels: int = 3,
    cache_dir: str | Path | None = None,
) -> ImageDataset:
    """Your own images: class ids follow the class-folder names of train/ in natural order (test/ must
    have the same folders)."""
    check_image_size(image_size, name)
    if path is None or str(path) in ("", "???"):
        raise ValueError(
            f"dataset '{name}': set dataset.path to a folder with train/ and test/ class sub-folders, e.g. dataset.path=/data/my_images"
        )
    folder = Path(path).expanduser()
    if not folder.is_absolute():
        folder = Path(root).expanduser() / folder
    if not (folder / "train").is_dir() or not (folder / "test").is_dir():
        raise not_found(
            name,
            [folder / "train", folder / "test"],
            LAYOUT,
            HOW,
            detail=f"{folder} needs both train/ and test/ sub-folders",
        )
    params = {"image_size": image_size, "channels": channels}
    parts = {
        part: cached(
            cache_dir,
            name,
            part,
            [folder / part],
            params,
            lambda part=part: folder_part(folder / part, name, image_size, channels, LAYOUT, HOW),
        )
        for part in ("train", "test")
    }
    train_classes, test_classes = (list(map(str, parts[p]["classes"])) for p in ("train", "test"))
    if train_classes != test_classes:
        only_train, only_test = (
            sorted(set(train_classes) - set(test_classes)),
            sorted(set(test_classes) - set(train_classes)),
        )
        raise not_found(
            name,
            [folder / "train", folder / "test"],
            LAYOUT,
            HOW,
            detail=f"train/ and test/ must hold the same class folders; only in train/: {only_train}, only in test/: {only_test}",
        )
    return ImageDataset(
        name=name,
        train_x=parts["train"]["x"],
        train_y=parts["train"]["y"],
        test_x=parts["test"]["x"],
        test_y=parts["test"]["y"],
        class_names=tuple(train_classes),
    )
