"""sweep.py / clad.report turn multirun folders into tables; a failed job is recorded and the sweep goes on."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pandas as pd
import pytest
import yaml

import sweep
from clad import report
from tests.helpers.paths import REPO


def _job(root, num, seed, auroc, status="ok", k=10):
    job = root / str(num)
    (job / ".hydra").mkdir(parents=True)
    metrics = {"dataset": "digits", "split": "digits_cur", "detector": "clad", "seed": seed, "status": status}
    if status == "ok":
        metrics["auroc"] = auroc
    (job / "metrics.json").write_text(json.dumps(metrics))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "detector": {"n_clusters": k}}))


def test_summary_means_counts_and_failures(tmp_path, caplog):
    _job(tmp_path, 0, 0, 0.8)
    _job(tmp_path, 1, 1, 0.9)
    _job(tmp_path, 2, 0, 0.6, k=5)
    _job(tmp_path, 3, 1, None, status="failed", k=5)
    runs = report.load_runs(tmp_path)
    assert len(runs) == 4 and "detector.n_clusters" in runs
    with caplog.at_level(logging.WARNING, logger="clad.report"):
        table = report.summarize(runs, ["detector", "detector.n_clusters"], ["auroc"])
    row10 = table[table["detector.n_clusters"] == 10].iloc[0]
    row5 = table[table["detector.n_clusters"] == 5].iloc[0]
    assert row10["auroc_mean"] == pytest.approx(0.85) and row10["auroc_std"] == pytest.approx(0.0707107, rel=1e-5)
    assert (row10["auroc_count"], row10["failed"], row5["auroc_count"], row5["failed"]) == (2, 0, 1, 1)
    assert pd.api.types.is_float_dtype(table["auroc_mean"])  # numbers stay numbers
    assert "missing [1]" in caplog.text  # the k=5 cell lost seed 1
    shown = report.render(table, ["detector", "detector.n_clusters"], ["auroc"])
    assert "85.0 ± 7.1" in shown["auroc"].tolist()


def test_no_runs_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        report.load_runs(tmp_path)


@pytest.mark.slow
def test_multirun_records_a_failed_job_and_goes_on(tmp_path):
    sweep_dir = tmp_path / "multirun"
    cmd = [
        sys.executable,
        "run.py",
        "-m",
        "budget=smoke",
        "device=cpu",
        "split=custom",
        "split.normal=[0,3],[]",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0  # a multirun with a failed job says so, after running every job
    assert (sweep_dir / "0" / "scores.npz").exists()
    out = tmp_path / "results" / "table"
    table = sweep.main([str(sweep_dir), "--by", "split", "--metric", "auroc", "--out", str(out)])
    # split.normal differs between the two jobs: two cells, the failed one kept as failed
    assert sorted(table["variant"]) == ["normal=[0, 3]", "normal=[]"]
    assert sorted(zip(table["auroc_count"], table["failed"])) == [(0, 1), (1, 0)]
    runs = pd.read_csv(out / "runs.csv")
    failed = runs[runs["status"] == "failed"].iloc[0]
    assert "normal classes are empty" in failed["error"]
    header = (out / "table.md").read_text()
    assert (
        "runs made by: python run.py -m budget=smoke device=cpu split=custom" in header
        and "table made by: python" in header
    )
