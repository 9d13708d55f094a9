"""Distance to the nearest k-means centroid in the latent space of CLAD's autoencoder: stages 1-2 of
CLAD (Park et al. 2021, arXiv 2104.09793) without the classifier. The score of an image is the
squared Euclidean distance of its latent code to the closest of the k centroids."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from clad.base import Detector
from clad.clustering import default_kmeans
from clad.training import predict, pretrain_autoencoder


class LatentKMeans(Detector):
    def __init__(
        self,
        n_clusters: int = 10,
        latent_dim: int = 10,
        kmeans: Callable | None = None,
        pretrain_epochs: int = 20,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
    ):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.kmeans = kmeans
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        """`pretrain_epochs=0` is accepted (k-means on the codes of an untrained encoder, with a warning)."""
        self._check("n_clusters", integer=True)
        if not 1 <= self.n_clusters <= n:
            raise ValueError(
                f"LatentKMeans: n_clusters must be between 1 and the {n} training images; got {self.n_clusters}"
            )
        for name in ("latent_dim", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
        self._check("pretrain_epochs", low=0, integer=True)
        self._check("lr", low=0, low_open=True)
        self._check("weight_decay", low=0)

    def _fit(self, X: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(self.random_state_)
        self.norm_, self.ae_ = pretrain_autoencoder(
            X,
            self.latent_dim,
            self.pretrain_epochs,
            self.batch_size,
            self.lr,
            self.weight_decay,
            self.device_,
            gen,
            "LatentKMeans autoencoder",
        )
        codes = self._codes(X)
        km = (self.kmeans or default_kmeans)(n_clusters=self.n_clusters, random_state=self.random_state_)
        km.fit_predict(codes.numpy())
        self.centroids_ = torch.as_tensor(np.asarray(km.cluster_centers_), dtype=torch.float32)

    def _codes(self, X: np.ndarray) -> torch.Tensor:
        return predict(lambda x: self.ae_.encoder(self.norm_(x)), X, self.eval_batch_size, self.device_)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return (torch.cdist(self._codes(X).double(), self.centroids_.double()) ** 2).min(dim=1).values.numpy()
