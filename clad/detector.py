"""CLAD: Confidence-based self-Labeling Anomaly Detection (Park, Moon, Ahn and Sohn, "What is Wrong
with One-Class Anomaly Detection?", ICLR 2021 workshop, arXiv 2104.09793).

1. a convolutional autoencoder learns latent codes of the normal images (MSE);
2. k-means on the codes, optionally refined by DEC, gives each image a pseudo-label;
3. a classifier learns (image, pseudo-label) with cross-entropy;
4. the anomaly score is the classifier's lack of confidence (ODIN by default; any score of clad.scores).

CLAD holds out `holdout` of its own training images from stage 3 (they are clustered, never
classified during training) to measure how well the classifier fits its pseudo-labels on images it
has not seen: a classifier that is not confidently right on normal images cannot separate them from
anomalies by confidence. `diagnostics_` records every stage (losses, steps, cluster sizes, held-out
accuracy) and `warnings` when a run falls short of the convergence rule (see `check_convergence`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.base import clone
from torch import nn

from clad.base import Detector, NotFittedError, check_images
from clad.clustering import DEC, default_kmeans
from clad.nets import SmallCNN
from clad.scores import Score, make_score
from clad.training import (
    check_autoencoder_params,
    classifier_layout,
    predict,
    pretrain_autoencoder,
    train_classifier,
)

log = logging.getLogger(__name__)

MIN_HOLDOUT_ACCURACY = 0.95  # a classifier below this on held-out pseudo-labels has not converged
MIN_CLUSTER_SHARE = 0.01  # a cluster under 1% of the images has (nearly) collapsed


def check_convergence(holdout_accuracy: float | None, cluster_sizes: np.ndarray) -> list[str]:
    """The convergence rule: the problems a run should report (empty when it converged)."""
    problems = []
    if holdout_accuracy is not None and holdout_accuracy < MIN_HOLDOUT_ACCURACY:
        problems.append(
            f"classifier accuracy on held-out pseudo-labels {holdout_accuracy:.3f} < {MIN_HOLDOUT_ACCURACY}"
        )
    share = cluster_sizes.min() / max(cluster_sizes.sum(), 1)
    if share < MIN_CLUSTER_SHARE:
        problems.append(f"smallest cluster holds {100 * share:.2f}% of the images (< {100 * MIN_CLUSTER_SHARE:.0f}%)")
    return problems


class CLAD(Detector):
    """The parts of stages 2 and 3 arrive built, never as configs: `kmeans` and `classifier` are
    factories (partials) that fit calls with what only it knows (k and the seed; the input shape and
    k), and `dec` is a `DEC` holding settings (None: no refinement), cloned in fit. Fitting changes
    none of them, so `get_params()` is the same before and after fit."""

    def __init__(
        self,
        n_clusters: int = 10,
        latent_dim: int = 10,
        kmeans: Callable | None = None,
        dec: DEC | None = None,
        classifier: Callable[..., nn.Module] | None = None,
        score: str | Score = "odin",
        ae_epochs: int = 20,
        train_epochs: int = 20,
        min_steps: int = 0,
        ae_channels: tuple[int, ...] = (32, 64, 128),
        ae_hidden: int = 512,
        schedule: str = "constant",
        holdout: float = 0.1,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        eval_batch_size: int = 512,
        device: str = "auto",
        random_state: int | None = 0,
        save_codes: bool = False,
        channels_last: bool = True,
        precision: str = "auto",
    ):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.kmeans = kmeans
        self.dec = dec
        self.classifier = classifier
        self.score = score
        self.ae_epochs = ae_epochs
        self.train_epochs = train_epochs
        self.min_steps = min_steps
        self.ae_channels = ae_channels
        self.ae_hidden = ae_hidden
        self.schedule = schedule
        self.holdout = holdout
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.eval_batch_size = eval_batch_size
        self.device = device
        self.random_state = random_state
        self.save_codes = save_codes
        self.channels_last = channels_last
        self.precision = precision

    def _check_params(self, n: int) -> None:
        """Every setting that could fail after training is checked here, before any of it.

        `train_epochs` must be >= 1: a classifier that never trained scores nothing. `ae_epochs=0`
        is accepted and means "skip stage 1": the pseudo-labels come from k-means on the codes of an
        untrained (randomly initialised) encoder, a warning says so (clad.training.pretrain_autoencoder)."""
        self._check_scoring_params()
        self._check("n_clusters", integer=True)
        if not 2 <= self.n_clusters <= n:
            raise ValueError(f"CLAD: n_clusters must be between 2 and the {n} training images; got {self.n_clusters}")
        check_autoencoder_params(self, min_epochs=0)  # stage 1's settings, as ae_recon and latent_kmeans check them
        self._check("train_epochs", low=1, integer=True)
        self._check("holdout", low=0, high=0.5, high_open=True)
        if self.dec is not None:
            self.dec.check_params()

    def _fit(self, X: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(self.random_state_)
        diag: dict = {"n_fit": len(X)}
        clock = _StageClock(self.device_)  # wall seconds of each stage, for a profile: diag["seconds_<stage>"]

        # Stage 1: latent codes of the normal images.
        norm, ae = pretrain_autoencoder(
            X,
            self.latent_dim,
            self.ae_epochs,
            self.batch_size,
            self.lr,
            self.weight_decay,
            self.device_,
            gen,
            min_steps=self.min_steps,
            channels=tuple(self.ae_channels),
            hidden=self.ae_hidden,
            schedule=self.schedule,
            channels_last=self.channels_last,
            precision=self.precision,
        )
        diag.update(_stage("ae", ae.loss_history, len(X), self.batch_size))
        x = torch.from_numpy(X).to(self.device_)
        xs = norm(x)
        codes = predict(ae.encoder, xs, self.eval_batch_size, self.device_).numpy()
        diag["seconds_ae"] = clock.lap()

        # Stage 2: self-labeling, on every training image.
        kmeans = self.kmeans or default_kmeans
        km = kmeans(n_clusters=self.n_clusters, random_state=self.random_state_)
        labels = km.fit_predict(codes)
        diag["kmeans_cluster_sizes"] = np.bincount(labels, minlength=self.n_clusters).tolist()
        diag["seconds_kmeans"] = clock.lap()
        if self.dec is not None:
            kmeans_labels = labels
            labels, record = clone(self.dec, safe=False).refine(
                ae.encoder, xs, km.cluster_centers_, gen, precision=self.precision
            )
            diag.update(
                dec_epochs=record["epochs"],
                dec_steps=record["steps"],
                dec_loss_history=record["loss_history"],
                dec_final_loss=record["loss_history"][-1] if record["loss_history"] else None,
                dec_label_change_history=record["label_change_history"],
                dec_changed_from_kmeans=float((labels != kmeans_labels).mean()),
                seconds_dec=clock.lap(),
            )
        self.pseudo_labels_ = labels
        self.cluster_sizes_ = np.bincount(labels, minlength=self.n_clusters)
        diag.update(
            cluster_sizes=self.cluster_sizes_.tolist(),
            cluster_min_share=float(self.cluster_sizes_.min() / len(X)),
            cluster_max_share=float(self.cluster_sizes_.max() / len(X)),
        )
        log.info("pseudo-label cluster sizes: %s", self.cluster_sizes_.tolist())
        # With save_codes, the codes the pseudo-labels come from (after DEC), for a t-SNE (run.py writes codes.npz).
        self.codes_ = predict(ae.encoder, xs, self.eval_batch_size, self.device_).numpy() if self.save_codes else None

        clock.lap()  # the codes of save_codes are not stage 3's time
        # Stage 3: a classifier of (image, pseudo-label); it standardizes its own [0, 1] input.
        # A seeded part of the images is held out to measure the fit on unseen normal images.
        order = torch.randperm(len(X), generator=gen)
        n_hold = int(round(self.holdout * len(X)))
        hold, train = order[:n_hold].to(self.device_), order[n_hold:].to(self.device_)
        make = self.classifier or SmallCNN
        self.model_ = nn.Sequential(norm, make(tuple(X.shape[1:]), self.n_clusters)).to(self.device_)
        self.model_ = self.model_.to(memory_format=classifier_layout(self.device_, self.precision, self.channels_last))
        y = torch.from_numpy(labels.astype(np.int64)).to(self.device_)  # scikit-learn's KMeans gives int32
        holdout_history: list[float] = []

        def holdout_accuracy(epoch: int) -> None:
            if n_hold:
                self.model_.eval()
                pred = predict(self.model_, x[hold], self.eval_batch_size, self.device_).argmax(1)
                holdout_history.append(float((pred == y[hold].cpu()).float().mean()))

        history = train_classifier(
            self.model_,
            x[train],
            y[train],
            self.train_epochs,
            self.batch_size,
            self.lr,
            self.weight_decay,
            gen,
            min_steps=self.min_steps,
            schedule=self.schedule,
            on_epoch=holdout_accuracy,
            precision=self.precision,
        )
        self.model_.eval()
        train_pred = predict(self.model_, x[train], self.eval_batch_size, self.device_).argmax(1)
        diag.update(
            _stage("clf", history, len(train), self.batch_size),
            clf_train_accuracy=float((train_pred == y[train].cpu()).float().mean()),
            clf_holdout_accuracy=holdout_history[-1] if holdout_history else None,
            clf_holdout_accuracy_history=holdout_history,
            n_holdout=n_hold,
            seconds_clf=clock.lap(),
        )
        # Stage 4's setup (feature scores: the classifier's training images and pseudo-labels, never the held-out ones).
        self.classifier_index_ = train.cpu().numpy()
        self.score_ = make_score(self.score).setup(self.model_, x[train], y[train], self.eval_batch_size, self.device_)
        diag["seconds_score_setup"] = clock.lap()
        diag["warnings"] = check_convergence(diag["clf_holdout_accuracy"], self.cluster_sizes_)
        for problem in diag["warnings"]:
            log.warning("CLAD did not converge: %s", problem)
        self.diagnostics_ = diag

    def setup_score(self, X) -> CLAD:
        """Stage 4 again without refitting stages 1-3 (fit once, score many): set up `self.score`, as
        changed by set_params, on `X`, the images this detector was fitted on (the same array, in the
        same order: the score is set up on the classifier's share of them, as fit does). Needed only
        for a feature score (knn, mahalanobis, react) that differs from the fitted one. Returns self."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("CLAD is not fitted yet; call fit(X) first")
        self._check_device()
        X = check_images(X)
        if len(X) != self.diagnostics_["n_fit"] or tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"CLAD.setup_score needs the {self.diagnostics_['n_fit']} training images of shape {self.input_shape_} "
                f"that fit saw; got {len(X)} of shape {tuple(X.shape[1:])}"
            )
        x = torch.from_numpy(X[self.classifier_index_]).to(self.device_)
        y = torch.from_numpy(self.pseudo_labels_[self.classifier_index_].astype(np.int64)).to(self.device_)
        self.score_ = self._check_scoring_params().setup(self.model_, x, y, self.eval_batch_size, self.device_)
        return self

    def _check_scoring_params(self) -> Score:
        """The score `_score` uses, as a fresh object (checked at fit and again at scoring, as set_params may change it)."""
        self._check("eval_batch_size", low=1, integer=True)
        return make_score(self.score)

    def _current_score(self) -> Score:
        """The fitted score, updated to `self.score` when set_params changed it after fit: a score
        that needs no setup (msp, energy, odin, ...) is simply swapped, so an ablation over scores or
        their temperature reuses one fit; a feature score with other setup needs setup_score(X) (or a new fit)."""
        wanted = self._check_scoring_params()
        if not hasattr(self, "score_"):  # saved without its feature score (clad.experiment.save_model)
            if wanted.needs_setup:
                raise ValueError(f"CLAD: {type(wanted).__name__} is not set up after loading; call setup_score(X)")
            return wanted
        if type(wanted) is type(self.score_):
            return self.score_.set_params(**wanted.get_params())  # a changed setup parameter raises in the score
        if not wanted.needs_setup:
            return wanted
        raise ValueError(
            f"CLAD: score changed to {type(wanted).__name__} after fit, which needs the training features; "
            "call setup_score(X) with the training images, or fit again"
        )

    def _score(self, X: np.ndarray) -> np.ndarray:
        score = self._current_score()
        x = torch.from_numpy(X)
        out = [
            score(self.model_, x[i : i + self.eval_batch_size].to(self.device_)).cpu()
            for i in range(0, len(x), self.eval_batch_size)
        ]
        return torch.cat(out).numpy()


class _StageClock:
    """Wall seconds since the last lap (waiting for the GPU's queued work first, so a stage is charged its own)."""

    def __init__(self, device: torch.device):
        self.device = torch.device(device)
        self.last = time.perf_counter()

    def lap(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        return seconds


def _stage(prefix: str, history: list[float], n: int, batch_size: int) -> dict:
    """A training stage's record: epochs, gradient steps, final loss and the per-epoch losses."""
    return {
        f"{prefix}_epochs": len(history),
        f"{prefix}_steps": len(history) * math.ceil(n / batch_size),
        f"{prefix}_final_loss": history[-1] if history else None,
        f"{prefix}_loss_history": history,
    }
