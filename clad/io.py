"""Atomic file writes, shared by the run record (clad/experiment.py) and the decoded-image cache
(clad/data/cache.py): write a temp file in the same folder, then rename it, so a reader never sees
half a file and a crash never leaves one; the file is made readable by the group and others
(mkstemp alone would leave it owner-only)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o644


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call `write(f)` on a temp file beside `path`, then rename it to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)  # atomic on one file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: dict[str, Any]) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))
