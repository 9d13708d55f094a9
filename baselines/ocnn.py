"""One-Class Neural Network (Chalapathy, Menon and Chawla, "Anomaly Detection using One-Class
Neural Networks", arXiv 1802.06360, 2018): the encoder of CLAD's convolutional autoencoder,
pretrained on the normal images, followed by a one-hidden-layer net, trained end to end.

With f(x) the encoder's features, yhat(x) = w . g(V f(x)) minimises the paper's eq. 4,
    1/2 ||w||^2 + 1/2 ||V||_F^2 + 1/nu mean max(0, r - yhat(x)) - r,
by alternating minimisation: gradient steps on the network (encoder, V, w) with r fixed, then r <- the
nu-quantile of yhat on the training data (the closed-form optimum in r). The score is r - yhat: > 0 outside.

Departures (issue 13, measured on the embedded digits only; results/baselines_diagnosis.md, part 2):
- `feature_norm="instance_relu"` (default): the code is instance-normalised (zero mean, unit variance
  across its features) and rectified before V. Eq. 4 separates the data from the *origin* with a
  hyperplane; on raw codes (any offset, any scale) the encoder can move every input, anomalies
  included, away from the origin, and the ranking stayed at chance (digits_cur 0.55). On non-negative
  unit-scale features the hyperplane is meaningful (as OC-CNN's ReLU after instance norm): 0.87.
- Training length: both stages take at least `ae_min_steps` / `min_steps` gradient steps (the paper
  trains its AE for 150 and OC-NN for 100 epochs; 5 epochs of 2 batches on digits learned nothing).
- lr 1e-4 (the public code's); 1e-3 on the joint encoder was worse. A frozen encoder
  (`train_encoder=False`) ranked at 0.62-0.65 on digits_cur, so the encoder is trained, as the paper says
  ("data representation in the hidden layer is driven by the OC-NN objective").
- The public code's MNIST path uses a hypersphere loss instead of eq. 4; we keep eq. 4.
- g = linear (`activation`, default since session 19; the paper offers linear and sigmoid): on the digits it was
  no worse than the sigmoid and spread less over seeds (digits_cur over six seeds 85.5 ± 3.5 against 84.1 ± 6.1;
  results/baselines_diagnosis.md, parts 8 and 10).
- `recon_weight` (opt-in, 0 by default = the paper): adds that weight times the autoencoder's reconstruction
  MSE to eq. 4 while the encoder trains, so the encoder cannot collapse every image onto one feature vector
  (with the default, the trained outputs are constant to ~1e-4 of r). Measured on digits_cur: 1.0 spreads the
  outputs 16x and ranks at chance (0.45-0.52; results/baselines_diagnosis.md, part 7); kept to reproduce that.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clad.base import Detector
from clad.training import check_precision, fit_epochs, predict, pretrain_autoencoder

log = logging.getLogger(__name__)

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "linear": nn.Identity}
FEATURE_NORMS = ("none", "instance_relu")


class InstanceNormReLU(nn.Module):
    """relu of each feature vector normalised to zero mean and unit variance across its features."""

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.relu(F.layer_norm(f, f.shape[1:]))


class OCNN(Detector):
    def __init__(
        self,
        nu: float = 0.1,
        hidden: int = 32,
        activation: str = "linear",
        latent_dim: int = 32,
        feature_norm: str = "instance_relu",
        train_encoder: bool = True,
        recon_weight: float = 0.0,
        ae_epochs: int = 20,
        epochs: int = 50,
        ae_min_steps: int = 0,
        min_steps: int = 0,
        batch_size: int = 128,
        lr: float = 1e-4,
        ae_lr: float = 1e-3,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
        precision: str = "auto",
    ):
        self.nu = nu
        self.hidden = hidden
        self.activation = activation
        self.latent_dim = latent_dim
        self.feature_norm = feature_norm
        self.train_encoder = train_encoder
        self.recon_weight = recon_weight
        self.ae_epochs = ae_epochs
        self.epochs = epochs
        self.ae_min_steps = ae_min_steps
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.lr = lr
        self.ae_lr = ae_lr
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state
        self.precision = precision

    def _check_params(self, n: int) -> None:
        """`epochs` must be >= 1 (r of an untrained net ranks nothing); `ae_epochs=0` is accepted
        (the encoder starts untrained and learns with the OC-NN objective alone, with a warning)."""
        check_precision("OCNN", self.precision)
        self._check("nu", low=0, high=1, low_open=True, high_open=True)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"OCNN: activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}")
        if self.feature_norm not in FEATURE_NORMS:
            raise ValueError(f"OCNN: feature_norm must be one of {FEATURE_NORMS}; got {self.feature_norm!r}")
        for name in ("hidden", "latent_dim", "epochs", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
        for name in ("ae_epochs", "ae_min_steps", "min_steps"):
            self._check(name, low=0, integer=True)
        self._check("lr", low=0, low_open=True)
        self._check("ae_lr", low=0, low_open=True)
        self._check("recon_weight", low=0)
        if self.recon_weight > 0 and not self.train_encoder:
            raise ValueError(
                f"OCNN: recon_weight must be 0 when train_encoder=False (a frozen encoder has nothing to keep); "
                f"got {self.recon_weight!r}"
            )

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
            min_steps=self.ae_min_steps,
            precision=self.precision,
        )
        encoder = self.ae_.encoder
        self.net_ = nn.Sequential(
            self.norm_,
            encoder,
            InstanceNormReLU() if self.feature_norm == "instance_relu" else nn.Identity(),
            nn.Linear(self.latent_dim, self.hidden, bias=False),
            ACTIVATIONS[self.activation](),
            nn.Linear(self.hidden, 1, bias=False),
        ).to(self.device_)
        V, w = self.net_[3].weight, self.net_[5].weight
        head = self.net_[2:]  # the feature norm, V, g, w
        trained = [V, w] + (list(encoder.parameters()) if self.train_encoder else [])
        if self.recon_weight > 0:
            trained += list(self.ae_.decoder.parameters())
        encoder.requires_grad_(self.train_encoder)
        opt = torch.optim.Adam(trained, lr=self.lr)
        x = torch.from_numpy(X).to(self.device_)
        state = {"r": self._quantile_r(x)}

        def loss_fn(idx: torch.Tensor) -> torch.Tensor:
            xb = self.norm_(x[idx])
            z = encoder(xb)
            yhat = head(z).squeeze(1)
            loss = (
                0.5 * w.pow(2).sum()
                + 0.5 * V.pow(2).sum()
                + torch.relu(state["r"] - yhat).mean() / self.nu
                - state["r"]
            )
            if self.recon_weight > 0:
                loss = loss + self.recon_weight * F.mse_loss(self.ae_.decoder(z), xb)
            return loss

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
            precision=self.precision,
        )
        encoder.requires_grad_(True)
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
