"""Autoencoder reconstruction error: CLAD's convolutional autoencoder (clad.nets.ConvAutoencoder)
trained with MSE on the normal images; the score is an image's mean squared reconstruction error
in the standardized space. A cheap, strong reference (e.g. Sakurada and Yairi, MLSDA 2014).

The autoencoder is CLAD's stage 1 with CLAD's settings and budget (baselines.common.fit_clad_autoencoder),
so that the comparison with CLAD isolates what the clustering and the classifier add."""

from __future__ import annotations

import numpy as np
import torch

from baselines.common import check_clad_autoencoder, fit_clad_autoencoder
from clad.base import Detector
from clad.training import predict


class AEReconstruction(Detector):
    def __init__(
        self,
        latent_dim: int = 10,
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
        self.latent_dim = latent_dim
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
        # The autoencoder is the whole detector: 0 epochs would score with an untrained one.
        check_clad_autoencoder(self, min_epochs=1)
        self._check("eval_batch_size", low=1, integer=True)

    def _fit(self, X: np.ndarray) -> None:
        self.norm_, self.ae_ = fit_clad_autoencoder(self, X, torch.Generator().manual_seed(self.random_state_))

    def _reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        xs = self.norm_(x)
        return ((self.ae_(xs) - xs) ** 2).mean(dim=(1, 2, 3))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return predict(self._reconstruction_error, X, self.eval_batch_size, self.device_).double().numpy()
