"""Metrics equal values computed by hand on a five-image case (label 1 = anomaly)."""

import numpy as np
import pytest

from clad.metrics import aupr_in, aupr_out, auroc, compute_metrics, detection_error, fpr_at_tpr

LABELS = np.array([0, 0, 0, 1, 1])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.3])


def test_auroc_by_hand():
    # anomaly 0.8 outranks all 3 normals, anomaly 0.3 outranks only 0.1: 4 of 6 pairs.
    assert auroc(LABELS, SCORES) == pytest.approx(4 / 6)


def test_aupr_out_by_hand():
    # ranked by score: A N N A N -> precision 1/1 at recall 1/2, 2/4 at recall 1.
    assert aupr_out(LABELS, SCORES) == pytest.approx(0.5 * 1 + 0.5 * 0.5)


def test_aupr_in_by_hand():
    # ranked by -score: N A N N A -> precision 1/1, 2/3, 3/4 at recall 1/3, 2/3, 1.
    assert aupr_in(LABELS, SCORES) == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)


def test_fpr95_by_hand():
    # accepting 95% of 3 normals means all of them (score <= 0.4), which accepts anomaly 0.3.
    assert fpr_at_tpr(LABELS, SCORES, 0.95) == pytest.approx(0.5)


def test_detection_error_by_hand():
    # best threshold 0.4: TPR 1, FPR 1/2 -> 0.5 * 0 + 0.5 * 0.5.
    assert detection_error(LABELS, SCORES) == pytest.approx(0.25)


def test_auroc_is_never_flipped():
    y = np.array([0, 0, 1, 1])
    assert auroc(y, np.array([0.0, 0.1, 0.9, 1.0])) == 1.0
    assert auroc(y, np.array([1.0, 0.9, 0.1, 0.0])) == 0.0


def test_compute_metrics_keys_and_bad_input():
    assert set(compute_metrics(LABELS, SCORES)) == {"auroc", "aupr_in", "aupr_out", "fpr95", "detection_error"}
    with pytest.raises(ValueError, match="both 0"):
        auroc(np.zeros(3), np.arange(3.0))
    with pytest.raises(ValueError, match="non-finite"):
        auroc(LABELS, np.array([0.1, np.nan, 0.2, 0.3, 0.4]))
