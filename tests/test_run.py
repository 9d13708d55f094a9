"""run(cfg) in-process: files written, numbers reproducible, bad splits rejected before training."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from clad.experiment import PER_RUN_KEYS, run
from tests.helpers.config import compose

REQUIRED = {
    "dataset",
    "split",
    "detector",
    "seed",
    "auroc",
    "aupr_in",
    "aupr_out",
    "fpr95",
    "detection_error",
    "n_train",
    "n_test",
    "n_test_anomalous",
    "fit_seconds",
    "score_seconds",
    "status",
}


def _cfg(tmp_path, *overrides):
    return compose("budget=smoke", "device=cpu", *overrides, output_dir=tmp_path)


@pytest.mark.slow
def test_run_writes_metrics_and_scores(tmp_path):
    metrics = run(_cfg(tmp_path))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert REQUIRED <= set(saved) and saved["status"] == "ok"
    assert saved == pytest.approx(metrics)
    assert all(isinstance(v, (int, float, str)) for v in saved.values())  # flat
    scores = np.load(tmp_path / "scores.npz")
    assert len(scores["score"]) == len(scores["label"]) == len(scores["index"]) == saved["n_test"]
    assert scores["label"].sum() == saved["n_test_anomalous"]
    assert (saved["dataset"], saved["split"], saved["detector"]) == ("digits", "digits_cur", "clad")
    assert 0.0 <= saved["auroc"] <= 1.0


@pytest.mark.slow
def test_same_seed_gives_identical_numbers(tmp_path):
    a = run(_cfg(tmp_path / "a", "seed=3"))
    b = run(_cfg(tmp_path / "b", "seed=3"))
    assert {k: v for k, v in a.items() if k not in PER_RUN_KEYS} == {
        k: v for k, v in b.items() if k not in PER_RUN_KEYS
    }


@pytest.mark.parametrize(
    "normal, message",
    [
        ("[]", "normal classes are empty"),
        ("[3,42]", r"class ids \[42\] are unknown"),
        ("[0,1,2,3,4,5,6,7,8,9]", "all 10 classes"),
    ],
)
def test_bad_split_fails_before_training(tmp_path, normal, message):
    cfg = _cfg(tmp_path, "split=custom", f"split.normal={normal}")
    with pytest.raises(ValueError, match=rf"split 'custom': {message}.*valid class ids are 0..9"):
        run(cfg)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "failed" and "fit_seconds" not in saved
    assert "custom" in saved["error"]


@pytest.mark.slow
def test_wandb_logger_works_offline_without_an_account(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    metrics = run(_cfg(tmp_path, "logger=wandb", "tags=[unit]"))
    assert metrics["status"] == "ok"
    offline_runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1  # written under the run's own output directory
    # Read the run back from disk: the .wandb file is a log of protobuf records, whose keys and
    # strings are stored as plain bytes. Each stage's per-epoch loss, the scenario group, the
    # detector job type, the tag and the final metrics are there.
    (record,) = offline_runs[0].glob("run-*.wandb")
    deadline = time.time() + 30  # wandb's core process may still be flushing the file after finish()
    while b"auroc" not in (data := record.read_bytes()) and time.time() < deadline:
        time.sleep(0.2)
    for key in (
        b"autoencoder/loss",
        b"dec/loss",
        b"classifier/loss",
        b"classifier/epoch",
        b"digits/digits_cur",
        b"unit",
        b"auroc",
    ):
        assert key in data, key
    assert (
        data.count(b"classifier/loss") >= 2
    )  # one history row per epoch (budget=smoke: 2 epochs), not one list at the end
