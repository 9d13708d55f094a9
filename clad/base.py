"""The detector contract shared by CLAD and every baseline.

`fit(X) -> self` on normal training images; `anomaly_score(X) -> (n,) float64`, higher = more
anomalous. X is float32 (n, channels, height, width) in [0, 1] (see `clad.data.to_float`).
A subclass implements `_fit(X)` and `_score(X)`, and `_check_params(n)`; this class does the
validation (`random_state`, then the subclass's settings, before any training), resolves `device`
and `random_state`, and checks that scores are finite. `check_param` is the one range check every
setting goes through, so each message names the setting, the accepted range and the bad value.

`Detector` is a scikit-learn estimator (get_params, set_params, clone and repr come from
`BaseEstimator`, so every argument of a subclass's `__init__` is stored under its own name and
nothing else is done there) and follows PyOD's conventions: `decision_function` is `anomaly_score`,
`calibrate(X_val)` sets `threshold_` on normal validation images, `predict` gives 1 = anomaly.
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import random

import numpy as np
import sklearn.exceptions
import torch
from sklearn.base import BaseEstimator

log = logging.getLogger(__name__)


class NotFittedError(sklearn.exceptions.NotFittedError):
    """A detector scored before `fit` succeeded (or predicted before `calibrate`). scikit-learn's
    error (a ValueError and an AttributeError), so code written for scikit-learn catches it."""


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> cuda when present, else cpu; anything else is passed to torch.device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device '{device}' is not valid; use 'auto', 'cpu', 'cuda' or 'cuda:<n>'") from err


def check_param(
    who: str,
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    optional: bool = False,
) -> None:
    """Raise ValueError "<who>: <name> must be <range>; got <value>" unless `value` is in range.

    `low`/`high` bound the value (inclusive unless `low_open`/`high_open`); `integer=True` accepts
    integers only (not 1.5, not 2.0); `optional=True` also accepts None. Booleans are never numbers
    here (YAML reads `true` as one, and Python would take it for 1), nor are NaN or infinity."""
    if value is None and optional:
        return
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and (integer or math.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if ok:
        return
    if low is not None and high is not None:
        rule = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        rule = f"{'>' if low_open else '>='} {low}"
    elif high is not None:
        rule = f"{'<' if high_open else '<='} {high}"
    else:
        rule = ""
    if integer:
        rule = f"an integer {rule}".rstrip()
    rule = (rule or "a finite number") + (" or None" if optional else "")
    raise ValueError(f"{who}: {name} must be {rule}; got {value!r}")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_images(X, name: str = "X") -> np.ndarray:
    """Accept an array-like (n, c, h, w) of float images in [0, 1]; return float32 numpy.

    Integer images (uint8 pixels in 0..255) and values outside [0, 1] are refused, not rescaled: a
    guess would be wrong for some input, and ODIN's epsilon is in [0, 1] pixel units."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype.kind != "f":
        raise ValueError(
            f"{name} has dtype {X.dtype}; detectors take float images in [0, 1]: use clad.data.to_float to convert uint8 images"
        )
    X = X.astype(np.float32, copy=False)
    if X.ndim != 4:
        raise ValueError(f"{name} must have shape (n, channels, height, width); got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} holds no images")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} holds non-finite values")
    low, high = X.min(), X.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"{name} holds values in [{low:.4g}, {high:.4g}]; detectors take float images in [0, 1]: use clad.data.to_float to convert uint8 images"
        )
    return X


def check_finite(values, stage: str) -> None:
    """Raise with the stage's name when a loss or score is NaN or infinite."""
    ok = torch.isfinite(values).all() if isinstance(values, torch.Tensor) else np.isfinite(values).all()
    if not ok:
        raise FloatingPointError(f"non-finite values in {stage}")


