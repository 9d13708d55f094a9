"""One-Class Neural Network (Chalapathy, Menon and Chawla, "Anomaly Detection using One-Class
Neural Networks", arXiv 1802.06360, 2018): the encoder of CLAD's convolutional autoencoder,
pretrained on the normal images, followed by a one-hidden-layer net, trained on end to end.

With z the encoder's code, yhat(x) = w . g(V z) minimises
    1/2 ||w||^2 + 1/2 ||V||_F^2 + 1/nu mean max(0, r - yhat(z)) - r
by alternating minimisation: gradient steps on the network (encoder, V, w) with r fixed, then r <- the nu-quantile of
yhat on the training data (the closed-form optimum in r). The score is r - yhat(z): > 0 outside.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from clad.base import Detector
from clad.training import fit_epochs, predict, pretrain_autoencoder

log = logging.getLogger(__name__)

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "linear": nn.Identity}


class OCNN(Detector):
    def __init__(
        self,
        nu: float = 0.1,
        hidden: int = 32,
        activation: str = "sigmoid",
        latent_dim: int = 32,
        ae_epochs: int = 20,
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 1e-3,
        ae_lr: float = 1e-3,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
    ):
        self.nu = nu
        self.hidden = hidden
        self.activation = activation
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
        """`epochs` must be >= 1 (r of an untrained net ranks nothing); `ae_epochs=0` is accepted
        (the encoder starts untrained and learns with the OC-NN objective alone, with a warning)."""
        self._check("nu", low=0, high=1, low_open=True, high_open=True)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"OCNN: activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}")
        for name in ("hidden", "latent_dim", "epochs", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
        self._check("ae_epochs", low=0, integer=True)
        self._check("lr", low=0, low_open=True)
        self._check("ae_lr", low=0, low_open=True)

    def _fit(self, X: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(self.random_state_)
        self.norm_, self.ae_ = pretrain_autoencoder(
            X,
            self.latent_dim,
            self.ae_epochs,
            self.batch_size,
            self.ae_lr,
            0.0,
            self.device_,
            gen,
            "OCNN autoencoder",
        )
        # The network is the pretrained encoder followed by the one-hidden-layer net, all trained with the
        # OC-NN objective: with the encoder frozen, OC-NN ranked at chance on the contract's easy problem.
        self.net_ = nn.Sequential(
            self.norm_,
            self.ae_.encoder,
            nn.Linear(self.latent_dim, self.hidden, bias=False),
            ACTIVATIONS[self.activation](),
            nn.Linear(self.hidden, 1, bias=False),
        ).to(self.device_)
        V, w = self.net_[2].weight, self.net_[4].weight
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        x = torch.from_numpy(X).to(self.device_)
        state = {"r": self._quantile_r(x)}

        def loss_fn(idx: torch.Tensor) -> torch.Tensor:
            yhat = self.net_(x[idx]).squeeze(1)
            return (
                0.5 * w.pow(2).sum()
                + 0.5 * V.pow(2).sum()
                + torch.relu(state["r"] - yhat).mean() / self.nu
                - state["r"]
            )

        def r_step(epoch: int) -> None:  # the nu-quantile of the outputs minimises the objective in r
            state["r"] = self._quantile_r(x)

        self.loss_ = fit_epochs(
            self.net_, loss_fn, len(x), self.epochs, self.batch_size, opt, gen, "OCNN training", on_epoch=r_step
        )
        r = state["r"]
        self.net_.eval()
        self.r_ = r
        log.info(
            "OCNN: %d epochs, final loss %.5g, r %.4g", self.epochs, self.loss_[-1] if self.loss_ else float("nan"), r
        )

    def _quantile_r(self, x: torch.Tensor) -> float:
        self.net_.eval()
        return float(
            torch.quantile(predict(lambda b: self.net_(b).squeeze(1), x, self.eval_batch_size, self.device_), self.nu)
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        yhat = predict(lambda x: self.net_(x).squeeze(1), X, self.eval_batch_size, self.device_)
        return self.r_ - yhat.double().numpy()
