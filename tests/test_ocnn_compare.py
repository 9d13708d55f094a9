"""benchmarks/ocnn_compare.py: new OC-NN runs set beside the default's runs CSV, with each run's final objective
and r read from its run.log."""

from __future__ import annotations

import json
import math
import re
import uuid

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks import ocnn_compare


def _run(folder, digit, seed, auroc, log_line="OCNN: final loss -0.5, r 0.75"):
    folder.mkdir(parents=True)
    metrics = {"dataset": "mnist", "split": "one_class", "detector": "ocnn", "seed": seed, "status": "ok"}
    metrics |= {"run_id": uuid.uuid4().hex[:12], "auroc": auroc, "fit_seconds": 100.0}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "split": {"normal_class": digit}}))
    (folder / "run.log").write_text(f"[x][baselines.ocnn][INFO] - {log_line}\n")
    np.savez(folder / "scores.npz", score=np.arange(101) / 100, label=np.zeros(101, dtype=int))


def test_compare_pairs_runs_by_seed_and_digit_and_reads_r(tmp_path):
    root = tmp_path / "new"
    _run(root / "0", digit=0, seed=0, auroc=0.90)
    _run(root / "1", digit=1, seed=0, auroc=0.80, log_line="OCNN: final loss -1.25e+00, r 8.5")
    _run(root / "2", digit=0, seed=1, auroc=0.70)
    baseline = tmp_path / "old.csv"
    pd.DataFrame(
        {
            "detector": ["ocnn", "ocnn", "ocnn", "ocsvm"],
            "digit": [0, 1, 0, 1],
            "seed": [0, 0, 1, 0],
            "status": ["ok"] * 4,
            "auroc": [0.85, 0.90, 0.60, 0.99],
        }
    ).to_csv(baseline, index=False)
    table = ocnn_compare.compare([str(root)], baseline)
    assert table[["seed", "digit"]].values.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert table["auroc_default"].tolist() == pytest.approx([85.0, 90.0, 60.0])
    assert table["auroc_new"].tolist() == pytest.approx([90.0, 80.0, 70.0])
    assert table.loc[1, ["objective", "r"]].tolist() == [-1.25, 8.5]
    assert table.loc[1, "spread"] == pytest.approx(0.9) and table.loc[1, "distinct"] == 101
    assert table.loc[1, "spread_r"] == pytest.approx(0.9 / 8.5)
    per_seed, per_digit = ocnn_compare.summary(table)
    assert per_seed.loc[0, "new"] == pytest.approx(85.0) and per_seed.loc[0, "new_higher"] == 1
    assert per_digit.index.tolist() == [0]
    assert per_digit.loc[0, "new_std"] == pytest.approx(pd.Series([90.0, 70.0]).std())
    out = tmp_path / "res" / "c"
    ocnn_compare.main([str(root), "--baseline", str(baseline), "--out", str(out)])
    assert "| 0 | 1 | 90.0 | 80.0 | -1.250 | 8.500 | 9.0e-01 | 1.1e-01 | 101 | 100 |" in re.sub(
        " +", " ", out.with_suffix(".md").read_text()
    )


def test_a_run_without_the_final_line_has_no_r(tmp_path):
    (tmp_path / "run.log").write_text("OCNN autoencoder: 250 epochs, final loss 0.03883\n")
    assert all(math.isnan(v) for v in ocnn_compare.final_objective(str(tmp_path)))


def test_keep_adds_new_runs_to_an_earlier_comparison_without_doubling_any(tmp_path):
    baseline = tmp_path / "old.csv"
    pd.DataFrame(
        {"detector": ["ocnn"] * 2, "digit": [0, 0], "seed": [0, 1], "status": ["ok"] * 2, "auroc": [0.8, 0.7]}
    ).to_csv(baseline, index=False)
    _run(tmp_path / "a" / "0", digit=0, seed=0, auroc=0.90)
    first = tmp_path / "res" / "first"
    ocnn_compare.main([str(tmp_path / "a"), "--baseline", str(baseline), "--out", str(first)])
    _run(tmp_path / "b" / "0", digit=0, seed=1, auroc=0.60)
    table = ocnn_compare.compare([str(tmp_path / "b")], baseline, keep=first.with_suffix(".csv"))
    assert table[["seed", "auroc_default", "auroc_new"]].values.tolist() == [[0, 80.0, 90.0], [1, 70.0, 60.0]]
    again = ocnn_compare.compare([str(tmp_path / "a")], baseline, keep=first.with_suffix(".csv"))
    assert len(again) == 1
