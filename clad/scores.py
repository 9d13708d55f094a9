"""Stage 4 of CLAD as configured objects: one small class per anomaly score (OpenOOD's postprocessors).

A `Score` is set up once on the normal training images and their pseudo-labels (`setup`; nothing to
learn for the scores that read only the logits), then called batch by batch: `score(model, x) -> (n,)`,
higher = more anomalous. `model` is CLAD's classifier, `nn.Sequential(Standardize, net)` on [0, 1]
pixels, in eval mode; `x` is one batch on its device (the caller chunks). Each class takes its
parameters as constructor arguments and has a `conf/score/<name>.yaml`; `SCORES` maps names to
classes and `make_score` builds one (a name gets that class's own defaults).

From the logits: MSP (Hendrycks and Gimpel 2017), MaxLogit (Hendrycks et al. 2022), Energy (Liu et al.
2020), ODIN (Liang et al. 2018; the math is clad.confidence's). From the penultimate features, fitted
on the normal training images alone (no anomalies): KNN (Sun et al. 2022), Mahalanobis (Lee et al.
2018, pseudo-labels as classes) and ReAct (Sun et al. 2021).
"""

from __future__ import annotations

import logging
import math

import faiss
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from torch import nn

from clad.base import check_param
from clad.confidence import max_softmax_anomaly, odin_score

log = logging.getLogger(__name__)


def _final_linear(model: nn.Module) -> nn.Linear:
    net = model[-1] if isinstance(model, nn.Sequential) and len(model) else model
    fc = getattr(net, "fc", None)
    if isinstance(fc, nn.Linear):  # SmallCNN, ResNet
        return fc
    head = getattr(net, "head", None)
    if isinstance(head, nn.Sequential) and len(head) and isinstance(head[-1], nn.Linear):  # ConvEncoder
        return head[-1]
    raise TypeError(
        f"penultimate: cannot split {type(net).__name__} into features and a final linear layer; the model "
        "(or the last module of nn.Sequential(norm, net)) needs `fc` (an nn.Linear) or `head` (an "
        "nn.Sequential ending in an nn.Linear) whose output is the model's output"
    )


