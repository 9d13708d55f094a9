"""Autoencoder reconstruction error: CLAD's convolutional autoencoder (clad.nets.ConvAutoencoder)
trained with MSE on the normal images; the score is an image's mean squared reconstruction error
in the standardized space. A cheap, strong reference (e.g. Sakurada and Yairi, MLSDA 2014)."""

from __future__ import annotations

import numpy as np
import torch

from clad.base import Detector
from clad.training import predict, pretrain_autoencoder


class AEReconstruction(Detector):
    def __init__(
        self,
        latent_dim: int = 10,
        pretrain_epochs: int = 20,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
    ):
        self.latent_dim = latent_dim
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        # The autoencoder is the whole detector: 0 epochs would score with an untrained one.
        for name in ("latent_dim", "pretrain_epochs", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
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
            "AEReconstruction autoencoder",
        )

    def _reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        xs = self.norm_(x)
        return ((self.ae_(xs) - xs) ** 2).mean(dim=(1, 2, 3))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return predict(self._reconstruction_error, X, self.eval_batch_size, self.device_).double().numpy()
