"""Unit tests of the real-data loaders on tiny synthetic data sets, written inside each test in every
supported layout: MNIST raw IDX, CIFAR-10 python batches and image folder, GTSRB official and image
folder, Tiny-ImageNet, a user's image folder; plus the errors for missing or corrupt data."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets import CIFAR10

from clad.data import CorruptImageError, DatasetNotFoundError
from clad.data.cifar10 import CLASSES as CIFAR_CLASSES
from clad.data.cifar10 import load_cifar10
from clad.data.gtsrb import load_gtsrb
from clad.data.image_folder import load_image_folder
from clad.data.mnist import load_mnist
from clad.data.tiny_imagenet import load_tiny_imagenet
from tests.helpers.files import write_folder, write_image, write_mnist, write_tiny


def test_mnist_raw_layout_and_cache(tmp_path):
    write_mnist(tmp_path)
    data = load_mnist(tmp_path, cache_dir=tmp_path / "cache")
    assert data.train_x.shape == (30, 1, 28, 28) and data.test_x.shape == (20, 1, 28, 28)
    assert data.train_x.dtype == np.uint8 and list(data.train_y[:3]) == [0, 1, 2]
    again = load_mnist(tmp_path, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.train_x, data.train_x)
    assert len(list((tmp_path / "cache").glob("mnist-*.npz"))) == 2
    assert load_mnist(tmp_path, image_size=14).train_x.shape == (30, 1, 14, 14)


def test_mnist_truncated_file_names_it(tmp_path):
    write_mnist(tmp_path)
    f = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def _write_cifar_batches(root: Path, monkeypatch) -> None:
    """Synthetic python batches (seeded pixels); torchvision checks MD5s, so point its file lists at ours."""
    rng = np.random.default_rng(0)
    base = root / CIFAR10.base_folder
    base.mkdir(parents=True)

    def dump(name, obj):
        (base / name).write_bytes(pickle.dumps(obj))
        return [name, hashlib.md5((base / name).read_bytes()).hexdigest()]

    train = [
        dump(f"data_batch_{i}", {"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), "labels": list(range(10))})
        for i in range(1, 6)
    ]
    test = [
        dump("test_batch", {"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), "labels": list(range(10)) * 2})
    ]
    name, md5 = dump("batches.meta", {"label_names": list(CIFAR_CLASSES)})
    monkeypatch.setattr(CIFAR10, "train_list", train)
    monkeypatch.setattr(CIFAR10, "test_list", test)
    monkeypatch.setattr(CIFAR10, "meta", {"filename": name, "key": "label_names", "md5": md5})


def test_cifar10_python_batches(tmp_path, monkeypatch):
    _write_cifar_batches(tmp_path, monkeypatch)
    data = load_cifar10(tmp_path, cache_dir=tmp_path / "cache")
    assert data.train_x.shape == (50, 3, 32, 32) and data.test_x.shape == (20, 3, 32, 32)
    assert data.class_names == CIFAR_CLASSES
    raw = pickle.loads((tmp_path / CIFAR10.base_folder / "test_batch").read_bytes())["data"]
    np.testing.assert_array_equal(data.test_x.reshape(20, -1), raw)  # CHW order kept


def test_cifar10_image_folder_and_bad_classes(tmp_path):
    for part in ("train", "test"):
        write_folder(tmp_path / "cifar10" / part, list(CIFAR_CLASSES), 2, size=32, ext="jpg")
    data = load_cifar10(tmp_path)
    assert data.train_x.shape == (20, 3, 32, 32) and list(np.bincount(data.test_y)) == [2] * 10
    (tmp_path / "cifar10" / "test" / "truck").rename(tmp_path / "cifar10" / "test" / "lorry")
    with pytest.raises(DatasetNotFoundError, match="lorry"):
        load_cifar10(tmp_path)


def test_gtsrb_official_layout_resizes(tmp_path):
    base = tmp_path / "gtsrb"
    for c in range(43):
        write_image(base / "GTSRB" / "Training" / f"{c:05d}" / "00000_00000.ppm", size=20 + c)
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for i in range(43):
        write_image(base / "GTSRB" / "Final_Test" / "Images" / f"{i:05d}.ppm", size=40)
        rows.append(f"{i:05d}.ppm;40;40;0;0;40;40;{42 - i}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    data = load_gtsrb(tmp_path, cache_dir=tmp_path / "cache")
    assert data.train_x.shape == (43, 3, 32, 32) and list(data.train_y) == list(range(43))
    assert list(data.test_y) == list(range(42, -1, -1)) and len(data.class_names) == 43


def test_gtsrb_image_folder_and_unpadded_names(tmp_path):
    for part in ("train", "test"):
        write_folder(tmp_path / "gtsrb" / part, [f"{c:05d}" for c in range(43)], 1, size=32, ext="ppm")
    padded = load_gtsrb(tmp_path)
    assert padded.test_x.shape == (43, 3, 32, 32)
    # Class folders are in natural order, so an unpadded '7' is still ClassId 7 (it used to sort after '00042').
    (tmp_path / "gtsrb" / "train" / "00007").rename(tmp_path / "gtsrb" / "train" / "7")
    unpadded = load_gtsrb(tmp_path)
    np.testing.assert_array_equal(unpadded.train_y, padded.train_y)
    np.testing.assert_array_equal(unpadded.train_x, padded.train_x)
    (tmp_path / "gtsrb" / "train" / "7").rename(tmp_path / "gtsrb" / "train" / "seven")
    with pytest.raises(DatasetNotFoundError, match="named by ClassId 0..42"):
        load_gtsrb(tmp_path)


def test_tiny_imagenet_names_to_wordnet_ids(tmp_path):
    write_tiny(tmp_path)
    data = load_tiny_imagenet(
        tmp_path, classes=["Monarch Butterfly", "golden retriever", "n03"], image_size=16, cache_dir=tmp_path / "c"
    )
    assert data.class_names == ("Monarch Butterfly", "golden retriever", "n03")
    assert data.train_x.shape == (9, 3, 16, 16) and data.test_x.shape == (6, 3, 16, 16)
    assert list(np.bincount(data.train_y)) == [3, 3, 3] and list(np.bincount(data.test_y)) == [2, 2, 2]
    with pytest.raises(ValueError, match="ambiguous.*n03.*n04"):
        load_tiny_imagenet(tmp_path, classes=["fly"])
    with pytest.raises(ValueError, match="'bee' matches no WordNet id"):  # in words.txt, not in wnids.txt
        load_tiny_imagenet(tmp_path, classes=["bee"])
    with pytest.raises(DatasetNotFoundError, match="tiny-imagenet-200.zip"):
        load_tiny_imagenet(tmp_path, classes=["n01"], download=True)


def test_image_folder_any_classes_grey_resized(tmp_path):
    for part, n in (("train", 3), ("test", 2)):
        for c, size in (("bad", 10), ("good", 24)):
            for i in range(n):
                write_image(tmp_path / "mine" / part / c / f"{i}.png", size=size, mode="L")
    data = load_image_folder(tmp_path, "mine", name="parts", image_size=12, channels=1)
    assert data.name == "parts" and data.class_names == ("bad", "good")
    assert data.train_x.shape == (6, 1, 12, 12) and list(data.test_y) == [0, 0, 1, 1]
    (tmp_path / "mine" / "test" / "good").rename(tmp_path / "mine" / "test" / "fine")
    with pytest.raises(DatasetNotFoundError, match=r"only in train/: \['good'\], only in test/: \['fine'\]"):
        load_image_folder(tmp_path, tmp_path / "mine")


def test_image_folder_mixed_sizes_need_image_size(tmp_path):
    for part in ("train", "test"):
        write_image(tmp_path / part / "a" / "0.png", size=8)
        write_image(tmp_path / part / "a" / "1.png", size=9)
    with pytest.raises(CorruptImageError, match="set dataset.image_size"):
        load_image_folder(tmp_path, tmp_path, image_size=None)


def test_corrupt_image_names_the_file(tmp_path):
    write_folder(tmp_path / "cifar10" / "train", list(CIFAR_CLASSES), 1, size=32)
    write_folder(tmp_path / "cifar10" / "test", list(CIFAR_CLASSES), 1, size=32)
    bad = tmp_path / "cifar10" / "test" / "cat" / "0000.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(CorruptImageError, match=str(bad)):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("loader", [load_mnist, load_cifar10, load_gtsrb, load_tiny_imagenet])
def test_missing_data_is_one_clear_error(tmp_path, loader):
    with pytest.raises(DatasetNotFoundError) as err:
        loader(tmp_path / "nowhere")
    msg = str(err.value)
    assert str(tmp_path / "nowhere") in msg and "Expected layout" in msg and "To get it" in msg
    assert err.value.__cause__ is None  # no torchvision traceback chained underneath


def test_missing_image_folder_path(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="needs both train/ and test/"):
        load_image_folder(tmp_path, "absent")
    with pytest.raises(ValueError, match="set dataset.path"):
        load_image_folder(tmp_path, "???")


def test_bad_image_size_rejected(tmp_path):
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        load_mnist(tmp_path, image_size=0)


def test_digits_at_mnist_resolution_keep_their_split_and_labels():
    from clad.data.digits import load_digits

    native, large = load_digits(), load_digits(image_size=28)
    assert large.train_x.shape == (len(native.train_x), 1, 28, 28) and large.train_x.dtype == np.uint8
    np.testing.assert_array_equal(large.train_y, native.train_y)
    np.testing.assert_array_equal(large.test_y, native.test_y)
    # The same images, larger: the 28x28 image averaged back to 8x8 correlates with the original.
    back = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(large.test_x).float(), 8).numpy()
    assert np.corrcoef(back.ravel(), native.test_x.ravel().astype(np.float32))[0, 1] > 0.9
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        load_digits(image_size=0)
