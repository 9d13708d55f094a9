"""The repository, its config folder, the options of a config group, and the real-data root."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())


def options(group: str) -> list[str]:
    """The options of a config group: its `conf/<group>/*.yaml` files (the registry, e.g. every detector)."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


DETECTORS = options("detector")


def find_data_root() -> Path | None:
    """$CLAD_DATA if set, else ../shared/data beside the repository; None when neither exists."""
    env = os.environ.get("CLAD_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if candidate.is_dir():
            return candidate
    return None
