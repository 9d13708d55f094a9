"""Deep SVDD (Ruff, Vandermeulen, Goernitz, Deecke, Siddiqui, Binder, Mueller and Kloft, "Deep
One-Class Classification", ICML 2018), after the authors' PyTorch code (Deep-SVDD-PyTorch).

A bias-free LeNet-type network phi maps images close to a centre c:
- one-class:     min mean ||phi(x) - c||^2 + weight decay;             score ||phi(x) - c||^2
- soft-boundary: min R^2 + 1/nu mean max(0, ||phi(x) - c||^2 - R^2);    score ||phi(x) - c||^2 - R^2
The network is first pretrained as the encoder of an autoencoder; c is the mean output of an
initial forward pass. Inputs are preprocessed as in the paper: global contrast normalization (L1),
then min-max scaling with the training images' extremes. The networks and the preprocessing are
in baselines/deepsvdd_nets.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from baselines.deepsvdd_nets import GlobalContrastNorm, LeNetDecoder, LeNetEncoder
from clad.base import Detector, check_param
from clad.training import check_precision, fit_epochs, predict

log = logging.getLogger(__name__)

OBJECTIVES = ("one-class", "soft-boundary")


class DeepSVDD(Detector):
    """`channels=None` / `latent_dim=None` pick the paper's networks: (8, 4) -> 32 for one input channel
    (MNIST), (32, 64, 128) -> 128 for three (CIFAR-10)."""

    def __init__(
        self,
        objective: str = "one-class",
        nu: float = 0.1,
        channels: Sequence[int] | None = None,
        latent_dim: int | None = None,
        eps: float = 0.1,
        preprocess: str = "gcn",
        ae_epochs: int = 150,
        epochs: int = 150,
        warmup_epochs: int = 10,
        batch_size: int = 200,
        lr: float = 1e-4,
        weight_decay: float = 0.5e-6,
        ae_lr: float = 1e-4,
        ae_weight_decay: float = 0.5e-3,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
        precision: str = "auto",
    ):
        self.objective = objective
        self.nu = nu
        self.channels = channels
        self.latent_dim = latent_dim
        self.eps = eps
        self.preprocess = preprocess
        self.ae_epochs = ae_epochs
        self.epochs = epochs
        self.warmup_epochs = warmup_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.ae_lr = ae_lr
        self.ae_weight_decay = ae_weight_decay
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state
        self.precision = precision

    def _check_params(self, n: int) -> None:
        """`epochs` must be >= 1 (the one-class training is the method); `ae_epochs=0` is
        accepted and skips the autoencoder pretraining, with a warning."""
        check_precision("DeepSVDD", self.precision)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"DeepSVDD: objective must be one of {OBJECTIVES}; got {self.objective!r}")
        self._check("nu", low=0, high=1, low_open=True)
        if self.preprocess not in ("gcn", "none"):
            raise ValueError(f"DeepSVDD: preprocess must be 'gcn' or 'none'; got {self.preprocess!r}")
        if self.channels is not None:
            if len(self.channels) == 0:
                raise ValueError(
                    "DeepSVDD: channels must list at least one convolution width, or be null (the paper's); got []"
                )
            for i, width in enumerate(self.channels):
                check_param("DeepSVDD", f"channels[{i}]", width, low=1, integer=True)
        self._check("latent_dim", low=1, integer=True, optional=True)
        self._check("eps", low=0)
        for name in ("epochs", "batch_size", "eval_batch_size"):
            self._check(name, low=1, integer=True)
        for name in ("ae_epochs", "warmup_epochs"):
            self._check(name, low=0, integer=True)
        for name in ("lr", "ae_lr"):
            self._check(name, low=0, low_open=True)
        for name in ("weight_decay", "ae_weight_decay"):
            self._check(name, low=0)

    def _fit(self, X: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(self.random_state_)
        x = torch.from_numpy(X).to(self.device_)
        norm = (GlobalContrastNorm.fit(x) if self.preprocess == "gcn" else nn.Identity()).to(self.device_)
        xn = norm(x)
        shape = tuple(X.shape[1:])
        rgb = shape[0] > 1
        channels = tuple(self.channels or ((32, 64, 128) if rgb else (8, 4)))
        latent_dim = self.latent_dim or (128 if rgb else 32)
        encoder = LeNetEncoder(shape, channels, latent_dim).to(self.device_)

        # Pretraining: the network is the encoder of an autoencoder trained with MSE.
        if self.ae_epochs > 0:
            ae = nn.Sequential(encoder, LeNetDecoder(encoder, shape[0], latent_dim)).to(self.device_)
            opt = torch.optim.Adam(ae.parameters(), lr=self.ae_lr, weight_decay=self.ae_weight_decay)
            self.ae_loss_ = fit_epochs(
                ae,
                lambda idx: ((ae(xn[idx]) - xn[idx]) ** 2).mean(),
                len(xn),
                self.ae_epochs,
                self.batch_size,
                opt,
                gen,
                "DeepSVDD autoencoder pretraining",
                precision=self.precision,
            )
        else:
            log.warning(
                "DeepSVDD: ae_epochs=0: no autoencoder pretraining, the network starts from its random initialisation"
            )

        # Centre: the mean of an initial forward pass. A coordinate near zero is pushed to +-eps:
        # a zero coordinate could be matched trivially by zero weights (a collapse towards c).
        z = predict(encoder.eval(), xn, self.eval_batch_size, self.device_)
        c = z.mean(dim=0)
        near = c.abs() < self.eps
        c[near] = torch.where(c[near] < 0, -self.eps, self.eps)
        self.center_ = c.to(self.device_)
        self.pretrained_state_ = {k: v.detach().clone() for k, v in encoder.state_dict().items()}

        self.radius_ = 0.0
        self.loss_ = self._train(encoder, xn, gen)
        self.model_ = nn.Sequential(norm, encoder).eval()

    def _train(self, net: nn.Module, xn: torch.Tensor, gen: torch.Generator) -> list[float]:
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        soft = self.objective == "soft-boundary"
        state = {"R2": torch.tensor(0.0, device=self.device_), "epoch": 0}

        def loss_fn(idx: torch.Tensor) -> torch.Tensor:
            dist = ((net(xn[idx]) - self.center_) ** 2).sum(dim=1)
            if not soft:
                return dist.mean()
            loss = state["R2"] + (1.0 / self.nu) * torch.relu(dist - state["R2"]).mean()
            if state["epoch"] >= self.warmup_epochs:
                # R is not trained by gradient: after the warm-up it is the (1 - nu) quantile of the
                # batch's distances, so that about a fraction nu of the points lies outside the sphere.
                state["R2"] = torch.quantile(dist.detach().sqrt(), 1.0 - self.nu) ** 2
            return loss

        def next_epoch(epoch: int) -> None:
            state["epoch"] = epoch + 1

        history = fit_epochs(
            net,
            loss_fn,
            len(xn),
            self.epochs,
            self.batch_size,
            opt,
            gen,
            f"DeepSVDD {self.objective} training",
            on_epoch=next_epoch,
            precision=self.precision,
        )
        R2 = state["R2"]
        self.radius_ = float(R2.sqrt())
        if history:
            log.info(
                "DeepSVDD %s: %d epochs, final loss %.5g, R %.4g",
                self.objective,
                self.epochs,
                history[-1],
                self.radius_,
            )
        return history

    def _score(self, X: np.ndarray) -> np.ndarray:
        z = predict(self.model_, X, self.eval_batch_size, self.device_)
        dist = ((z - self.center_.cpu()) ** 2).sum(dim=1)
        return (dist - self.radius_**2).double().numpy() if self.objective == "soft-boundary" else dist.double().numpy()
