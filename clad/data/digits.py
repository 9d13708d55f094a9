"""scikit-learn's handwritten digits (1,797 8x8 images, shipped inside scikit-learn): the default
dataset, so the suite runs end to end with no download."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as _sk_load_digits
from sklearn.model_selection import train_test_split

from clad.data.base import ImageDataset
from clad.data.images import check_image_size, resize_batch


def load_digits(test_fraction: float = 0.5, split_seed: int = 0, image_size: int | None = None) -> ImageDataset:
    """A deterministic stratified train/test split; `split_seed` is the dataset's, not the run's,
    so every run and seed of a sweep sees the same test set. `image_size` (e.g. 28) resizes the
    8x8 images (bilinear, antialiased), so the development set can be run at MNIST's resolution,
    where the networks' feature maps have MNIST's sizes."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"dataset 'digits': test_fraction must be in (0, 1), got {test_fraction}")
    check_image_size(image_size, "digits")
    bunch = _sk_load_digits()
    # Pixel values are 0..16; rescale to the uint8 range every other dataset uses.
    images = resize_batch(np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :], image_size)
    labels = bunch.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=split_seed
    )
    return ImageDataset(
        name="digits",
        train_x=np.ascontiguousarray(train_x),
        train_y=train_y,
        test_x=np.ascontiguousarray(test_x),
        test_y=test_y,
        class_names=tuple(str(d) for d in range(10)),
    )
