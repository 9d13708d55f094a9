"""Every detector is a scikit-learn estimator with PyOD's conventions (issue 8).

Over every conf/detector/*.yaml: get_params/set_params round-trip and refuse unknown names (a method
name included: the old set_params took any attribute, so set_params(fit=1) replaced the method);
clone gives the same settings, unfitted; the repr is scikit-learn's. Then the fitted state: a fit
that raises leaves the detector unfitted (it used to be marked fitted before training), integer or
out-of-range images are refused, decision_function is anomaly_score, calibrate/predict threshold on
validation normals, CLAD's fit leaves its settings (DEC included) untouched, and a fitted detector
refuses a device it was not fitted on.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from baselines.ocsvm import OCSVM
from clad.base import NotFittedError, resolve_device
from clad.clustering import DEC
from tests.helpers.config import build_detector
from tests.helpers.paths import DETECTORS
from tests.helpers.synthetic import easy_problem

pytestmark = pytest.mark.usefixtures("one_thread")


def settings(det) -> dict[str, str]:
    """get_params(deep=True) as reprs: the partials that Hydra builds compare by identity only."""
    return {k: repr(v) for k, v in det.get_params(deep=True).items()}


@pytest.fixture(scope="module")
def data():
    train_x, test_x, test_y = easy_problem(n_train=120, n_test=100)
    return train_x, test_x, test_y


@pytest.fixture(scope="module", params=DETECTORS)
def fitted(request, data):
    """One fit per detector, shared: the checks only read it (one that calibrates works on a copy)."""
    return request.param, build_detector(request.param).fit(data[0])


@pytest.mark.parametrize("name", DETECTORS)
def test_get_params_set_params_round_trip(name):
    det = build_detector(name)
    params = det.get_params(deep=False)
    assert {"device", "random_state"} <= set(params), name
    assert settings(type(det)(**params)) == settings(det)  # __init__ stores every argument under its name
    before = settings(det)
    assert det.set_params(**params) is det and settings(det) == before
    det.set_params(random_state=7, device="cpu")
    assert det.get_params()["random_state"] == 7 and det.random_state == 7


@pytest.mark.parametrize("name", DETECTORS)
def test_set_params_refuses_unknown_names_and_lists_the_valid_ones(name):
    det = build_detector(name)
    with pytest.raises(ValueError, match="bogus") as err:
        det.set_params(bogus=1)
    assert "random_state" in str(err.value) and "eval_batch_size" in str(err.value)


@pytest.mark.parametrize("name", DETECTORS)
def test_set_params_never_overwrites_a_method(name):
    det = build_detector(name)
    for method in ("fit", "anomaly_score", "predict", "set_params"):
        with pytest.raises(ValueError, match=method):
            det.set_params(**{method: 1})
    assert callable(det.fit) and callable(det.anomaly_score)


def test_clone_gives_the_same_settings_unfitted(fitted, data):
    name, det = fitted
    twin = clone(det)
    assert type(twin) is type(det) and settings(twin) == settings(det), name
    with pytest.raises(NotFittedError):
        twin.anomaly_score(data[1])
    check_is_fitted(det)  # the original keeps its fit
    if getattr(det, "dec", None) is not None:
        assert twin.dec is not det.dec and repr(twin.dec) == repr(det.dec)


@pytest.mark.parametrize("name", DETECTORS)
def test_repr_is_scikit_learns(name):
    det = build_detector(name).set_params(random_state=123)
    text = repr(det)
    assert text.startswith(f"{type(det).__name__}(") and "random_state=123" in text
    assert "eval_batch_size" not in repr(type(det)())  # only settings that differ from the defaults


def test_decision_function_is_anomaly_score(fitted, data):
    name, det = fitted
    np.testing.assert_array_equal(det.decision_function(data[1]), det.anomaly_score(data[1]), err_msg=name)


def test_predict_gives_zero_one_ints_after_calibrate(fitted, data):
    name, det = fitted
    det = copy.deepcopy(det)  # the shared fit stays uncalibrated for the other checks
    with pytest.raises(NotFittedError, match="calibrate"):
        det.predict(data[1])
    assert det.calibrate(data[0]) is det
    labels = det.predict(data[1])
    assert labels.shape == (len(data[1]),) and labels.dtype.kind == "i" and set(np.unique(labels)) <= {0, 1}, name


def test_calibrate_and_predict_on_an_easy_problem():
    train_x, test_x, test_y = easy_problem(n_train=200, n_test=200, seed=0)
    val_x = easy_problem(n_train=200, seed=1)[0]  # other normal images, the validation split
    det = OCSVM(device="cpu").fit(train_x).calibrate(val_x, accept=0.95)
    assert np.quantile(det.anomaly_score(val_x), 0.95) == det.threshold_
    assert 1 - det.predict(val_x).mean() >= 0.95  # ~95% of the validation normals accepted
    labels = det.predict(test_x)
    assert labels[test_y == 0].mean() <= 0.15  # and about as many test normals
    assert labels[test_y == 1].mean() >= 0.9  # most anomalies flagged
    assert not hasattr(det.fit(train_x), "threshold_")  # a refit drops the old threshold
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="OCSVM: accept must be in"):
            det.calibrate(val_x, accept=bad)


def test_predict_before_fit_names_fit(data):
    with pytest.raises(NotFittedError, match=r"call fit\(X\) first"):
        OCSVM(device="cpu").predict(data[1])


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("refit", [False, True], ids=["first-fit", "refit"])
def test_a_fit_that_raises_leaves_the_detector_unfitted(data, monkeypatch, refit):
    det = OCSVM(device="cpu")
    if refit:
        det.fit(data[0]).calibrate(data[0])

    def broken(self, X):
        self.svm_ = "half-trained"
        raise Boom("training failed")

    monkeypatch.setattr(OCSVM, "_fit", broken)
    with pytest.raises(Boom):
        det.fit(data[0])
    with pytest.raises(NotFittedError, match="not fitted") as err:
        det.anomaly_score(data[1])
    assert isinstance(err.value, sklearn.exceptions.NotFittedError)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(det)
    assert not hasattr(det, "threshold_")  # nothing of the earlier fit is left to be mistaken for this one


@pytest.mark.parametrize(
    "bad, shown",
    [
        (lambda x: (x * 255).astype(np.uint8), "dtype uint8"),
        (lambda x: (x * 255).astype(np.int64), "dtype int64"),
        (lambda x: x * 255, "values in"),
        (lambda x: x - 0.5, "values in"),
    ],
    ids=["uint8", "int64", "float-0-255", "negative"],
)
def test_images_must_be_floats_in_the_unit_range(data, bad, shown):
    with pytest.raises(ValueError, match=shown) as err:
        OCSVM(device="cpu").fit(bad(data[0]))
    assert "clad.data.to_float" in str(err.value)
    det = OCSVM(device="cpu").fit(data[0])
    with pytest.raises(ValueError, match="to_float"):
        det.anomaly_score(bad(data[1]))


def test_clad_fit_leaves_its_settings_untouched(data, monkeypatch):
    det = build_detector("clad")  # the default cluster=faiss_dec: k-means and DEC
    assert isinstance(det.dec, DEC)
    before, dec_state = settings(det), dict(vars(det.dec))
    refined_by = []
    real_refine = DEC.refine

    def spy(self, *args, **kwargs):
        refined_by.append(self)
        return real_refine(self, *args, **kwargs)

    monkeypatch.setattr(DEC, "refine", spy)
    det.fit(data[0])
    assert settings(det) == before and vars(det.dec) == dec_state
    assert len(refined_by) == 1 and refined_by[0] is not det.dec  # fit refined with a clone


def test_a_fitted_detector_refuses_another_device(data):
    """The choice (issue 8): `device` is read by fit; changing it after fit is refused at scoring
    with a message, not silently ignored, and the detector is not moved."""
    det = OCSVM(device="cpu").fit(data[0])
    scores = det.anomaly_score(data[1])
    assert det.set_params(device="cuda:0") is det  # set_params itself never validates
    with pytest.raises(ValueError, match=r"fitted on cpu, but device='cuda:0'.*set device back to 'cpu' or fit again"):
        det.anomaly_score(data[1])
    np.testing.assert_array_equal(det.set_params(device="cpu").anomaly_score(data[1]), scores)
    det.set_params(device="auto")  # the same device when "auto" resolves to the CPU
    if resolve_device("auto").type == "cpu":
        np.testing.assert_array_equal(det.anomaly_score(data[1]), scores)
    else:
        with pytest.raises(ValueError, match="fitted on cpu"):
            det.anomaly_score(data[1])
