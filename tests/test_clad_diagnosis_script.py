"""benchmarks/clad_diagnosis.py: one fit, every score on it; --feature-scores adds Mahalanobis and kNN, set up on
the fit's own training images, without changing the confidence scores of the same fit."""

from __future__ import annotations

import json
import sys

from benchmarks import clad_diagnosis


def _run(monkeypatch, out, *flags):
    argv = ["clad_diagnosis", "--name", "t", "--out", str(out), "--threads", "1", *flags, "--", "budget=smoke"]
    monkeypatch.setattr(sys, "argv", argv)
    clad_diagnosis.main()
    return json.loads(out.read_text().splitlines()[-1])


def test_feature_scores_are_added_to_the_same_fit(tmp_path, monkeypatch):
    plain = _run(monkeypatch, tmp_path / "a.jsonl")
    both = _run(monkeypatch, tmp_path / "b.jsonl", "--feature-scores")
    assert "auroc_mahalanobis" not in plain
    assert plain["wall_seconds"] >= plain["fit_seconds"] > 0  # the whole run includes its fit
    assert isinstance(plain["cpu"], str)
    for key in ("auroc_msp", "auroc_odin", "auroc_energy"):  # same seed, same fit: the same confidence scores
        assert both[key] == plain[key]
    for key in ("auroc_mahalanobis", "auroc_knn_k1"):
        assert 0.5 < both[key] <= 1.0  # the embedded digits: feature scores are well above chance
