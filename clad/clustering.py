"""Stage 2 of CLAD, self-labeling: k-means on the autoencoder's latent codes (faiss or
scikit-learn), optionally refined by DEC (Xie, Girshick and Farhadi, ICML 2016).

A k-means object is built as `kmeans(n_clusters=k, random_state=seed)` and offers
`fit_predict(Z) -> labels` and `cluster_centers_`, so scikit-learn's KMeans fits as is.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.cluster import kmeans_plusplus
from torch import nn

from clad.base import check_param
from clad.training import fit_epochs, predict

log = logging.getLogger(__name__)


def faiss_gpu_count() -> int:
    import faiss

    return int(getattr(faiss, "get_num_gpus", lambda: 0)())


class FaissKMeans:
    """k-means through faiss, on the GPU when faiss sees one (faiss-gpu), else on the CPU.

    faiss's default max_points_per_centroid (256) silently subsamples the data, so it is set
    explicitly here; by default high enough that every point is used. Each of the `nredo`
    restarts starts from k-means++ seeds; the lowest objective wins."""

    def __init__(
        self,
        n_clusters: int = 10,
        niter: int = 50,
        nredo: int = 5,
        max_points_per_centroid: int = 100_000,
        random_state: int = 0,
        use_gpu: str | bool = "auto",
    ):
        self.n_clusters = n_clusters
        self.niter = niter
        self.nredo = nredo
        self.max_points_per_centroid = max_points_per_centroid
        self.random_state = random_state
        self.use_gpu = use_gpu

    def fit_predict(self, Z: np.ndarray) -> np.ndarray:
        import faiss

        check_param("FaissKMeans", "n_clusters", self.n_clusters, low=1, integer=True)
        for name in ("niter", "nredo", "max_points_per_centroid"):
            check_param("FaissKMeans", name, getattr(self, name), low=1, integer=True)
        check_param("FaissKMeans", "random_state", self.random_state, low=0, integer=True)
        Z = np.ascontiguousarray(Z, dtype=np.float32)
        if len(Z) < self.n_clusters:
            raise ValueError(f"cannot make {self.n_clusters} clusters of {len(Z)} points")
        if self.use_gpu not in ("auto", True, False):
            raise ValueError(f"use_gpu must be 'auto', true or false; got {self.use_gpu!r}")
        gpu = faiss_gpu_count() > 0 if self.use_gpu == "auto" else bool(self.use_gpu)
        best = None
        for redo in range(self.nredo):
            # faiss seeds from k random points; k-means++ seeding avoids merged clusters that a
            # handful of random restarts often keeps (tests/test_clad.py).
            init, _ = kmeans_plusplus(Z, self.n_clusters, random_state=int(self.random_state) + redo)
            km = faiss.Kmeans(
                Z.shape[1],
                self.n_clusters,
                niter=self.niter,
                nredo=1,
                seed=int(self.random_state) + redo,
                max_points_per_centroid=self.max_points_per_centroid,
                min_points_per_centroid=1,
                gpu=gpu,
                verbose=False,
            )
            km.train(Z, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
            if best is None or km.obj[-1] < best.obj[-1]:
                best = km
        _, labels = best.index.search(Z, 1)
        self.cluster_centers_ = best.centroids.copy()
        self.inertia_ = float(best.obj[-1])
        log.info(
            "faiss k-means (%s): %d points, k=%d, best objective of %d restarts %.4g",
            "gpu" if gpu else "cpu",
            len(Z),
            self.n_clusters,
            self.nredo,
            self.inertia_,
        )
        return labels[:, 0].astype(np.int64)


def default_kmeans(n_clusters: int, random_state: int) -> FaissKMeans:
    """The k-means used when a detector is built without one (outside Hydra)."""
    return FaissKMeans(n_clusters=n_clusters, random_state=random_state)


def soft_assign(z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """DEC's Student-t similarity q_ij between codes and cluster centres, rows summing to 1."""
    q = (1.0 + torch.cdist(z, centers).pow(2) / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's sharpened target p_ij = (q_ij^2 / f_j) / sum_j'(...), f_j = sum_i q_ij."""
    w = q.pow(2) / q.sum(dim=0)
    return w / w.sum(dim=1, keepdim=True)


class DEC(BaseEstimator):
    """Refines the encoder and the k-means centres jointly by minimising KL(P || Q) with SGD;
    stops when fewer than `tol` of the labels change between epochs (0.1% in the paper).

    A scikit-learn estimator holding settings only: CLAD clones it in fit (as scikit-learn does with
    a sub-estimator), so CLAD's `dec` stays as built, and its settings are CLAD's nested parameters
    (`dec__max_epochs`)."""

    def __init__(
        self,
        max_epochs: int = 100,
        tol: float = 0.001,
        lr: float = 0.01,
        momentum: float = 0.9,
        batch_size: int = 256,
        alpha: float = 1.0,
    ):
        self.max_epochs = max_epochs
        self.tol = tol
        self.lr = lr
        self.momentum = momentum
        self.batch_size = batch_size
        self.alpha = alpha

    def check_params(self) -> None:
        """Raise ValueError naming a bad setting; CLAD calls this before it trains anything.
        `max_epochs=0` is accepted: the k-means labels are kept unrefined (with a warning)."""
        check_param("DEC", "max_epochs", self.max_epochs, low=0, integer=True)
        check_param("DEC", "tol", self.tol, low=0, high=1)
        check_param("DEC", "lr", self.lr, low=0, low_open=True)
        check_param("DEC", "momentum", self.momentum, low=0, high=1, high_open=True)
        check_param("DEC", "batch_size", self.batch_size, low=1, integer=True)
        check_param("DEC", "alpha", self.alpha, low=0, low_open=True)

    def refine(
        self,
        encoder: nn.Module,
        X: torch.Tensor,
        centers: np.ndarray,
        generator: torch.Generator,
        precision: str = "auto",
    ) -> tuple[np.ndarray, dict]:
        """`X` is the encoder's input on its device; trains `encoder` in place (`precision`: the training's
        autocast, clad.training.autocast_dtype). Returns the refined labels and a record of the run
        (epochs, gradient steps, per-epoch KL loss and label change)."""
        self.check_params()
        if self.max_epochs == 0:
            log.warning("DEC: max_epochs=0: the k-means clusters are not refined")
        device = X.device
        mu = nn.Parameter(torch.as_tensor(centers, dtype=torch.float32, device=device))
        opt = torch.optim.SGD(list(encoder.parameters()) + [mu], lr=self.lr, momentum=self.momentum)
        changes: list[float] = []
        state = {}

        def assign() -> torch.Tensor:  # the labels now, and the sharpened target P the next epoch fits
            encoder.eval()
            q = predict(lambda x: soft_assign(encoder(x), mu.detach(), self.alpha), X, 1024, device).to(device)
            state["p"] = target_distribution(q)
            return q.argmax(dim=1)

        def loss_fn(idx: torch.Tensor) -> torch.Tensor:
            log_q = soft_assign(encoder(X[idx]), mu, self.alpha).clamp_min(1e-12).log()
            return F.kl_div(log_q, state["p"][idx], reduction="batchmean")

        def after_epoch(epoch: int) -> bool:  # stop when fewer than `tol` of the labels changed
            if epoch + 1 == self.max_epochs:
                return True  # the last epoch: the final labels are assigned below
            labels = assign()
            changes.append((labels != state["labels"]).float().mean().item())
            state["labels"] = labels
            if changes[-1] < self.tol:
                log.info("DEC stopped after %d epochs: %.3f%% of labels changed", epoch + 1, 100 * changes[-1])
                return True
            return False

        state["labels"] = assign() if self.max_epochs > 0 else None
        losses = fit_epochs(
            encoder,
            loss_fn,
            len(X),
            self.max_epochs,
            self.batch_size,
            opt,
            generator,
            "dec",
            on_epoch=after_epoch,
            precision=precision,
        )
        steps = len(losses) * math.ceil(len(X) / self.batch_size)
        encoder.eval()
        q = predict(lambda x: soft_assign(encoder(x), mu.detach(), self.alpha), X, 1024, device)
        record = {"epochs": len(losses), "steps": steps, "loss_history": losses, "label_change_history": changes}
        return q.argmax(dim=1).numpy().astype(np.int64), record
