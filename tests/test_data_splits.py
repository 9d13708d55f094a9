"""Split configs: the paper's sixteen scenarios (checked against paper/scenarios.csv), one_class,
custom and CIFAR-10's five-class splits compose with their dataset; classes by name; a split
refuses another dataset; run.py's build_data wires budget.max_train_per_class to the split."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from omegaconf import OmegaConf

from clad.data import ImageDataset, make_split
from clad.experiment import build_data
from tests.helpers.config import compose
from tests.helpers.files import write_image, write_mnist
from tests.helpers.paths import CONF, REPO

SCENARIOS = REPO.parent / "shared" / "paper" / "scenarios.csv"
# Table 5, copied so the test runs without ../shared; checked against scenarios.csv when present.
PAPER = {
    "mnist_cur": [0, 3, 8],
    "mnist_str": [1, 4, 7],
    "mnist_mix": [2, 5, 6, 9],
    "gtsrb_spdl": [0, 1, 2, 3, 4, 5, 7, 8],
    "gtsrb_inst": [9, 10, 15, 16],
    "gtsrb_warn": [11, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31],
    "gtsrb_dirc": [33, 34, 35, 36, 37, 38, 39, 40],
    "gtsrb_spec": [12, 13, 14, 17],
    "gtsrb_regn": [6, 32, 41, 42],
    "cifar10_thg": [0, 1, 8, 9],
    "cifar10_liv": [2, 3, 4, 5, 6, 7],
}
TINY = ["tiny_imagenet_anml", "tiny_imagenet_isct", "tiny_imagenet_istm", "tiny_imagenet_strt", "tiny_imagenet_vhcl"]


def test_all_sixteen_scenarios_exist():
    names = {p.stem for p in (CONF / "split").glob("*.yaml")}
    assert set(PAPER) | set(TINY) <= names and len(set(PAPER) | set(TINY)) == 16


def test_scenarios_match_the_paper():
    for name, normal in PAPER.items():
        s = OmegaConf.load(CONF / "split" / f"{name}.yaml")
        assert (
            s.name == name and list(s.normal) == normal and s.dataset == name.rsplit("_", 1)[0] and s.universe is None
        )
    if SCENARIOS.is_file():
        for row in csv.DictReader(SCENARIOS.open()):
            s = OmegaConf.load(CONF / "split" / f"{row['dataset']}_{row['scenario'].lower()}.yaml")
            want = (
                row["normal_classes"].split("|")
                if row["dataset"] == "tiny_imagenet"
                else [int(c) for c in row["normal_classes"].split()]
            )
            assert list(s.normal) == want, row


def test_gtsrb_scenarios_partition_the_43_classes():
    classes = sorted(c for n, cs in PAPER.items() if n.startswith("gtsrb") for c in cs)
    assert classes == list(range(43))


def test_tiny_imagenet_universe_is_the_40_scenario_classes():
    loaded = [c.lower() for c in OmegaConf.load(CONF / "dataset" / "tiny_imagenet.yaml").classes]
    normals = [c.lower() for n in TINY for c in OmegaConf.load(CONF / "split" / f"{n}.yaml").normal]
    assert sorted(loaded) == sorted(normals) and len(set(loaded)) == 40


def test_every_split_file_is_well_formed():
    for path in (CONF / "split").glob("*.yaml"):
        s = OmegaConf.load(path)
        assert s.name == path.stem and 0.0 <= s.val_fraction < 1.0, path
        assert s.get("dataset") in (None, "digits", "mnist", "cifar10", "gtsrb", "tiny_imagenet"), path
        assert OmegaConf.is_missing(s, "normal") or len(s.normal) >= 1, path


@pytest.mark.parametrize(
    "dataset,split",
    [
        ("digits", "digits_cur"),
        ("mnist", "mnist_mix"),
        ("cifar10", "cifar10_c13579"),
        ("gtsrb", "gtsrb_warn"),
        ("tiny_imagenet", "tiny_imagenet_vhcl"),
        ("image_folder", "custom"),
    ],
)
def test_dataset_and_split_compose(dataset, split):
    extra = ["split.normal=[1,7]"] if split == "custom" else []
    extra += ["dataset.path=x"] if dataset == "image_folder" else []
    cfg = compose(f"dataset={dataset}", f"split={split}", "budget=smoke", *extra)
    assert OmegaConf.to_container(cfg.split, resolve=True)["normal"]
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    assert dataset == "digits" or (params["max_train_per_class"] == 200 and params["cache_dir"] and params["root"])


def _toy(names=("cat", "dog", "eel"), name="toy") -> ImageDataset:
    y = np.repeat(np.arange(len(names)), 10)
    x = np.zeros((len(y), 1, 2, 2), np.uint8)
    return ImageDataset(name, x, y, x, y, tuple(names))


def test_classes_by_name_and_bad_names():
    s = make_split(_toy(), "named", ["Dog"], universe=["dog", "eel"], val_fraction=0.0)
    assert s.normal == (1,) and sorted(set(s.test_class)) == [1, 2] and s.test_y.sum() == 10
    with pytest.raises(ValueError, match=r"split 'named': class name 'owl' is unknown.*\['cat', 'dog', 'eel'\]"):
        make_split(_toy(), "named", ["owl"])
    with pytest.raises(
        ValueError, match=r"split 'ids': class ids \[7\] are unknown to the dataset; valid class ids are 0..2"
    ):
        make_split(_toy(), "ids", [7])


def test_split_refuses_another_dataset():
    with pytest.raises(ValueError, match="split 'gtsrb_spdl' is defined for dataset 'gtsrb' but the dataset is 'toy'"):
        make_split(_toy(), "gtsrb_spdl", [0], dataset="gtsrb")


def test_one_class_sweeps_by_normal_class():
    cfg = compose("split=one_class", "split.normal_class=4")
    assert OmegaConf.to_container(cfg.split, resolve=True)["normal"] == [4]
    data, split = build_data(cfg)
    assert split.normal == (4,) and set(split.test_class) == set(range(10))


def test_build_data_mnist_budget_and_validation(tmp_path):
    write_mnist(tmp_path, n_train=200, n_test=50)
    cfg = compose(
        "dataset=mnist",
        "split=mnist_cur",
        "budget=smoke",
        "budget.max_train_per_class=8",
        f"paths.data_dir={tmp_path}",
        f"paths.cache_dir={tmp_path}/c",
    )
    data, split = build_data(cfg)
    assert data.name == "mnist" and len(split.train_x) + len(split.val_x) == 3 * 8
    assert len(split.val_x) == 3 * round(0.1 * 8)  # held out per class, stratified
    assert len(split.test_y) == 50 and split.test_y.sum() == 50 - 15
    with pytest.raises(ValueError, match="defined for dataset 'mnist' but the dataset is 'digits'"):
        build_data(compose("split=mnist_cur"))


def test_tiny_imagenet_scenario_end_to_end(tmp_path):
    """The real config's 40 names resolve through a words.txt written like the official one."""
    names = list(OmegaConf.load(CONF / "dataset" / "tiny_imagenet.yaml").classes)
    base = tmp_path / "tiny-imagenet-200"
    wnids = [f"n{i:08d}" for i in range(len(names))] + ["n99999999"]
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    words = [f"{w}\t{n.title()}, synonym {i}" for i, (w, n) in enumerate(zip(wnids, names))] + ["n99999999\tgoldfish"]
    (base / "words.txt").write_text("\n".join(words) + "\n")
    rows = []
    for i, w in enumerate(wnids):
        for j in range(2):
            write_image(base / "train" / w / "images" / f"{w}_{j}.JPEG", size=8)
        write_image(base / "val" / "images" / f"val_{i}.JPEG", size=8)
        rows.append(f"val_{i}.JPEG\t{w}\t0\t0\t7\t7")
    (base / "val" / "val_annotations.txt").write_text("\n".join(rows) + "\n")
    cfg = compose(
        "dataset=tiny_imagenet",
        "split=tiny_imagenet_anml",
        "dataset.image_size=8",
        f"paths.data_dir={tmp_path}",
        f"paths.cache_dir={tmp_path}/c",
    )
    data, split = build_data(cfg)
    assert len(data.class_names) == 40 and split.normal == tuple(range(8))
    assert (len(split.train_x) + len(split.val_x), len(split.test_y), int(split.test_y.sum())) == (
        16,
        40,
        32,
    )  # goldfish is outside the universe
