"""The detector contract shared by CLAD and every baseline.

`fit(X) -> self` on normal training images; `anomaly_score(X) -> (n,) float64`, higher = more
anomalous. X is float32 (n, channels, height, width) in [0, 1] (see `clad.data.to_float`).
A subclass implements `_fit(X)` and `_score(X)`, and `_check_params(n)`; this class does the
validation (`random_state`, then the subclass's settings, before any training), resolves `device`
and `random_state`, and checks that scores are finite. `check_param` is the one range check every
setting goes through, so each message names the setting, the accepted range and the bad value.
"""
from __future__ import annotations

import logging
import math
import numbers
import random

import numpy as np
import torch

log = logging.getLogger(__name__)


class NotFittedError(RuntimeError):
    """anomaly_score was called before fit."""


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> cuda when present, else cpu; anything else is passed to torch.device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device '{device}' is not valid; use 'auto', 'cpu', 'cuda' or 'cuda:<n>'") from err


def check_param(
    who: str, name: str, value, *, low: float | None = None, high: float | None = None,
    low_open: bool = False, high_open: bool = False, integer: bool = False, optional: bool = False,
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
    """Accept an array-like (n, c, h, w) of floats; return float32 numpy."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4:
        raise ValueError(f"{name} must have shape (n, channels, height, width); got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} holds no images")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} holds non-finite values")
    return X


def check_finite(values, stage: str) -> None:
    """Raise with the stage's name when a loss or score is NaN or infinite."""
    ok = torch.isfinite(values).all() if isinstance(values, torch.Tensor) else np.isfinite(values).all()
    if not ok:
        raise FloatingPointError(f"non-finite values in {stage}")


class Detector:
    """Base class: subclasses store their keyword arguments in __init__ and implement _fit/_score."""

    device: str = "auto"
    random_state: int | None = 0

    def fit(self, X, y=None) -> "Detector":
        X = check_images(X)
        check_param(type(self).__name__, "random_state", self.random_state, low=0, integer=True, optional=True)
        self._check_params(len(X))  # every setting, before any training
        self.device_ = resolve_device(getattr(self, "device", "auto"))
        self.random_state_ = 0 if self.random_state is None else int(self.random_state)
        seed_everything(self.random_state_)
        self.input_shape_ = tuple(X.shape[1:])
        self._fit(X)
        return self

    def anomaly_score(self, X) -> np.ndarray:
        if not hasattr(self, "input_shape_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(X) first")
        X = check_images(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(f"{type(self).__name__} was fitted on images of shape {self.input_shape_}, got {tuple(X.shape[1:])}")
        scores = np.asarray(self._score(X), dtype=np.float64).reshape(-1)
        check_finite(scores, f"{type(self).__name__}.anomaly_score")
        return scores

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.endswith('_'))})"

    def set_params(self, **params) -> "Detector":
        """Change constructor arguments (e.g. scoring parameters after fit), as in scikit-learn."""
        for key, value in params.items():
            if key.endswith("_") or not hasattr(self, key):
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}")
            setattr(self, key, value)
        return self