class Detector(BaseEstimator):
    """Base class: subclasses store their keyword arguments in __init__ and implement _fit/_score.
    `device` and `random_state` are read by fit; a fitted detector scores only on the device it was
    fitted on (changing `device` afterwards is refused at scoring, not silently ignored)."""

    # Fallbacks for a subclass whose __init__ takes neither; every detector here takes both, so
    # for each of them they are parameters like the others (get_params, set_params, clone).
    device: str = "auto"
    random_state: int | None = 0

    def fit(self, X, y=None) -> Detector:
        """Learn from normal images X (`y` is ignored, as in scikit-learn's outlier detectors).

        What an earlier fit learned is dropped first, and the fitted marker `input_shape_` is set
        only when `_fit` has succeeded: a fit that raises leaves the detector unfitted."""
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, key)
        X = check_images(X)
        check_param(type(self).__name__, "random_state", self.random_state, low=0, integer=True, optional=True)
        self._check_params(len(X))  # every setting, before any training
        self.device_ = resolve_device(self.device)
        self.random_state_ = 0 if self.random_state is None else int(self.random_state)
        seed_everything(self.random_state_)
        self._fit(X)
        self.input_shape_ = tuple(X.shape[1:])
        return self

    def __setstate__(self, state: dict) -> None:
        """Unpickling (a saved model.pt): a detector saved before one of today's parameters existed ran with
        what is now that parameter's default, so the default fills it in (get_params and rescoring need it)."""
        super().__setstate__(state)
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and name not in self.__dict__ and param.default is not inspect.Parameter.empty:
                setattr(self, name, param.default)

    def __sklearn_is_fitted__(self) -> bool:  # read by sklearn.utils.validation.check_is_fitted
        return hasattr(self, "input_shape_")

    def anomaly_score(self, X) -> np.ndarray:
        """(n,) float64 scores, higher = more anomalous."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(X) first")
        self._check_device()
        X = check_images(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"{type(self).__name__} was fitted on images of shape {self.input_shape_}, got {tuple(X.shape[1:])}"
            )
        scores = np.asarray(self._score(X), dtype=np.float64).reshape(-1)
        check_finite(scores, f"{type(self).__name__}.anomaly_score")
        return scores

    def decision_function(self, X) -> np.ndarray:
        """PyOD's name for `anomaly_score` (higher = more anomalous, unlike scikit-learn's own)."""
        return self.anomaly_score(X)

    def calibrate(self, X_val, accept: float = 0.95) -> Detector:
        """Set `threshold_` to the `accept` quantile of the scores of the normal validation images
        X_val, so that `predict` accepts about that share of normal images. Returns self."""
        check_param(type(self).__name__, "accept", accept, low=0, high=1, low_open=True)
        self.threshold_ = float(np.quantile(self.anomaly_score(X_val), accept))
        return self

    def predict(self, X) -> np.ndarray:
        """PyOD's labels: 1 (anomaly) where the score exceeds `threshold_`, else 0; int array (n,)."""
        if self.__sklearn_is_fitted__() and not hasattr(self, "threshold_"):
            raise NotFittedError(
                f"{type(self).__name__} has no threshold_; call calibrate(X_val) with normal validation images first"
            )
        scores = self.anomaly_score(X)  # raises NotFittedError, naming fit, before fit
        return (scores > self.threshold_).astype(int)

    def _check_device(self) -> None:
        """A fitted detector stays where it was fitted: a later `device` must resolve to the same one."""
        device = resolve_device(self.device)
        if device != self.device_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.device_}, but device={self.device!r} is {device}: a fitted "
                f"detector is not moved between devices; set device back to {str(self.device_)!r} or fit again"
            )

    def _check(self, name: str, **limits) -> None:
        """`check_param` on the constructor argument `name`, the message naming this detector."""
        check_param(type(self).__name__, name, getattr(self, name), **limits)

    def _check_params(self, n: int) -> None:
        """Check every setting against the `n` training images; raise ValueError naming the bad one.
        Called by `fit` before `_fit`, so a bad setting never costs a training run; every detector
        here overrides it (a subclass with no settings may keep this one, which checks nothing)."""

    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError
