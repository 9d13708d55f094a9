"""One-class SVM (Schoelkopf et al., "Estimating the support of a high-dimensional distribution",
Neural Computation 2001) with an RBF kernel on flattened pixels, optionally PCA-reduced: a thin
adapter around scikit-learn's OneClassSVM. Training sets larger than `max_train` are subsampled
(the dual is quadratic in memory and about cubic in time), and the log says so."""

from __future__ import annotations

import logging

import numpy as np
from sklearn.svm import OneClassSVM

from baselines.common import check_kernel_params, kernel_training_features
from clad.base import Detector

log = logging.getLogger(__name__)


class OCSVM(Detector):
    """`device` is accepted for a uniform config and ignored: scikit-learn runs on the CPU."""

    def __init__(
        self,
        nu: float = 0.1,
        gamma: float | str = "scale",
        pca_components: int | None = None,
        max_train: int | None = 5000,
        cache_size: float = 500.0,
        eval_batch_size: int = 2048,
        device: str = "auto",
        random_state: int | None = 0,
    ):
        self.nu = nu
        self.gamma = gamma
        self.pca_components = pca_components
        self.max_train = max_train
        self.cache_size = cache_size
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        check_kernel_params("OCSVM", self.nu, self.gamma, self.pca_components, self.max_train, self.eval_batch_size)
        self._check("cache_size", low=0, low_open=True)

    def _fit(self, X: np.ndarray) -> None:
        self.features_, F, self.gamma_ = kernel_training_features(
            X, self.max_train, self.pca_components, self.gamma, self.random_state_, "OCSVM"
        )
        self.svm_ = OneClassSVM(kernel="rbf", nu=self.nu, gamma=self.gamma_, cache_size=self.cache_size).fit(F)
        log.info(
            "OCSVM: %d training images, %d features, gamma %.4g, %d support vectors",
            len(F),
            F.shape[1],
            self.gamma_,
            len(self.svm_.support_),
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        # scikit-learn's decision_function is positive inside the learned support (normal):
        # negate it, once, so that higher = more anomalous.
        return np.concatenate(
            [
                -self.svm_.decision_function(self.features_.transform(X[i : i + self.eval_batch_size]))
                for i in range(0, len(X), self.eval_batch_size)
            ]
        )
