"""CLAD: Confidence-based self-Labeling Anomaly Detection (Park, Moon, Ahn and Sohn, "What is Wrong
with One-Class Anomaly Detection?", ICLR 2021 workshop, arXiv 2104.09793).

1. a convolutional autoencoder learns latent codes of the normal images (MSE);
2. k-means on the codes, optionally refined by DEC, gives each image a pseudo-label;
3. a classifier learns (image, pseudo-label) with cross-entropy;
4. the anomaly score is the classifier's lack of confidence (ODIN by default, see clad.confidence).
"""
from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch
from torch import nn

from clad.base import Detector
from clad.clustering import default_kmeans
from clad.confidence import get_scorer
from clad.nets import SmallCNN
from clad.training import predict, pretrain_autoencoder, train_classifier

log = logging.getLogger(__name__)


class CLAD(Detector):
    def __init__(
        self,
        n_clusters: int = 10,
        latent_dim: int = 10,
        kmeans: Callable | None = None,
        dec: object | None = None,
        classifier: Callable[..., nn.Module] | None = None,
        score: str = "odin",
        temperature: float = 1000.0,
        epsilon: float = 0.001,
        eps_space: str = "pixel",
        pretrain_epochs: int = 20,
        train_epochs: int = 20,
        min_steps: int = 0,
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
        self.dec = dec
        self.classifier = classifier
        self.score = score
        self.temperature = temperature
        self.epsilon = epsilon
        self.eps_space = eps_space
        self.pretrain_epochs = pretrain_epochs
        self.train_epochs = train_epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        self._check_scoring_params()  # fail on a bad name before any training
        if not 2 <= self.n_clusters <= len(X):
            raise ValueError(f"n_clusters must be between 2 and the {len(X)} training images; got {self.n_clusters}")
        gen = torch.Generator().manual_seed(self.random_state_)

        # Stage 1: latent codes of the normal images.
        norm, ae = pretrain_autoencoder(X, self.latent_dim, self.pretrain_epochs, self.batch_size, self.lr, self.weight_decay, self.device_, gen, min_steps=self.min_steps)
        x = torch.from_numpy(X).to(self.device_)
        xs = norm(x)
        codes = predict(ae.encoder, xs, self.eval_batch_size, self.device_).numpy()

        # Stage 2: self-labeling.
        kmeans = self.kmeans or default_kmeans
        km = kmeans(n_clusters=self.n_clusters, random_state=self.random_state_)
        labels = km.fit_predict(codes)
        if self.dec is not None:
            labels = self.dec.refine(ae.encoder, xs, km.cluster_centers_, gen)
        self.pseudo_labels_ = labels
        self.cluster_sizes_ = np.bincount(labels, minlength=self.n_clusters)
        log.info("pseudo-label cluster sizes: %s", self.cluster_sizes_.tolist())

        # Stage 3: a classifier of (image, pseudo-label); it standardizes its own [0, 1] input.
        make = self.classifier or SmallCNN
        self.model_ = nn.Sequential(norm, make(self.input_shape_, self.n_clusters)).to(self.device_)
        y = torch.from_numpy(labels).to(self.device_)
        self.clf_loss_ = train_classifier(self.model_, x, y, self.train_epochs, self.batch_size, self.lr, self.weight_decay, gen, min_steps=self.min_steps)
        self.model_.eval()

    def _check_scoring_params(self):
        if self.eps_space not in ("pixel", "normalized"):
            raise ValueError(f"eps_space must be 'pixel' or 'normalized'; got {self.eps_space!r}")
        return get_scorer(self.score)

    def _score(self, X: np.ndarray) -> np.ndarray:
        # score, temperature and epsilon are read here, not in fit: an ablation over them reuses one fit.
        scorer = self._check_scoring_params()
        # "normalized": a step of eps on the standardized input is eps * std in pixels (model_[0] standardizes).
        eps_scale = self.model_[0].std.flatten() if self.eps_space == "normalized" else None
        x = torch.from_numpy(X)
        out = [
            scorer(self.model_, x[i : i + self.eval_batch_size].to(self.device_), self.temperature, self.epsilon, eps_scale).cpu()
            for i in range(0, len(x), self.eval_batch_size)
        ]
        return torch.cat(out).numpy()

