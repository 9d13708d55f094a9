"""One-Class Neural Network (Chalapathy, Menon and Chawla, "Anomaly Detection using One-Class
Neural Networks", arXiv 1802.06360, 2018): the encoder of CLAD's convolutional autoencoder,
pretrained on the normal images, followed by a one-hidden-layer net.

With z the encoder's code, yhat(x) = w . g(V z) minimises the paper's eq. 4,
    1/2 ||w||^2 + 1/2 ||V||_F^2 + 1/nu mean max(0, r - yhat(z)) - r,
by alternating minimisation: gradient steps on the network with r fixed, then r <- the nu-quantile of
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
TRAIN_ENCODER = ("none", "head", "all")


class OCNN(Detector):
    def __init__(
        self,
        nu: float = 0.1,
        hidden: int = 32,
        activation: str = "sigmoid",
        latent_dim: int = 32,
        ae_epochs: int = 20,
        epochs: int = 50,
        min_steps: int = 0,
        train_encoder: str = "all",
        standardize_codes: bool = False,
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
        self.min_steps = min_steps
        self.train_encoder = train_encoder
        self.standardize_codes = standardize_codes
        self.batch_size = batch_size
        self.lr = lr
        self.ae_lr = ae_lr
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _check_params(self, n: int) -> None:
        """`epochs` must be >= 1 (r of an untrained net ranks nothing); `ae_epochs=0` is accepted
        (the encoder starts untrained, with a warning)."""
        self._check("nu", low=0, high=1, low_open=True, high_open=True)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"OCNN: activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}")
        if self.train_encoder not in TRAIN_ENCODER:
            raise ValueError(f"OCNN: train_encoder must be one of {TRAIN_ENCODER}; got {self.train_encoder!r}")
        for name in ("hidden", "latent_dim", "epochs", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
        self._check("ae_epochs", low=0, integer=True)
        self._check("min_steps", low=0, integer=True)
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
            min_steps=self.min_steps,
        )
        encoder = self.ae_.encoder
        x = torch.from_numpy(X).to(self.device_)
        layers = [self.norm_, encoder]
        if self.standardize_codes:
            with torch.inference_mode():
                z = predict(lambda b: encoder(self.norm_(b)), x, self.eval_batch_size, self.device_)
            layers.append(CodeScaler(z.mean(0), z.std(0).clamp_min(1e-6)).to(self.device_))
        self.net_ = nn.Sequential(
            *layers,
            nn.Linear(self.latent_dim, self.hidden, bias=False),
            ACTIVATIONS[self.activation](),
            nn.Linear(self.hidden, 1, bias=False),
        ).to(self.device_)
        V, w = self.net_[-3].weight, self.net_[-1].weight
        trained = [V, w]
        if self.train_encoder == "all":
            trained += list(encoder.parameters())
        elif self.train_encoder == "head":
            trained += list(encoder.head.parameters())
        for p in encoder.parameters():
            p.requires_grad_(any(p is q for q in trained))
        opt = torch.optim.Adam(trained, lr=self.lr)
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
            self.net_,
            loss_fn,
            len(x),
            self.epochs,
            self.batch_size,
            opt,
            gen,
            "OCNN training",
            min_steps=self.min_steps,
            on_epoch=r_step,
        )
        for p in encoder.parameters():
            p.requires_grad_(True)
        self.net_.eval()
        self.r_ = state["r"]
        log.info("OCNN: final loss %.5g, r %.4g", self.loss_[-1] if self.loss_ else float("nan"), self.r_)

    def _quantile_r(self, x: torch.Tensor) -> float:
        self.net_.eval()
        return float(
            torch.quantile(predict(lambda b: self.net_(b).squeeze(1), x, self.eval_batch_size, self.device_), self.nu)
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        yhat = predict(lambda x: self.net_(x).squeeze(1), X, self.eval_batch_size, self.device_)
        return self.r_ - yhat.double().numpy()


class CodeScaler(nn.Module):
    """(z - mean) / std with the statistics of the training codes: a fixed affine map."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1).float())
        self.register_buffer("std", std.reshape(1, -1).float())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.std