def penultimate(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, nn.Linear]:
    """(features, head): the input of the classifier's final linear layer for a batch `x` of [0, 1]
    pixels, and that layer, so that `head(features)` is `model(x)`.

    The features are caught by a forward hook on the head while the whole model runs, so they are
    what the model's own forward computes (`net.fc(net.features(norm(x)))` for SmallCNN, the pooled
    last block for ResNet, `head[:-1]` of ConvEncoder) whatever the net; the hook also checks that
    the head's output is the model's output (nothing after it)."""
    head = _final_linear(model)
    seen: dict[str, torch.Tensor] = {}
    handle = head.register_forward_hook(lambda m, args, out: seen.update(features=args[0], logits=out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    if seen.get("logits") is not logits or seen["features"].ndim != 2:
        raise TypeError(
            f"penultimate: the final linear layer of {type(model).__name__} must map (n, d) features to "
            "the model's output, with nothing after it"
        )
    return seen["features"], head


def features_of(model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """Penultimate features of many images, `batch_size` at a time, as float32 on the CPU."""
    with torch.no_grad():
        return torch.cat(
            [
                penultimate(model, x[i : i + batch_size].to(device))[0].float().cpu()
                for i in range(0, len(x), batch_size)
            ]
        )


class Score(BaseEstimator):
    """The contract. `__init__` stores the parameters and checks them (`check_params`, run again by
    `setup`, since `set_params` bypasses `__init__`). A subclass implements `_score(model, x)` (run
    under no_grad) and, if it learns from the training images, `needs_setup = True` and `_setup`;
    `setup_params` names the parameters `_setup` reads (changing one afterwards needs a new setup).
    BaseEstimator gives get_params, set_params, clone and repr."""

    needs_setup = False
    setup_params: tuple[str, ...] = ()

    def check_params(self) -> None:
        """Raise ValueError naming any parameter out of its range."""

    def setup(
        self,
        model: nn.Module,
        train_x: torch.Tensor,
        pseudo_labels=None,
        batch_size: int = 512,
        device: str | torch.device | None = None,
    ) -> Score:
        """Learn what the score needs from the normal training images `train_x` ((n, c, h, w) in [0, 1],
        on any device; moved to `device`, default the model's, `batch_size` at a time) and their
        pseudo-labels ((n,) ints). A no-op but for the checks when `needs_setup` is False."""
        self.check_params()
        if self.needs_setup:
            _check_eval(model, type(self).__name__)
            check_param(type(self).__name__, "batch_size", batch_size, low=1, integer=True)
            device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
            train_x = torch.as_tensor(train_x)
            if len(train_x) == 0:
                raise ValueError(f"{type(self).__name__}: setup needs at least one training image; got none")
            self._setup(model, train_x, pseudo_labels, batch_size, device)
            self.n_train_ = len(train_x)
            self.setup_with_ = {name: getattr(self, name) for name in self.setup_params}
        return self

    def _setup(self, model, train_x, pseudo_labels, batch_size, device) -> None:
        raise NotImplementedError

    def __call__(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Scores (n,) of one batch `x` (on the model's device): higher = more anomalous."""
        name = type(self).__name__
        if self.needs_setup:
            if not hasattr(self, "n_train_"):
                raise NotFittedError(f"{name}: call setup(model, train_x, pseudo_labels, ...) before scoring")
            changed = [p for p, v in self.setup_with_.items() if getattr(self, p) != v]
            if changed:
                raise ValueError(f"{name}: {changed} changed since setup; call setup again")
        _check_eval(model, name)
        with torch.no_grad():
            return self._score(model, x).float()

    def _score(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _check_eval(model: nn.Module, who: str) -> None:
    if model.training:  # BatchNorm would use (and update) batch statistics: scores would depend on the batch
        raise ValueError(f"{who}: the model is in training mode; call model.eval() before setup and scoring")


def _check_temperature(score: Score) -> None:
    check_param(type(score).__name__, "temperature", score.temperature, low=0, low_open=True)


class MSP(Score):
    """1 - max softmax(logits / T) (T = 1: the maximum softmax probability baseline)."""

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature
        self.check_params()

    check_params = _check_temperature

    def _score(self, model, x):
        return max_softmax_anomaly(model(x), self.temperature)


class MaxLogit(Score):
    """-max logit: softmax's normalization left out."""

    def __init__(self):
        pass

    def _score(self, model, x):
        return -model(x).max(dim=1).values


class Energy(Score):
    """-T logsumexp(logits / T): the free energy, higher for inputs the classifier fits worse."""

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature
        self.check_params()

    check_params = _check_temperature

    def _score(self, model, x):
        return -self.temperature * torch.logsumexp(model(x) / self.temperature, dim=1)


class ODIN(Score):
    """MSP at temperature T after moving each input by epsilon against the gradient of its predicted
    label's loss (batched: a summed loss gives each sample its own input gradient).

    `eps_space="pixel"`: epsilon is in [0, 1] pixel units (ODIN's own code). `"normalized"`: epsilon is
    a step on the standardized input, as in the CLAD reference code, i.e. epsilon * std_c in pixels for
    channel c, with std read from `model[0].std` (the model must be nn.Sequential(Standardize, net),
    whose first module holds the per-channel std of the training images)."""

    def __init__(self, temperature: float = 1000.0, epsilon: float = 0.001, eps_space: str = "pixel"):
        self.temperature = temperature
        self.epsilon = epsilon
        self.eps_space = eps_space
        self.check_params()

    def check_params(self):
        _check_temperature(self)
        check_param("ODIN", "epsilon", self.epsilon, low=0)
        if self.eps_space not in ("pixel", "normalized"):
            raise ValueError(f"ODIN: eps_space must be 'pixel' or 'normalized'; got {self.eps_space!r}")

    def _score(self, model, x):
        scale = _channel_std(model, x.shape[1]) if self.eps_space == "normalized" else None
        # The perturbation needs autograd, even when the caller scores under torch.inference_mode().
        with torch.inference_mode(False):
            return odin_score(model, x.clone(), self.temperature, self.epsilon, scale)


def _channel_std(model: nn.Module, channels: int) -> torch.Tensor:
    std = getattr(model[0], "std", None) if isinstance(model, nn.Sequential) and len(model) else None
    if not isinstance(std, torch.Tensor) or std.numel() not in (1, channels):
        raise TypeError(
            f"ODIN: eps_space='normalized' needs the per-channel std of the input ({channels} channels) as "
            "model[0].std, with model = nn.Sequential(Standardize, net); use eps_space='pixel' otherwise"
        )
    return std.flatten()


class KNN(Score):
    """Distance from the L2-normalized penultimate feature of x to its k-th nearest L2-normalized
    training feature (exact search, faiss IndexFlatL2). k is capped at the number of training images."""

    needs_setup = True

    def __init__(self, k: int = 50):
        self.k = k
        self.check_params()

    def check_params(self):
        check_param("KNN", "k", self.k, low=1, integer=True)

    def _setup(self, model, train_x, pseudo_labels, batch_size, device):
        bank = F.normalize(features_of(model, train_x, batch_size, device), dim=1).numpy()
        if self.k > len(bank):
            log.warning(
                "KNN: k=%d > %d training images; using the farthest training feature (k=%d)",
                self.k,
                len(bank),
                len(bank),
            )
        self.index_ = faiss.IndexFlatL2(bank.shape[1])
        self.index_.add(np.ascontiguousarray(bank))

    def __getstate__(self):  # a faiss index does not pickle: saved as its serialized bytes (save_model=true)
        state = self.__dict__.copy()
        if "index_" in state:
            state["index_"] = faiss.serialize_index(state["index_"])
        return state

    def __setstate__(self, state):
        if "index_" in state:
            state["index_"] = faiss.deserialize_index(state["index_"])
        self.__dict__.update(state)

    def _score(self, model, x):
        f = F.normalize(penultimate(model, x)[0].float(), dim=1).cpu().numpy()
        k = min(self.k, self.index_.ntotal)
        squared, _ = self.index_.search(np.ascontiguousarray(f), k)  # (n, k) squared distances, nearest first
        return torch.from_numpy(squared[:, -1]).clamp_min(0).sqrt().to(x.device)


class Mahalanobis(Score):
    """min over pseudo-label classes c of sqrt((f - mu_c)^T S^-1 (f - mu_c)), f the penultimate feature:
    mu_c the class means of the training features, S their covariance about them, shared by all classes.

    S is often singular (more feature dimensions than images, ReLU units that never fire), so it
    gets a small ridge, `ridge` times its mean variance, before the (pseudo-)inverse: a direction in
    which training features never vary then costs a large distance instead of none, as it would with
    a plain pseudo-inverse. `ridge=0` is the plain pseudo-inverse. Computed in float64."""

    needs_setup = True
    setup_params = ("ridge",)

    def __init__(self, ridge: float = 1e-6):
        self.ridge = ridge
        self.check_params()

    def check_params(self):
        check_param("Mahalanobis", "ridge", self.ridge, low=0)

    def _setup(self, model, train_x, pseudo_labels, batch_size, device):
        if pseudo_labels is None or len(pseudo_labels) != len(train_x):
            raise ValueError(
                f"Mahalanobis: setup needs one pseudo-label per training image ({len(train_x)}); "
                f"got {None if pseudo_labels is None else len(pseudo_labels)}"
            )
        f = features_of(model, train_x, batch_size, device).double()
        self.classes_, which = torch.unique(torch.as_tensor(pseudo_labels).long().cpu(), return_inverse=True)
        counts = torch.bincount(which, minlength=len(self.classes_)).double()
        means = torch.zeros(len(self.classes_), f.shape[1], dtype=f.dtype).index_add_(0, which, f) / counts[:, None]
        centered = f - means[which]
        n, d = centered.shape
        self.means_ = means.to(device)
        if d <= n and self.ridge > 0:  # S + ridge is positive definite: W = L^-T from its Cholesky factor L
            cov = centered.T @ centered / n
            ridge = self.ridge * cov.diagonal().mean()  # ridge x S's mean variance (its trace / d)
            factor, info = torch.linalg.cholesky_ex(cov + ridge * torch.eye(d, dtype=cov.dtype))
            if int(info) == 0:  # d^3 / 3 operations, ~20x faster than eigh (6,272-d MNIST features: 138 s -> ~6 s)
                eye = torch.eye(d, dtype=cov.dtype)
                self.whiten_ = torch.linalg.solve_triangular(factor, eye, upper=False).T.to(device)
                self.basis_, self.null_weight_ = None, 0.0
                self.whitened_means_ = self.means_ @ self.whiten_
                return
        # Eigenpairs of S = centered^T centered / n where it can be non-zero: all d of them from S itself, or,
        # with fewer images than dimensions, the n from an SVD of the images (O(n^2 d) instead of O(d^3): 8192-d
        # RGB features of 432 images take a second instead of minutes). Either way the rest of R^d is
        # S's null space, where S + ridge has the eigenvalue `ridge` alone. ridge = 0 (the plain pseudo-inverse)
        # always comes here.
        if d <= n:
            variances, vectors = torch.linalg.eigh(centered.T @ centered / n)
        else:
            _, singular, vectors_t = torch.linalg.svd(centered / math.sqrt(n), full_matrices=False)
            variances, vectors = singular.square(), vectors_t.T
        ridge = self.ridge * variances.sum() / d  # ridge x S's mean variance (its trace / d)
        eigenvalues = variances + ridge
        cutoff = eigenvalues.max() * d * torch.finfo(f.dtype).eps  # pinv's cutoff
        keep = eigenvalues > cutoff
        # The (pseudo-)inverse as precision = W W^T + w_null P_null, P_null the projection on S's null space, so a
        # distance is |f W - mu_c W|^2 + w_null |P_null (f - mu_c)|^2: one (d, k) product per image, not one per class.
        self.whiten_ = (vectors[:, keep] / eigenvalues[keep].sqrt()).to(device)
        has_null = len(variances) < d and bool(ridge > cutoff)
        self.basis_ = vectors.to(device) if has_null else None  # (d, n): only the SVD path has a null space
        self.null_weight_ = float(1.0 / ridge) if has_null else 0.0
        self.whitened_means_ = self.means_ @ self.whiten_

    def _score(self, model, x):
        f = penultimate(model, x)[0].double()
        squared = torch.cdist(f @ self.whiten_.to(x.device), self.whitened_means_.to(x.device)).square()  # (n, classes)
        if self.null_weight_:  # |P_null (f - mu)|^2 = |f - mu|^2 - |(f - mu) V|^2
            basis, means = self.basis_.to(x.device), self.means_.to(x.device)
            null = torch.cdist(f, means).square() - torch.cdist(f @ basis, means @ basis).square()
            squared = squared + self.null_weight_ * null.clamp_min(0)
        return squared.min(dim=1).values.clamp_min(0).sqrt()


class ReAct(Score):
    """Energy at temperature T of the logits of min(f, c): penultimate activations f clipped at c, the
    `percentile`-th percentile of all activations of the training images (every unit of every image)."""

    needs_setup = True
    setup_params = ("percentile",)

    def __init__(self, percentile: float = 90.0, temperature: float = 1.0):
        self.percentile = percentile
        self.temperature = temperature
        self.check_params()

    def check_params(self):
        check_param("ReAct", "percentile", self.percentile, low=0, high=100, low_open=True)
        _check_temperature(self)

    def _setup(self, model, train_x, pseudo_labels, batch_size, device):
        # numpy, not torch.quantile, which refuses more than 2**24 values (54k images x 512 units).
        self.threshold_ = float(np.percentile(features_of(model, train_x, batch_size, device).numpy(), self.percentile))

    def _score(self, model, x):
        f, head = penultimate(model, x)
        logits = head(f.clamp(max=self.threshold_))
        return -self.temperature * torch.logsumexp(logits / self.temperature, dim=1)


SCORES: dict[str, type[Score]] = {
    "msp": MSP,
    "maxlogit": MaxLogit,
    "energy": Energy,
    "odin": ODIN,
    "knn": KNN,
    "mahalanobis": Mahalanobis,
    "react": ReAct,
}


def make_score(score: str | Score | type[Score] = "odin", **params) -> Score:
    """A new Score: from a name in `SCORES` (that class's own defaults, so "msp" is T = 1), a Score
    class, or a Score instance (cloned, so setting the result up never changes the one given),
    with `params` overriding its parameters."""
    if isinstance(score, str):
        if score not in SCORES:
            raise ValueError(f"unknown score {score!r}; choose one of {sorted(SCORES)}")
        cls = SCORES[score]
    elif isinstance(score, Score) or (isinstance(score, type) and issubclass(score, Score)):
        cls = type(score) if isinstance(score, Score) else score
    else:
        raise TypeError(f"make_score: expected a name in {sorted(SCORES)}, a Score class or a Score; got {score!r}")
    names = cls._get_param_names()
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no parameter {', '.join(unknown)}; its parameters: {names or 'none'}")
    if isinstance(score, Score):
        made = clone(score).set_params(**params)
        made.check_params()
        return made
    return cls(**params)
