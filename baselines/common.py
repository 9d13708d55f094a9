"""Pieces shared by the baselines: flattened (optionally PCA-reduced) pixel features with seeded
subsampling for the kernel methods, the RBF kernel and its 'scale' bandwidth, and CLAD's stage-1
autoencoder for ae_recon and latent_kmeans. (The pretrained autoencoder that OC-NN and OCCNN build on
is clad.training.pretrain_autoencoder too, at their own settings.)"""

from __future__ import annotations

import logging

import numpy as np

from clad.base import Detector, check_param
from clad.nets import ConvAutoencoder, Standardize
from clad.training import check_autoencoder_params as check_clad_autoencoder  # noqa: F401 (used by ae_recon, latent_kmeans)
from clad.training import pretrain_autoencoder

log = logging.getLogger(__name__)


def subsample(X: np.ndarray, max_n: int | None, rng: np.random.Generator, who: str) -> np.ndarray:
    """A seeded random subset of at most `max_n` rows, stated in the log when it drops any."""
    if max_n is None or len(X) <= max_n:
        return X
    log.info(
        "%s: training on a random subset of %d of the %d training images (max_train=%d)", who, max_n, len(X), max_n
    )
    return X[np.sort(rng.choice(len(X), size=max_n, replace=False))]


class PixelFeatures:
    """Flattened pixels, optionally projected on the first `n_components` principal components."""

    def __init__(self, n_components: int | None, random_state: int):
        self.n_components = n_components
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        F = X.reshape(len(X), -1).astype(np.float64)
        self.pca_ = None
        if self.n_components:
            from sklearn.decomposition import PCA

            self.pca_ = PCA(n_components=min(self.n_components, *F.shape), random_state=self.random_state).fit(F)
            F = self.pca_.transform(F)
        return F

    def transform(self, X: np.ndarray) -> np.ndarray:
        F = X.reshape(len(X), -1).astype(np.float64)
        return F if self.pca_ is None else self.pca_.transform(F)


def resolve_gamma(gamma: float | str, F: np.ndarray) -> float:
    """scikit-learn's conventions: 'scale' = 1 / (n_features * Var(F)), 'auto' = 1 / n_features."""
    if gamma == "scale":
        var = float(F.var())
        return 1.0 / (F.shape[1] * var) if var > 0 else 1.0
    if gamma == "auto":
        return 1.0 / F.shape[1]
    if isinstance(gamma, str) or gamma <= 0:
        raise ValueError(f"gamma must be 'scale', 'auto' or a positive number; got {gamma!r}")
    return float(gamma)


def rbf_kernel(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """exp(-gamma ||a - b||^2) for every pair of rows."""
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.exp(-gamma * np.maximum(d2, 0.0))


def check_kernel_params(
    who: str, nu: float, gamma: float | str, pca_components: int | None, max_train: int | None, eval_batch_size: int
) -> None:
    """The settings OCSVM and SVDD share, checked before any data is touched."""
    check_param(who, "nu", nu, low=0, high=1, low_open=True)
    if gamma not in ("scale", "auto"):
        if isinstance(gamma, str):
            raise ValueError(f"{who}: gamma must be 'scale', 'auto' or a number > 0; got {gamma!r}")
        check_param(who, "gamma", gamma, low=0, low_open=True)
    # pca_components=0 would silently mean "no PCA": null says that.
    check_param(who, "pca_components", pca_components, low=1, integer=True, optional=True)
    check_param(who, "max_train", max_train, low=1, integer=True, optional=True)
    check_param(who, "eval_batch_size", eval_batch_size, low=1, integer=True)


def kernel_training_features(
    X: np.ndarray, max_train: int | None, pca_components: int | None, gamma: float | str, random_state: int, who: str
) -> tuple[PixelFeatures, np.ndarray, float]:
    """What OCSVM and SVDD do before their solvers (after `check_kernel_params`): subsample, build
    (PCA) pixel features, resolve the RBF bandwidth. Returns the fitted features, the training
    features and gamma."""
    X = subsample(X, max_train, np.random.default_rng(random_state), who)
    features = PixelFeatures(pca_components, random_state)
    F = features.fit_transform(X)
    return features, F, resolve_gamma(gamma, F)


# ------------------------------------------------------------------ CLAD's stage-1 autoencoder
# ae_recon and latent_kmeans are "CLAD without its classifier": they take CLAD's autoencoder settings
# under CLAD's names (latent_dim, ae_epochs, min_steps, ae_channels, ae_hidden, schedule, batch_size,
# lr, weight_decay, precision; their configs read the same budget keys) and train it exactly as CLAD.fit does.


def fit_clad_autoencoder(det: Detector, X: np.ndarray, generator) -> tuple[Standardize, ConvAutoencoder]:
    """CLAD's stage 1 with `det`'s settings: with the same settings and seed, the same autoencoder."""
    return pretrain_autoencoder(
        X,
        det.latent_dim,
        det.ae_epochs,
        det.batch_size,
        det.lr,
        det.weight_decay,
        det.device_,
        generator,
        f"{type(det).__name__} autoencoder",
        min_steps=det.min_steps,
        channels=tuple(det.ae_channels),
        hidden=det.ae_hidden,
        schedule=det.schedule,
        channels_last=True,  # as CLAD: NHWC weights, faster on oneDNN's CPU convolutions
        precision=det.precision,
    )
