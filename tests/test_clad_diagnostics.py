"""CLAD's instrumentation and convergence rule (issue 7), and CLAD as composed from conf/ with its
real defaults on the synthetic latent multi-class scenario."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
from hydra.utils import instantiate
from sklearn.base import clone

from clad.detector import CLAD, MIN_CLUSTER_SHARE, MIN_HOLDOUT_ACCURACY, check_convergence
from clad.experiment import fit_diagnostics, run
from clad.metrics import auroc, pseudo_label_agreement
from tests.helpers.config import compose
from tests.helpers.synthetic import latent_multiclass


@pytest.fixture(scope="module")
def scenario():
    return latent_multiclass(n_per_class=100, size=16, seed=0)


@pytest.fixture(scope="module")
def composed_clad():
    """CLAD exactly as `python run.py detector=clad budget=smoke` builds it, with 3 clusters for the
    3 hidden classes (k is the one setting a user picks per scenario in this test). Unfitted."""
    cfg = compose("detector=clad", "budget=smoke", "device=cpu", "detector.n_clusters=3")
    return instantiate(cfg.detector, _convert_="all")


@pytest.fixture(scope="module")
def fitted_composed(scenario, composed_clad, one_thread):
    return clone(composed_clad).fit(scenario[0])  # the composed detector itself stays unfitted


def test_composed_defaults_beat_chance_on_latent_multiclass(scenario, fitted_composed):
    _, test_x, test_y, _ = scenario
    assert auroc(test_y, fitted_composed.anomaly_score(test_x)) >= 0.9


def test_cluster_sizes_sum_to_n_and_stages_are_recorded(scenario, fitted_composed):
    train_x = scenario[0]
    d = fitted_composed.diagnostics_
    assert sum(d["cluster_sizes"]) == len(train_x) == d["n_fit"]
    assert d["cluster_min_share"] <= 1 / 3 <= d["cluster_max_share"]
    assert d["ae_steps"] > 0 and d["clf_steps"] > 0 and d["ae_epochs"] == len(d["ae_loss_history"])
    assert d["n_holdout"] == round(0.1 * len(train_x))
    assert 0.0 <= d["clf_holdout_accuracy"] <= 1.0 and len(d["clf_holdout_accuracy_history"]) == d["clf_epochs"]


def test_each_stage_is_timed_within_the_fit(scenario, composed_clad, one_thread):
    """The profile's figures (issue 11): every stage's wall seconds, none negative, together within the fit's."""
    start = time.perf_counter()
    d = clone(composed_clad).fit(scenario[0]).diagnostics_
    fit_seconds = time.perf_counter() - start
    stages = [d[f"seconds_{s}"] for s in ("ae", "kmeans", "dec", "clf", "score_setup")]
    assert all(s >= 0 for s in stages) and d["seconds_ae"] > 0 and d["seconds_clf"] > 0
    assert sum(stages) <= fit_seconds


def test_nmi_and_ari_are_one_when_pseudo_labels_are_the_hidden_classes():
    hidden = np.repeat([3, 5, 7], 20)
    assert pseudo_label_agreement(hidden, hidden + 10) == {"pseudo_label_nmi": 1.0, "pseudo_label_ari": 1.0}
    split = SimpleNamespace(train_class=hidden)
    detector = SimpleNamespace(pseudo_labels_=hidden // 2, diagnostics_={"cluster_sizes": [20, 20, 20], "warnings": []})
    flat, full = fit_diagnostics(detector, split)
    assert flat["pseudo_label_nmi"] == 1.0 and flat["n_warnings"] == 0
    assert "cluster_sizes" not in flat and full["cluster_sizes"] == [20, 20, 20]  # lists stay out of metrics.json


def test_convergence_rule():
    assert check_convergence(0.99, np.array([50, 50])) == []
    low = check_convergence(MIN_HOLDOUT_ACCURACY - 0.01, np.array([50, 50]))
    assert len(low) == 1 and "held-out pseudo-labels" in low[0]
    tiny = check_convergence(0.99, np.array([1000, int(MIN_CLUSTER_SHARE * 1000) - 1]))
    assert len(tiny) == 1 and "smallest cluster" in tiny[0]


def test_an_undertrained_run_says_so(scenario, one_thread, caplog):
    # lr 1e-7: the classifier stays at its random initialisation, far from its pseudo-labels
    det = CLAD(n_clusters=3, ae_epochs=1, train_epochs=1, batch_size=256, lr=1e-7, device="cpu", random_state=0)
    with caplog.at_level("WARNING"):
        det.fit(scenario[0])
    assert any("held-out pseudo-labels" in w for w in det.diagnostics_["warnings"])
    assert "CLAD did not converge" in caplog.text


@pytest.mark.parametrize(
    "bad, message", [(dict(schedule="step"), "schedule must be one of"), (dict(holdout=0.7), "holdout must be in")]
)
def test_bad_training_settings_fail_before_training(scenario, bad, message):
    with pytest.raises(ValueError, match=message):
        CLAD(n_clusters=3, **bad).fit(scenario[0])


@pytest.mark.slow
def test_run_writes_flat_diagnostics_and_a_diagnostics_file(tmp_path):
    metrics = run(compose("budget=smoke", "device=cpu", output_dir=tmp_path))
    for key in (
        "cluster_min_share",
        "cluster_max_share",
        "ae_final_loss",
        "ae_steps",
        "clf_final_loss",
        "clf_steps",
        "clf_train_accuracy",
        "clf_holdout_accuracy",
        "pseudo_label_nmi",
        "pseudo_label_ari",
        "n_warnings",
    ):
        assert isinstance(metrics[key], (int, float)), key
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text())
    assert sum(diagnostics["cluster_sizes"]) == metrics["n_train"]
    assert len(diagnostics["clf_loss_history"]) == metrics["clf_epochs"]
