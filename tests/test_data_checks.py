"""Data that lies gets caught (issue 9, items 5 and 6): class folders in natural order and numbers
in a split read as folder names, hidden files ignored by the cache key and the decoder, labels
outside the classes refused with the file named, and Deep SVDD finite on constant images."""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from baselines.deepsvdd import DeepSVDD
from baselines.deepsvdd_nets import GlobalContrastNorm
from clad.data import ImageDataset, make_split
from clad.data.cache import fingerprint
from clad.data.cifar10 import CLASSES as CIFAR_CLASSES
from clad.data.cifar10 import load_cifar10
from clad.data.gtsrb import load_gtsrb
from clad.data.image_folder import load_image_folder
from clad.data.images import natural_key
from clad.data.mnist import load_mnist
from clad.data.tiny_imagenet import load_tiny_imagenet
from tests.helpers.files import write_image, write_mnist, write_tiny

NUMBERED = ["1", "2", "3", "10", "11"]  # a plain sort gives 1, 10, 11, 2, 3


def write_numbered(root: Path) -> None:
    """train/ and test/ with class folders 1, 2, 3, 10, 11; every image of folder k has grey value k."""
    for part, n in (("train", 3), ("test", 2)):
        for name in NUMBERED:
            for i in range(n):
                write_image(root / part / name / f"{i}.png", size=4, mode="L", value=int(name))


# Natural order, and numbers in a split are folder names.


def test_natural_key_orders_digit_runs_by_value():
    assert sorted(["11", "2", "10", "1", "3"], key=natural_key) == NUMBERED
    assert sorted(["cls10", "cls2", "cls1"], key=natural_key) == ["cls1", "cls2", "cls10"]
    assert sorted(["00010", "00002", "00000"], key=natural_key) == ["00000", "00002", "00010"]
    assert sorted(["dog", "Cat", "cat"], key=natural_key) == sorted(["dog", "Cat", "cat"])  # no numbers: as before


def test_class_folders_get_ids_in_natural_order(tmp_path):
    write_numbered(tmp_path)
    data = load_image_folder(tmp_path, tmp_path, image_size=4, channels=1)
    assert data.class_names == tuple(NUMBERED)
    for i, name in enumerate(NUMBERED):  # id i holds exactly the images of folder NUMBERED[i]
        assert set(np.unique(data.train_x[data.train_y == i])) == {int(name)}
        assert set(np.unique(data.test_x[data.test_y == i])) == {int(name)}


def test_a_number_in_a_split_is_a_folder_name_and_the_log_says_which(tmp_path, caplog):
    write_numbered(tmp_path)
    data = load_image_folder(tmp_path, tmp_path, image_size=4, channels=1)
    with caplog.at_level(logging.INFO, logger="clad.data.base"):
        split = make_split(data, "custom", [2], val_fraction=0.0)
    # Folder '2' (id 1): it used to be the third folder in string order, '11'.
    assert split.normal == (1,) and set(np.unique(split.train_x)) == {2}
    assert "normal classes (id: name) {1: '2'}" in caplog.text
    assert make_split(data, "custom", [10, "11"], val_fraction=0.0).normal == (3, 4)
    with pytest.raises(
        ValueError, match=r"split.normal class 4 names no class: the dataset's classes are named by numbers"
    ):
        make_split(data, "custom", [4])


def test_numbers_stay_ids_where_class_i_is_named_i():
    y = np.repeat(np.arange(3), 4)
    x = np.zeros((len(y), 1, 2, 2), np.uint8)
    digits = ImageDataset("digits_like", x, y, x, y, ("0", "1", "2"))
    assert make_split(digits, "ok", [2], val_fraction=0.0).normal == (2,)
    animals = ImageDataset("animals", x, y, x, y, ("cat", "dog", "eel"))
    assert make_split(animals, "ok", [2], val_fraction=0.0).normal == (2,)


# Hidden files: not in the cache key, never decoded, never a class.


def _add_hidden(folder: Path) -> None:
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble, not a PNG")
    (folder / ".thumbs").mkdir()
    write_image(folder / ".thumbs" / "0.png", size=4, mode="L")


def test_hidden_files_are_ignored_by_cache_key_and_decoder(tmp_path):
    write_numbered(tmp_path / "data")
    clean = load_image_folder(tmp_path, "data", image_size=4, channels=1)
    before = {part: fingerprint([tmp_path / "data" / part]) for part in ("train", "test")}
    for part in ("train", "test"):
        _add_hidden(tmp_path / "data" / part)  # beside the class folders: .thumbs is no class
        _add_hidden(tmp_path / "data" / part / "10")  # inside a class folder
    assert {part: fingerprint([tmp_path / "data" / part]) for part in ("train", "test")} == before
    data = load_image_folder(tmp_path, "data", image_size=4, channels=1, cache_dir=tmp_path / "cache")
    assert data.class_names == clean.class_names
    np.testing.assert_array_equal(data.train_x, clean.train_x)
    np.testing.assert_array_equal(data.train_y, clean.train_y)


