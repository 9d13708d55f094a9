"""Fit once, score many: CLAD.setup_score on a fitted detector, and run.py's save_model / rescore."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
import torch
from scipy.stats import rankdata

from clad.detector import CLAD
from clad.experiment import run, save_model
from clad.scores import KNN
from tests.helpers.config import compose
from tests.helpers.synthetic import latent_multiclass

SMOKE = ("dataset=digits", "split=digits_cur", "budget=smoke", "device=cpu", "threads=1")


@pytest.fixture(scope="module")
def scenario():
    return latent_multiclass(n_per_class=60, size=16, seed=0)


def _clad(**kw):
    return CLAD(**{**dict(n_clusters=3, ae_epochs=3, train_epochs=3, batch_size=64, device="cpu"), **kw})


@pytest.fixture(scope="module")
def fitted(scenario):
    return _clad(score="odin").fit(scenario[0])


@pytest.mark.parametrize("score", ["knn", "mahalanobis", "react"])
def test_setup_score_equals_a_fit_with_that_score(scenario, fitted, score):
    train_x, test_x, _, _ = scenario
    rescored = copy.deepcopy(fitted).set_params(score=score)
    with pytest.raises(ValueError, match="setup_score"):
        rescored.anomaly_score(test_x)  # a feature score needs the training features first
    rescored.setup_score(train_x)
    direct = _clad(score=score).fit(train_x)
    np.testing.assert_array_equal(rescored.anomaly_score(test_x), direct.anomaly_score(test_x))


def test_setup_score_refuses_other_images(scenario, fitted):
    with pytest.raises(ValueError, match=r"needs the 180 training images .* got 179"):
        copy.deepcopy(fitted).set_params(score="knn").setup_score(scenario[0][:-1])


def test_a_saved_clad_leaves_its_feature_score_to_set_up_again(scenario, fitted, tmp_path):
    train_x, test_x, _, _ = scenario
    maha = copy.deepcopy(fitted).set_params(score="mahalanobis").setup_score(train_x)
    save_model(tmp_path / "model.pt", maha)
    assert hasattr(maha, "score_")  # the caller's detector keeps it (and a deepcopy does too)
    loaded = torch.load(tmp_path / "model.pt", weights_only=False)
    assert not hasattr(loaded, "score_")
    with pytest.raises(ValueError, match="not set up after loading; call setup_score"):
        loaded.anomaly_score(test_x)
    np.testing.assert_array_equal(loaded.setup_score(train_x).anomaly_score(test_x), maha.anomaly_score(test_x))
    save_model(tmp_path / "odin.pt", fitted)  # a score without setup travels with the detector
    odin = torch.load(tmp_path / "odin.pt", weights_only=False)
    np.testing.assert_array_equal(odin.anomaly_score(test_x), fitted.anomaly_score(test_x))


def test_a_knn_score_pickles_with_its_faiss_index(scenario, fitted):
    train_x, test_x, _, _ = scenario
    knn = KNN(k=3).setup(fitted.model_, torch.from_numpy(train_x))
    again = pickle.loads(pickle.dumps(knn))
    batch = torch.from_numpy(test_x)
    torch.testing.assert_close(again(fitted.model_, batch), knn(fitted.model_, batch), rtol=0, atol=0)


def _scores(folder):
    return np.load(folder / "scores.npz")["score"]


def test_a_saved_fit_rescored_equals_a_fresh_run_with_that_score(tmp_path):
    fit = run(compose(*SMOKE, "detector=clad_plus", "save_model=true", output_dir=tmp_path / "fit"))
    assert (tmp_path / "fit" / "model.pt").is_file() and fit["status"] == "ok"

    rescored = run(compose(*SMOKE, "detector=clad", "score=odin", f"rescore={tmp_path}", output_dir=tmp_path / "odin"))
    fresh = run(compose(*SMOKE, "detector=clad", "score=odin", output_dir=tmp_path / "fresh"))
    assert rescored["rescored_from"] == str(tmp_path / "fit")
    assert rescored["auroc"] == fresh["auroc"]
    np.testing.assert_array_equal(_scores(tmp_path / "odin"), _scores(tmp_path / "fresh"))
    # The same fit, ranked differently by another score; the fit's own diagnostics carried over.
    assert not np.array_equal(rankdata(_scores(tmp_path / "odin")), rankdata(_scores(tmp_path / "fit")))
    assert rescored["clf_holdout_accuracy"] == fit["clf_holdout_accuracy"]

    # A feature score other than the saved one is set up again on the same training images.
    knn = run(compose(*SMOKE, "detector=clad", "score=knn", f"rescore={tmp_path}", output_dir=tmp_path / "knn"))
    fresh_knn = run(compose(*SMOKE, "detector=clad", "score=knn", output_dir=tmp_path / "fresh_knn"))
    assert knn["auroc"] == fresh_knn["auroc"]


def test_rescore_refuses_a_fit_of_another_config_and_records_why(tmp_path):
    run(compose(*SMOKE, "detector=clad", "save_model=true", output_dir=tmp_path / "fit"))
    out = tmp_path / "seed1"
    with pytest.raises(ValueError, match="found none among 1 saved model"):
        run(compose(*SMOKE, "detector=clad", "seed=1", f"rescore={tmp_path}", output_dir=out))
    record = json.loads((out / "metrics.json").read_text())
    assert record["status"] == "failed" and "save_model=true" in record["error"]
    with pytest.raises(FileNotFoundError, match="no such folder"):
        run(compose(*SMOKE, "detector=clad", f"rescore={tmp_path / 'nowhere'}", output_dir=tmp_path / "x"))
    run(compose(*SMOKE, "detector=ocsvm", "save_model=true", output_dir=tmp_path / "ocsvm"))
    with pytest.raises(ValueError, match="OCSVM has no score to change"):
        run(compose(*SMOKE, "detector=ocsvm", "seed=0", f"rescore={tmp_path / 'ocsvm'}", output_dir=tmp_path / "y"))


def test_the_same_fit_saved_twice_is_used_once_with_a_warning(tmp_path, caplog):
    for part in ("a", "b"):
        run(compose(*SMOKE, "detector=clad", "save_model=true", output_dir=tmp_path / part / "fit"))
    record = run(compose(*SMOKE, "detector=clad", "score=msp", f"rescore={tmp_path}", output_dir=tmp_path / "msp"))
    assert record["rescored_from"] == str(tmp_path / "a" / "fit")
    assert "2 fits of this config" in caplog.text


def test_a_fit_saved_before_a_parameter_existed_loads_with_its_default(scenario, fitted, tmp_path):
    """model.pt files outlive code changes: a parameter added since (as channels_last was) takes its default,
    the value the old code ran with, so get_params, set_params and rescoring keep working."""
    old = copy.deepcopy(fitted)
    del old.__dict__["channels_last"]  # as pickled by the code before the parameter
    save_model(tmp_path / "model.pt", old)
    loaded = torch.load(tmp_path / "model.pt", weights_only=False)
    assert loaded.get_params()["channels_last"] is True
    loaded.set_params(score="msp")
    np.testing.assert_array_equal(
        loaded.anomaly_score(scenario[1]), copy.deepcopy(fitted).set_params(score="msp").anomaly_score(scenario[1])
    )
