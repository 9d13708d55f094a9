"""Small synthetic image scenarios made in the tests: several hidden normal classes, other
classes as anomalies."""

from __future__ import annotations

import numpy as np


def _patterns(size: int) -> list[np.ndarray]:
    i, j = np.mgrid[:size, :size]
    c = (size - 1) / 2
    return [
        (i // 2 % 2).astype(float),  # horizontal bars
        (j // 2 % 2).astype(float),  # vertical bars
        ((abs(i - c) < size / 4) & (abs(j - c) < size / 4)) * 1.0,  # centred square
        ((i + j) // 2 % 2).astype(float),  # diagonal stripes
        ((i // 4 + j // 4) % 2).astype(float),  # checkerboard
        (abs(np.hypot(i - c, j - c) - size / 3) < 1.5) * 1.0,  # ring
    ]


def latent_multiclass(n_per_class: int = 100, size: int = 16, n_normal: int = 3, noise: float = 0.15, seed: int = 0):
    """Return (train_x, test_x, test_y, train_class): train holds the first `n_normal` patterns
    only; test holds every pattern, test_y = 1 for the anomalous ones. float32 (n, 1, size, size) in [0, 1]."""
    rng = np.random.default_rng(seed)
    pats = _patterns(size)

    def draw(k: int, n: int) -> np.ndarray:
        imgs = np.broadcast_to(pats[k], (n, size, size))
        imgs = imgs * rng.uniform(0.7, 1.0, (n, 1, 1)) + noise * rng.standard_normal(imgs.shape)
        return np.clip(imgs, 0, 1).astype(np.float32)[:, None]

    train_class = np.repeat(np.arange(n_normal), n_per_class)
    train_x = np.concatenate([draw(k, n_per_class) for k in range(n_normal)])
    test_class = np.repeat(np.arange(len(pats)), n_per_class // 2)
    test_x = np.concatenate([draw(k, n_per_class // 2) for k in range(len(pats))])
    return train_x, test_x, (test_class >= n_normal).astype(int), train_class
