"""The detector contract (../shared/STYLE.md), checked on every detector the configs know.

Each `conf/detector/*.yaml` is composed with the real root config (budget=smoke), instantiated
and fitted on ~300 small synthetic images; a detector added later is tested without editing this
file. What each check catches: a wrong shape or NaN, a missing `return self`, a silent unfitted
score, unseeded randomness, a flipped sign (AUROC floor), BatchNorm left in train mode (batch size
1 vs 64), and a collapsed model (constant scores).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.metrics import roc_auc_score

from clad.base import NotFittedError
from tests.helpers.config import build_detector
from tests.helpers.paths import CONF, DETECTORS
from tests.helpers.synthetic import easy_problem

# budget=smoke with every "*epochs" key raised to CONTRACT_EPOCHS: at smoke's 2 epochs some
# detectors (CLAD: AUROC ~0.65) have not learned anything yet, and the AUROC floor would test nothing.
CONTRACT_EPOCHS = 5
EPOCH_KEYS = [k for k in OmegaConf.load(CONF / "budget" / "smoke.yaml") if str(k).endswith("epochs")]


def make_detector(name: str, seed: int = 0):
    return build_detector(name, *[f"budget.{k}={CONTRACT_EPOCHS}" for k in EPOCH_KEYS], seed=seed)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    return easy_problem()


@pytest.fixture(scope="module", params=DETECTORS)
def fitted(request, data):
    """(name, detector, returned, scores): one fit per detector, shared by the checks below, which
    only read it (a check that changes a setting works on its own copy)."""
    det = make_detector(request.param)
    returned = det.fit(data[0])
    return request.param, det, returned, det.anomaly_score(data[1])


def test_detectors_are_discovered():
    assert "clad" in DETECTORS and len(DETECTORS) >= 8, DETECTORS


def test_fit_returns_self(fitted):
    _, det, returned, _ = fitted
    assert returned is det


def test_scores_shape_dtype_finite(fitted, data):
    _, _, _, scores = fitted
    assert scores.shape == (len(data[1]),)
    assert scores.dtype == np.float64
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", DETECTORS)
def test_scoring_before_fit_raises(name, data):
    with pytest.raises(NotFittedError):
        make_detector(name).anomaly_score(data[1])


def test_easy_problem_auroc(fitted, data):
    name, _, _, scores = fitted
    auroc = roc_auc_score(data[2], scores)
    assert auroc >= 0.9, f"{name}: AUROC {auroc:.3f} on the easy problem (is the sign flipped?)"


def test_scores_not_all_equal(fitted):
    name, _, _, scores = fitted
    assert np.std(scores) > 1e-9 * max(1.0, np.abs(scores).max()) and len(np.unique(scores)) > 10, (
        f"{name}: scores collapsed"
    )


def test_batch_size_one_and_64_agree(fitted, data):
    name, det, _, _ = fitted
    x = data[1][:64]
    det = copy.deepcopy(det)  # the shared fit keeps its settings
    one = det.set_params(eval_batch_size=1).anomaly_score(x)
    np.testing.assert_allclose(
        one, det.set_params(eval_batch_size=64).anomaly_score(x), rtol=1e-4, atol=1e-6, err_msg=name
    )


def test_same_seed_same_scores(fitted, data):
    name, _, _, scores = fitted
    again = make_detector(name).fit(data[0]).anomaly_score(data[1])
    np.testing.assert_allclose(again, scores, rtol=1e-5, atol=1e-7, err_msg=name)
