"""Threshold-free detection metrics from scikit-learn. Convention: label 1 = anomaly and a
higher score = more anomalous, so AUROC is `roc_auc_score(labels, scores)` and is never flipped."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    adjusted_rand_score,
    average_precision_score,
    normalized_mutual_info_score,
    roc_auc_score,
    roc_curve,
)


def _check(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels).astype(int).ravel(), np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"labels and scores differ in length: {labels.shape} vs {scores.shape}")
    if set(np.unique(labels)) != {0, 1}:
        raise ValueError(f"labels must hold both 0 (normal) and 1 (anomaly); got {np.unique(labels).tolist()}")
    if not np.isfinite(scores).all():
        raise ValueError("scores hold non-finite values")
    return labels, scores


def auroc(labels, scores) -> float:
    labels, scores = _check(labels, scores)
    return float(roc_auc_score(labels, scores))


def aupr_in(labels, scores) -> float:
    """Average precision with normal as the positive class (ranked by -score)."""
    labels, scores = _check(labels, scores)
    return float(average_precision_score(1 - labels, -scores))


def aupr_out(labels, scores) -> float:
    """Average precision with anomaly as the positive class."""
    labels, scores = _check(labels, scores)
    return float(average_precision_score(labels, scores))


def fpr_at_tpr(labels, scores, tpr: float = 0.95) -> float:
    """FPR95: the fraction of anomalies accepted as normal at the first threshold that accepts
    at least `tpr` of the normal images (normal = positive, as in ODIN)."""
    labels, scores = _check(labels, scores)
    fpr_, tpr_, _ = roc_curve(1 - labels, -scores, drop_intermediate=False)
    return float(fpr_[np.searchsorted(tpr_, tpr, side="left")])


def detection_error(labels, scores) -> float:
    """min over thresholds of 0.5 * (1 - TPR) + 0.5 * FPR, normal = positive (ODIN's definition)."""
    labels, scores = _check(labels, scores)
    fpr_, tpr_, _ = roc_curve(1 - labels, -scores, drop_intermediate=False)
    return float(np.min(0.5 * (1 - tpr_) + 0.5 * fpr_))


def compute_metrics(labels, scores) -> dict[str, float]:
    return {
        "auroc": auroc(labels, scores),
        "aupr_in": aupr_in(labels, scores),
        "aupr_out": aupr_out(labels, scores),
        "fpr95": fpr_at_tpr(labels, scores, 0.95),
        "detection_error": detection_error(labels, scores),
    }


def pseudo_label_agreement(hidden_classes, pseudo_labels) -> dict[str, float]:
    """How well self-labeling recovers the hidden normal classes: NMI and ARI (1 = identical up to
    renaming). A diagnostic only: hidden classes are never shown to a detector or used to choose."""
    return {
        "pseudo_label_nmi": float(normalized_mutual_info_score(hidden_classes, pseudo_labels)),
        "pseudo_label_ari": float(adjusted_rand_score(hidden_classes, pseudo_labels)),
    }
