"""Integration tests on the real data in ../shared/data (or $CLAD_DATA); skipped when absent.

Exact counts come from ../shared/data/README.md (per-class counts) and the paper's scenarios. The
split configs are the real ones. "Trains on" is the normal training pool, which make_split divides
into train + validation (val_fraction 0.1, per class); with split.val_fraction=0 all of it trains.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from torchvision.datasets import ImageFolder

from clad.data import make_split
from clad.data.cifar10 import load_cifar10
from clad.data.gtsrb import load_gtsrb
from clad.data.mnist import load_mnist
from tests.helpers.paths import CONF

pytestmark = pytest.mark.integration

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clad-cache")


def _load(loader, root: Path, cache_dir: Path, sub: str):
    if not (root / sub).exists():
        pytest.skip(f"{root / sub} not present")
    return loader(root, cache_dir=cache_dir)


def split_of(data, name: str, **kw):
    s = OmegaConf.load(CONF / "split" / f"{name}.yaml")
    return make_split(
        data,
        name,
        list(s.normal),
        s.universe,
        kw.get("val_fraction", s.val_fraction),
        seed=0,
        max_train_per_class=kw.get("max_train_per_class"),
        dataset=s.dataset,
    )


@pytest.fixture(scope="module")
def mnist(data_root, cache_dir):
    return _load(load_mnist, data_root, cache_dir, "MNIST/raw")


@pytest.fixture(scope="module")
def cifar10(data_root, cache_dir):
    return _load(load_cifar10, data_root, cache_dir, "cifar10")


@pytest.fixture(scope="module")
def gtsrb(data_root, cache_dir):
    return _load(load_gtsrb, data_root, cache_dir, "gtsrb")


def test_mnist_full(mnist):
    assert mnist.train_x.shape == (60000, 1, 28, 28) and mnist.test_x.shape == (10000, 1, 28, 28)
    assert list(np.bincount(mnist.train_y)) == MNIST_TRAIN and list(np.bincount(mnist.test_y)) == MNIST_TEST
    assert mnist.train_y[0] == 5 and mnist.test_y[0] == 7  # as in the official files


def test_mnist_cur_counts(mnist):
    s = split_of(mnist, "mnist_cur", val_fraction=0.0)
    assert (len(s.train_x), len(s.val_x), len(s.test_y), int(s.test_y.sum())) == (17905, 0, 10000, 7036)
    s = split_of(mnist, "mnist_cur")  # the config's val_fraction 0.1: the same 17,905 normal images, 10% held out
    assert (len(s.train_x), len(s.val_x)) == (16115, 1790)
    s = split_of(mnist, "mnist_cur", max_train_per_class=200)  # budget=smoke
    assert (len(s.train_x), len(s.val_x), len(s.test_y)) == (540, 60, 10000)


@pytest.mark.parametrize("name,normal", [("mnist_str", [1, 4, 7]), ("mnist_mix", [2, 5, 6, 9])])
def test_mnist_other_scenarios(mnist, name, normal):
    s = split_of(mnist, name, val_fraction=0.0)
    assert len(s.train_x) == sum(MNIST_TRAIN[c] for c in normal)
    assert int(s.test_y.sum()) == 10000 - sum(MNIST_TEST[c] for c in normal)


def test_cifar10_counts(cifar10):
    assert cifar10.train_x.shape == (20000, 3, 32, 32) and cifar10.test_x.shape == (10000, 3, 32, 32)
    s = split_of(cifar10, "cifar10_thg", val_fraction=0.0)
    assert (len(s.train_x), len(s.test_y), int(s.test_y.sum())) == (8000, 10000, 6000)
    s = split_of(cifar10, "cifar10_liv", val_fraction=0.0)
    assert (len(s.train_x), len(s.test_y), int(s.test_y.sum())) == (12000, 10000, 4000)
    for name in ("cifar10_c01234", "cifar10_c56789", "cifar10_c02468", "cifar10_c13579"):
        s = split_of(cifar10, name)
        assert (len(s.train_x) + len(s.val_x), len(s.test_y), int(s.test_y.sum())) == (10000, 10000, 5000)


def test_cifar10_pixels_equal_torchvision_imagefolder(cifar10, data_root):
    tv = ImageFolder(str(data_root / "cifar10" / "test"))
    assert tuple(tv.classes) == cifar10.class_names
    for i in (0, 4321, 9999):
        img, label = tv[i]
        np.testing.assert_array_equal(np.asarray(img).transpose(2, 0, 1), cifar10.test_x[i])
        assert label == cifar10.test_y[i]


GTSRB_SCENARIOS = {
    "gtsrb_spdl": 8,
    "gtsrb_inst": 4,
    "gtsrb_warn": 15,
    "gtsrb_dirc": 8,
    "gtsrb_spec": 4,
    "gtsrb_regn": 4,
}


def test_gtsrb_subset_counts(gtsrb):
    assert gtsrb.train_x.shape == (2580, 3, 32, 32) and gtsrb.test_x.shape == (1720, 3, 32, 32)
    assert set(np.bincount(gtsrb.train_y)) == {60} and set(np.bincount(gtsrb.test_y)) == {40}
    for name, k in GTSRB_SCENARIOS.items():
        s = split_of(gtsrb, name, val_fraction=0.0)
        assert (len(s.train_x), len(s.test_y), int(s.test_y.sum())) == (60 * k, 1720, 1720 - 40 * k), name


def test_second_load_is_cached_and_identical(gtsrb, data_root, cache_dir):
    again = load_gtsrb(data_root, cache_dir=cache_dir)
    np.testing.assert_array_equal(again.train_x, gtsrb.train_x)
    np.testing.assert_array_equal(again.test_y, gtsrb.test_y)
    assert len(list(cache_dir.glob("gtsrb-*.npz"))) == 2
