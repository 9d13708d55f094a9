"""One-Class CNN (Oza and Patel, "One-Class Convolutional Neural Network", IEEE Signal Processing
Letters 26(2), 2019): a CNN feature extractor, zero-centred Gaussian pseudo-negatives N(0, sigma^2 I)
drawn in feature space, and a binary classifier trained with cross-entropy to tell the (instance-
normalized) features of normal images from the noise; the feature extractor is trained with it.

The paper starts from an ImageNet-pretrained AlexNet/VGG16; offline and for grey digits we start
from the encoder of CLAD's convolutional autoencoder pretrained on the normal images instead.
The score is the classifier's probability of the pseudo-negative (anomaly) class.

`feature_norm="instance"` normalizes each feature vector (zero mean, unit variance across features)
before the classifier, as the paper does with ImageNet features. With our autoencoder features it
ranked anomalies as *more* normal on the easy contract problem (AUROC ~0), since every normalized
vector then has the same norm and only its direction is left to the classifier; so the default
is "none" (raw features; the noise still sits at the origin).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clad.base import Detector
from clad.training import fit_epochs, predict, pretrain_autoencoder

log = logging.getLogger(__name__)


FEATURE_NORMS = ("none", "instance")


def instance_norm(f: torch.Tensor) -> torch.Tensor:
    """Each feature vector to zero mean and unit variance across its features (no affine part)."""
    return F.layer_norm(f, f.shape[1:])


class OCCNN(Detector):
    def __init__(
        self,
        sigma: float = 0.01,
        feature_norm: str = "none",
        latent_dim: int = 64,
        ae_epochs: int = 20,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-4,
        ae_lr: float = 1e-3,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
    ):
        self.sigma = sigma
        self.feature_norm = feature_norm
        self.latent_dim = latent_dim
        self.ae_epochs = ae_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.ae_lr = ae_lr
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        """`epochs` must be >= 1 (an untrained classifier scores nothing); `ae_epochs=0` is
        accepted (the feature extractor starts untrained, with a warning)."""
        self._check("sigma", low=0, low_open=True)
        if self.feature_norm not in FEATURE_NORMS:
            raise ValueError(f"OCCNN: feature_norm must be one of {FEATURE_NORMS}; got {self.feature_norm!r}")
        for name in ("latent_dim", "epochs", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
        self._check("ae_epochs", low=0, integer=True)
        self._check("lr", low=0, low_open=True)
        self._check("ae_lr", low=0, low_open=True)

    def _fit(self, X: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(self.random_state_)
        norm, ae = pretrain_autoencoder(
            X,
            self.latent_dim,
            self.ae_epochs,
            self.batch_size,
            self.ae_lr,
            0.0,
            self.device_,
            gen,
            "OCCNN autoencoder",
        )
        self.features_ = nn.Sequential(norm, ae.encoder)
        self.classifier_ = nn.Linear(self.latent_dim, 2).to(self.device_)
        model = nn.ModuleList([self.features_, self.classifier_])
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        x = torch.from_numpy(X).to(self.device_)

        def loss_fn(idx: torch.Tensor) -> torch.Tensor:
            f = self._features(x[idx])
            # Pseudo-negatives: zero-centred Gaussian noise in feature space, one per real feature vector.
            noise = self.sigma * torch.randn(f.shape, generator=gen).to(self.device_)
            logits = self.classifier_(torch.cat([f, noise]))
            target = torch.cat([torch.zeros(len(f)), torch.ones(len(noise))]).long().to(self.device_)
            return F.cross_entropy(logits, target)

        self.loss_ = fit_epochs(model, loss_fn, len(x), self.epochs, self.batch_size, opt, gen, "OCCNN training")
        log.info("OCCNN: %d epochs, final loss %.5g", self.epochs, self.loss_[-1] if self.loss_ else float("nan"))

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features_(x)
        return instance_norm(f) if self.feature_norm == "instance" else f

    def _score(self, X: np.ndarray) -> np.ndarray:
        logits = predict(lambda x: self.classifier_(self._features(x)), X, self.eval_batch_size, self.device_).double()
        # P(anomaly) from the logit difference in float64, so confident normals do not all round to 0.
        return torch.sigmoid(logits[:, 1] - logits[:, 0]).numpy()
