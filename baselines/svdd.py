"""Support Vector Data Description (Tax and Duin, "Support vector data description", Machine
Learning 54, 2004) with a Gaussian kernel, solved as its dual quadratic program with cvxopt:

    max_a  sum_i a_i K_ii - sum_ij a_i a_j K_ij   s.t.  0 <= a_i <= C = 1 / (nu n),  sum_i a_i = 1.

The centre is a = sum_i a_i phi(x_i); R^2 is the squared feature-space distance of the unbounded
support vectors (0 < a_i < C) to it; the score is ||phi(x) - a||^2 - R^2 (> 0 outside the sphere).
With a Gaussian kernel K_ii = 1, so the dual is the one-class SVM's and the two rank alike.
"""

from __future__ import annotations

import logging

import numpy as np

from baselines.common import check_kernel_params, kernel_training_features, rbf_kernel
from clad.base import Detector

log = logging.getLogger(__name__)


def solve_svdd_dual(K: np.ndarray, C: float) -> np.ndarray:
    """The SVDD dual as cvxopt's  min 1/2 a'Pa + q'a  s.t.  Ga <= h, Aa = b  with P = 2K, q = -diag(K)."""
    from cvxopt import matrix, solvers

    n = len(K)
    P = matrix(2.0 * K)
    q = matrix(-np.diag(K).copy())
    G = matrix(np.vstack([-np.eye(n), np.eye(n)]))
    h = matrix(np.concatenate([np.zeros(n), np.full(n, C)]))
    A = matrix(np.ones((1, n)))
    b = matrix(1.0)
    sol = solvers.qp(
        P, q, G, h, A, b, options={"show_progress": False, "abstol": 1e-9, "reltol": 1e-9, "feastol": 1e-9}
    )
    if sol["status"] != "optimal":
        log.warning("SVDD: cvxopt stopped with status %r", sol["status"])
    return np.clip(np.asarray(sol["x"]).ravel(), 0.0, C)


class SVDD(Detector):
    """`device` is accepted for a uniform config and ignored: the QP is solved on the CPU."""

    def __init__(
        self,
        nu: float = 0.1,
        gamma: float | str = "scale",
        pca_components: int | None = None,
        max_train: int | None = 1000,
        eval_batch_size: int = 2048,
        device: str = "auto",
        random_state: int | None = 0,
    ):
        self.nu = nu
        self.gamma = gamma
        self.pca_components = pca_components
        self.max_train = max_train
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        check_kernel_params("SVDD", self.nu, self.gamma, self.pca_components, self.max_train, self.eval_batch_size)

    def _fit(self, X: np.ndarray) -> None:
        self.features_, F, self.gamma_ = kernel_training_features(
            X, self.max_train, self.pca_components, self.gamma, self.random_state_, "SVDD"
        )
        K = rbf_kernel(F, F, self.gamma_)
        C = 1.0 / (self.nu * len(F))
        alpha = solve_svdd_dual(K, C)
        sv = alpha > 1e-7 * C
        self.support_vectors_, self.alpha_ = F[sv], alpha[sv]
        self.center_norm2_ = float(alpha @ K @ alpha)  # ||a||^2 in feature space
        dist = 1.0 - 2.0 * K @ alpha + self.center_norm2_  # squared distances of the training points
        boundary = sv & (alpha < (1 - 1e-5) * C)
        # R^2: the distance of the unbounded support vectors, which lie on the sphere.
        self.radius2_ = float(np.mean(dist[boundary])) if boundary.any() else float(np.quantile(dist, 1 - self.nu))
        log.info(
            "SVDD: %d training images, gamma %.4g, C %.4g, %d support vectors (%d on the boundary), R^2 %.4g",
            len(F),
            self.gamma_,
            C,
            int(sv.sum()),
            int(boundary.sum()),
            self.radius2_,
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        out = []
        for i in range(0, len(X), self.eval_batch_size):
            k = rbf_kernel(
                self.features_.transform(X[i : i + self.eval_batch_size]), self.support_vectors_, self.gamma_
            )
            # ||phi(x) - a||^2 = K(x, x) - 2 sum_i a_i K(x_i, x) + ||a||^2, with K(x, x) = 1.
            out.append(1.0 - 2.0 * k @ self.alpha_ + self.center_norm2_ - self.radius2_)
        return np.concatenate(out)
