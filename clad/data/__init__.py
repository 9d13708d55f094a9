"""Datasets (each loader returns an `ImageDataset` of uint8 images) and normal/anomaly splits.

Loaders: digits (embedded), mnist, cifar10, gtsrb, tiny_imagenet, image_folder; each is the
`_target_` of a conf/dataset/<name>.yaml. Decoded images are cached (clad/data/cache.py)."""

from clad.data.base import AnomalySplit, ImageDataset, make_split, to_float
from clad.data.images import CorruptImageError, DatasetNotFoundError

__all__ = ["AnomalySplit", "CorruptImageError", "DatasetNotFoundError", "ImageDataset", "make_split", "to_float"]
