"""Small seeded synthetic problems made in the tests, and seeded torch randomness that leaves the
global generator as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def seeded(seed: int = 0) -> Iterator[None]:
    """Seed torch's global generator inside the block (network initialisation, torch.rand without a
    generator) and restore its state after it, so no test changes another test's random draws."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def uniform_images(n: int, shape: tuple[int, ...] = (1, 8, 8), seed: int = 0) -> np.ndarray:
    """`n` float32 images of uniform noise in [0, 1)."""
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


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
    """Several hidden normal classes, other classes as anomalies. Return (train_x, test_x, test_y,
    train_class): train holds the first `n_normal` patterns only; test holds every pattern, test_y = 1
    for the anomalous ones. float32 (n, 1, size, size) in [0, 1]."""
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


def easy_problem(n_train: int = 300, n_test: int = 200, size: int = 16, seed: int = 0):
    """Normal: a bright horizontal bar on a faint noisy background; anomalies: a vertical bar on a
    strongly noisy one (easy enough for every detector even at budget=smoke).
    Returns float32 (n, 1, size, size) images in [0, 1] and test labels (1 = anomaly)."""
    rng = np.random.default_rng(seed)

    def draw(n: int, vertical: bool) -> np.ndarray:
        x = (0.5 if vertical else 0.1) * rng.random((n, size, size))
        pos = rng.integers(size // 4, 3 * size // 4, n)
        for i, p in enumerate(pos):
            if vertical:
                x[i, :, p - 1 : p + 1] = rng.uniform(0.7, 1.0)
            else:
                x[i, p - 1 : p + 1, :] = rng.uniform(0.7, 1.0)
        return x[:, None].astype(np.float32)

    test_y = np.repeat([0, 1], n_test // 2)
    test_x = np.concatenate([draw(n_test // 2, False), draw(n_test // 2, True)])
    return draw(n_train, False), test_x, test_y
