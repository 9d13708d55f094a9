"""Distance to the nearest k-means centroid in the latent space of CLAD's autoencoder: stages 1-2 of
CLAD (Park et al. 2021, arXiv 2104.09793) without the classifier. The score of an image is the
squared Euclidean distance of its latent code to the closest of the k centroids.

Stage 1 is CLAD's, with CLAD's settings and budget (baselines.common.fit_clad_autoencoder): with the
same settings and seed its codes and k-means are CLAD's before DEC, so "CLAD without its classifier"
is a fair ablation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from baselines.common import check_clad_autoencoder, fit_clad_autoencoder
from clad.base import Detector
from clad.clustering import default_kmeans
from clad.training import predict


class LatentKMeans(Detector):
    def __init__(
        self,
        n_clusters: int = 10,
        latent_dim: int = 10,
        kmeans: Callable | None = None,
        ae_epochs: int = 20,
        min_steps: int = 0,
        ae_channels: tuple[int, ...] = (32, 64, 128),
        ae_hidden: int = 512,
        schedule: str = "constant",
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
        precision: str = "auto",
    ):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.kmeans = kmeans
        self.ae_epochs = ae_epochs
        self.min_steps = min_steps
        self.ae_channels = ae_channels
        self.ae_hidden = ae_hidden
        self.schedule = schedule
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state
        self.precision = precision

    def _check_params(self, n: int) -> None:
        """`ae_epochs=0` is accepted (k-means on the codes of an untrained encoder, with a warning)."""
        self._check("n_clusters", integer=True)
        if not 1 <= self.n_clusters <= n:
            raise ValueError(
                f"LatentKMeans: n_clusters must be between 1 and the {n} training images; got {self.n_clusters}"
            )
        check_clad_autoencoder(self, min_epochs=0)
        self._check("eval_batch_size", low=1, integer=True)

    def _fit(self, X: np.ndarray) -> None:
        self.norm_, self.ae_ = fit_clad_autoencoder(self, X, torch.Generator().manual_seed(self.random_state_))
        codes = self._codes(X)
        km = (self.kmeans or default_kmeans)(n_clusters=self.n_clusters, random_state=self.random_state_)
        km.fit_predict(codes.numpy())
        self.centroids_ = torch.as_tensor(np.asarray(km.cluster_centers_), dtype=torch.float32)

    def _codes(self, X: np.ndarray) -> torch.Tensor:
        return predict(lambda x: self.ae_.encoder(self.norm_(x)), X, self.eval_batch_size, self.device_)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return (torch.cdist(self._codes(X).double(), self.centroids_.double()) ** 2).min(dim=1).values.numpy()
