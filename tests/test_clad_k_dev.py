"""benchmarks/clad_k_dev.py: the table reads each clad_plus_dev run's k, network and image size from its command and
averages its rows as hand-computed below."""

from __future__ import annotations

import json

from benchmarks import clad_k_dev


def _run(path, command, rows):
    path.write_text(
        json.dumps(
            {
                "provenance": {
                    "command": command,
                    "git_commit": "abc1234def",
                    "git_dirty": False,
                    "started": "s",
                    "finished": "f",
                    "machine": "m",
                },
                "rows": rows,
            }
        )
    )
    return path


def _row(kind, scenario, seed, odin, energy, acc=0.9):
    return {
        "kind": kind,
        "scenario": scenario,
        "seed": seed,
        "odin": odin,
        "energy": energy,
        "holdout_accuracy": acc,
        "fit_seconds": 2.0,
    }


def test_settings_come_from_the_command():
    command = "python -m benchmarks.clad_plus_dev --out x -- dataset.image_size=28 detector.n_clusters=5"
    assert clad_k_dev.setting(command, "detector.n_clusters", "10") == "5"
    assert clad_k_dev.setting(command, "dataset.image_size", "null") == "28"
    assert clad_k_dev.setting("python -m benchmarks.clad_plus_dev --out x --", "detector.n_clusters", "10") == "10"
    assert clad_k_dev.network(command) == "cnn"
    assert clad_k_dev.network(command + " classifier=resnet classifier.width=16") == "resnet w16"
    one_block = command + " classifier=resnet classifier.width=16 classifier.blocks=[1,1,1,1]"
    assert clad_k_dev.network(one_block) == "resnet w16 b1111"


def test_table_means_and_seed_stds_by_kind(tmp_path):
    rows = [
        _row("multi-class", "digits_cur", 0, 0.80, 0.90),
        _row("multi-class", "digits_cur", 1, 0.90, 0.90),
        _row("one-class", "1", 0, 0.60, 0.70, acc=0.5),
        _row("one-class", "1", 1, 0.60, 0.70, acc=0.7),
    ]
    a = _run(
        tmp_path / "a.json",
        "python -m benchmarks.clad_plus_dev --out a -- dataset.image_size=null detector.n_clusters=3",
        rows,
    )
    b = _run(
        tmp_path / "b.json",
        "python -m benchmarks.clad_plus_dev --out b -- dataset.image_size=28 detector.n_clusters=10",
        rows,
    )
    c = _run(
        tmp_path / "c.json",
        "python -m benchmarks.clad_plus_dev --out c -- dataset.image_size=null detector.n_clusters=10 "
        "classifier=resnet classifier.width=16",
        rows,
    )
    frame, provenance, seeds = clad_k_dev.table([b, a, c])
    assert seeds == [0, 1]
    # sorted by image size, then network, then k
    assert list(zip(frame.pixels, frame.classifier, frame.k)) == [(8, "cnn", 3), (8, "resnet w16", 10), (28, "cnn", 10)]
    first = frame.iloc[0]
    assert first["multi-class odin"] == "85.0 ± 5.0"  # mean of 80 and 90; population std over the two seeds
    assert first["one-class energy"] == "70.0 ± 0.0"
    assert first["one-class held-out acc."] == "60.0"
    assert first["seeds"] == "0, 1"  # each row names the seeds it averages
    assert [p["file"] for p in provenance] == [b.as_posix(), a.as_posix(), c.as_posix()]
