"""Decode once: a cache of decoded uint8 arrays per dataset and part (train/test).

A cache file is `<cache_dir>/<dataset>-<part>-<key>.npz` (uncompressed), where `key` hashes the
source (every file's path, size and modification time), the preprocessing parameters (image size,
channels, classes) and the cache format. Changing a source file or a parameter therefore changes
the key and decodes again; stale files are left for the user to delete. Hidden files and folders
(any name starting with '.', e.g. `.DS_Store`, macOS `._*` files, a cache kept inside the data root)
are not part of a source, here as in the decoder (`is_hidden`). Writes go to a temp file
in the cache folder and are renamed into place, so the parallel jobs of a sweep may build the same
entry at once: each reader sees either no file or a whole one. An unwritable cache folder or an
unreadable cache file only logs a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from clad.io import atomic_write

log = logging.getLogger(__name__)

# Bump when the arrays a loader stores change meaning.
# 2: class folders in natural order (1, 2, 10 rather than 1, 10, 2), hidden files never decoded.
FORMAT_VERSION = 2
Arrays = dict[str, np.ndarray]


def is_hidden(name: str) -> bool:
    """The one rule for files and folders no loader reads: a name starting with '.'."""
    return name.startswith(".")


def _walk(path: Path) -> Iterable[tuple[str, int, int]]:
    """(path, size, mtime_ns) of a file, or of every non-hidden file under a folder."""
    if path.is_file():
        st = path.stat()
        yield str(path), st.st_size, st.st_mtime_ns
        return
    stack = [path]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for e in entries:
                if is_hidden(e.name):  # e.g. .DS_Store, ._img.png, a cache folder inside the data root
                    continue
                if e.is_dir():
                    stack.append(Path(e.path))
                elif e.is_file():
                    st = e.stat()
                    yield e.path, st.st_size, st.st_mtime_ns


def fingerprint(sources: Iterable[Path | str]) -> str:
    """A hash of the absolute path, size and modification time of every file under `sources`."""
    h = hashlib.sha256()
    for src in sources:
        src = Path(src).resolve()
        for row in sorted(_walk(src)):
            h.update(f"{row[0]}\0{row[1]}\0{row[2]}\n".encode())
    return h.hexdigest()


def cache_key(dataset: str, part: str, sources: Iterable[Path | str], params: dict[str, Any]) -> str:
    payload = json.dumps(
        {"format": FORMAT_VERSION, "dataset": dataset, "part": part, "params": params, "source": fingerprint(sources)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _save_atomic(path: Path, arrays: Arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def cached(
    cache_dir: str | Path | None,
    dataset: str,
    part: str,
    sources: Iterable[Path | str],
    params: dict[str, Any],
    build: Callable[[], Arrays],
) -> Arrays:
    """Return `build()`'s arrays, from the cache when an entry for this source and params exists.

    `cache_dir=None` disables the cache. Arrays must be numeric or fixed-width strings (no pickles).
    """
    if cache_dir is None:
        return build()
    path = Path(cache_dir).expanduser() / f"{dataset}-{part}-{cache_key(dataset, part, sources, params)}.npz"
    if path.is_file():
        t0 = time.perf_counter()
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            log.info("%s %s: loaded from cache %s in %.2fs", dataset, part, path, time.perf_counter() - t0)
            return arrays
        except Exception as err:  # a damaged file (disk full, manual edit): decode again and overwrite it
            log.warning("%s %s: cache file %s is unreadable (%s); decoding again", dataset, part, path, err)
    arrays = build()
    try:
        _save_atomic(path, arrays)
        log.info("%s %s: cached to %s", dataset, part, path)
    except OSError as err:
        log.warning(
            "%s %s: cannot write the cache to %s (%s); continuing without it (set paths.cache_dir or $CLAD_CACHE)",
            dataset,
            part,
            path,
            err,
        )
    return arrays
