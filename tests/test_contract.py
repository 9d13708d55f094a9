"""The detector contract (../shared/STYLE.md), checked on every detector the configs know.

Each `conf/detector/*.yaml` is composed with the real root config (budget=smoke), instantiated
and fitted on ~300 small synthetic images; a detector added later is tested without editing this
file. What each check catches: a wrong shape or NaN, a missing `return self`, a silent unfitted
score, unseeded randomness, a flipped sign (AUROC floor), BatchNorm left in train mode (batch size
1 vs 64), and a collapsed model (constant scores).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.metrics import roc_auc_score

from clad.base import NotFittedError

CONF = Path(__file__).resolve().parents[1] / "conf"
DETECTORS = sorted(p.stem for p in (CONF / "detector").glob("*.yaml"))
# budget=smoke with every "*epochs" key raised to CONTRACT_EPOCHS: at smoke's 2 epochs some
# detectors (CLAD: AUROC ~0.65) have not learned anything yet, and the AUROC floor would test nothing.
CONTRACT_EPOCHS = 5
EPOCH_KEYS = [k for k in OmegaConf.load(CONF / "budget" / "smoke.yaml") if str(k).endswith("epochs")]


def make_detector(name: str, output_dir: Path, seed: int = 0):
    overrides = [f"detector={name}", "budget=smoke", f"paths.output_dir={output_dir}", f"seed={seed}", "device=cpu"]
    overrides += [f"budget.{k}={CONTRACT_EPOCHS}" for k in EPOCH_KEYS]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    return instantiate(cfg.detector, _convert_="all")


def easy_problem(n_train: int = 300, n_test: int = 200, size: int = 16, seed: int = 0):
    """Normal: a bright horizontal bar on a faint noisy background; anomalies: a vertical bar on a
    strongly noisy one (easy enough for every detector even at budget=smoke).
    Returns float32 (n, 1, size, size) images in [0, 1] and test labels (1 = anomaly)."""
    rng = np.random.default_rng(seed)

    def draw(n: int, vertical: bool) -> np.ndarray:
        x = (0.5 if vertical else 0.1) * rng.random((n, size, size))
        pos = rng.integers(size // 4, 3 * size // 4, n)
        for i, p in enumerate(pos):
            if vertical:
                x[i, :, p - 1 : p + 1] = rng.uniform(0.7, 1.0)
            else:
                x[i, p - 1 : p + 1, :] = rng.uniform(0.7, 1.0)
        return x[:, None].astype(np.float32)

    test_y = np.repeat([0, 1], n_test // 2)
    test_x = np.concatenate([draw(n_test // 2, False), draw(n_test // 2, True)])
    return draw(n_train, False), test_x, test_y


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    return easy_problem()


@pytest.fixture(scope="module", params=DETECTORS)
def fitted(request, data, tmp_path_factory):
    """(name, detector, returned, scores): one fit per detector, shared by the checks below."""
    det = make_detector(request.param, tmp_path_factory.mktemp(request.param))
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
def test_scoring_before_fit_raises(name, data, tmp_path):
    with pytest.raises(NotFittedError):
        make_detector(name, tmp_path).anomaly_score(data[1])


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
    det.eval_batch_size = 1
    one = det.anomaly_score(x)
    det.eval_batch_size = 64
    np.testing.assert_allclose(one, det.anomaly_score(x), rtol=1e-4, atol=1e-6, err_msg=name)


def test_same_seed_same_scores(fitted, data, tmp_path):
    name, _, _, scores = fitted
    again = make_detector(name, tmp_path).fit(data[0]).anomaly_score(data[1])
    np.testing.assert_allclose(again, scores, rtol=1e-5, atol=1e-7, err_msg=name)