def test_hidden_files_are_skipped_by_tiny_imagenet_and_gtsrb(tmp_path):
    write_tiny(tmp_path)
    clean = load_tiny_imagenet(tmp_path, classes=["n01", "n02"], image_size=8)
    (tmp_path / "tiny-imagenet-200" / "train" / "n01" / "images" / "._n01_0.JPEG").write_bytes(b"AppleDouble")
    assert len(load_tiny_imagenet(tmp_path, classes=["n01", "n02"], image_size=8).train_x) == len(clean.train_x)

    base = tmp_path / "gtsrb"
    for part in ("train", "test"):
        for c in range(43):
            write_image(base / part / f"{c:05d}" / "0.ppm", size=8)
        (base / part / "00003" / "._0.ppm").write_bytes(b"AppleDouble")
        (base / part / ".cache").mkdir()
    assert len(load_gtsrb(tmp_path, image_size=8).train_y) == 43


# Labels outside the classes name the file they came from.


def test_mnist_label_out_of_range_names_the_file(tmp_path):
    write_mnist(tmp_path, n_train=30, n_test=20)
    labels = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    raw = bytearray(labels.read_bytes())
    raw[8 + 5] = 12  # the sixth test label: used to drop that image from every split
    labels.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError,
        match=r"t10k-labels-idx1-ubyte holds 1 label\(s\) outside the 10 classes 0..9: values \[12\], the first at position 5",
    ):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, cache_dir=tmp_path / "cache")


def test_cifar10_batch_label_out_of_range_names_the_batches(tmp_path, monkeypatch):
    base = tmp_path / CIFAR10.base_folder
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def dump(name, obj):
        (base / name).write_bytes(pickle.dumps(obj))
        return [name, hashlib.md5((base / name).read_bytes()).hexdigest()]

    train = [
        dump(f"data_batch_{i}", {"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), "labels": list(range(10))})
        for i in range(1, 6)
    ]
    test = [
        dump("test_batch", {"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), "labels": list(range(9)) + [10]})
    ]
    name, md5 = dump("batches.meta", {"label_names": list(CIFAR_CLASSES)})
    monkeypatch.setattr(CIFAR10, "train_list", train)
    monkeypatch.setattr(CIFAR10, "test_list", test)
    monkeypatch.setattr(CIFAR10, "meta", {"filename": name, "key": "label_names", "md5": md5})
    with pytest.raises(
        ValueError, match=r"cifar-10-batches-py \(test_batch\) holds 1 label\(s\) outside the 10 classes"
    ):
        load_cifar10(tmp_path)


def test_gtsrb_classid_out_of_range_names_the_csv(tmp_path):
    base = tmp_path / "gtsrb"
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for c in range(43):
        write_image(base / "GTSRB" / "Training" / f"{c:05d}" / "00000_00000.ppm", size=8)
        write_image(base / "GTSRB" / "Final_Test" / "Images" / f"{c:05d}.ppm", size=8)
        rows.append(f"{c:05d}.ppm;8;8;0;0;8;8;{43 if c == 7 else c}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(
        ValueError, match=r"GT-final_test.csv holds 1 label\(s\) outside the 43 classes 0..42: values \[43\]"
    ):
        load_gtsrb(tmp_path, image_size=8)


def test_a_dataset_refuses_labels_outside_its_classes():
    x = np.zeros((3, 1, 2, 2), np.uint8)
    with pytest.raises(
        ValueError, match=r"dataset 'toy': test_y holds 1 label\(s\) outside the 2 classes 0..1: values \[2\]"
    ):
        ImageDataset("toy", x, np.array([0, 1, 1]), x, np.array([0, 1, 2]), ("a", "b"))


# Deep SVDD on constant images (item 6): finite, moderate scores.


def test_gcn_leaves_constant_images_at_zero_and_others_as_before():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((20, 3, 8, 8), dtype=np.float32))
    x[3] = 0.2  # float rounding of the mean of a constant 0.2 image used to become unit contrast
    x[5] = 0.0
    g = GlobalContrastNorm.gcn(x)
    assert (g[3] == 0).all() and (g[5] == 0).all()
    centred = x - x.mean(dim=(1, 2, 3), keepdim=True)
    before = centred / centred.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(1e-8)  # the old formula
    keep = [i for i in range(20) if i not in (3, 5)]
    assert torch.equal(g[keep], before[keep])


@pytest.mark.parametrize("train_value", [0.0, 0.2, 0.5])
def test_deepsvdd_scores_stay_moderate_on_constant_images(one_thread, train_value):
    rng = np.random.default_rng(0)
    constant = np.full((40, 1, 8, 8), train_value, np.float32)
    textured = rng.random((40, 1, 8, 8), dtype=np.float32)
    det = DeepSVDD(ae_epochs=1, epochs=2, batch_size=20, device="cpu").fit(constant)
    for test in (constant, textured):  # exactly constant training images used to score 1e16
        scores = det.anomaly_score(test)
        assert np.isfinite(scores).all() and np.abs(scores).max() < 1e6
    det = DeepSVDD(ae_epochs=1, epochs=2, batch_size=20, device="cpu").fit(textured)
    assert np.abs(det.anomaly_score(constant)).max() < 1e6
