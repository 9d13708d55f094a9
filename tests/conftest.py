"""Shared fixtures: the repository's config folder, the real-data root (skips when absent), and a
composed config shrunk for tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"


def find_data_root() -> Path | None:
    """$CLAD_DATA if set, else ../shared/data beside the repository; None when neither exists."""
    env = os.environ.get("CLAD_DATA")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = find_data_root()
    if root is None:
        pytest.skip("real datasets not found: set CLAD_DATA or place them in ../shared/data")
    return root


def compose_cfg(output_dir, *overrides: str):
    """Compose conf/config.yaml as `python run.py <overrides>` would, for an in-process run.

    The Hydra config is registered too (as lightning-hydra-template does), so run() sees the
    chosen option names exactly as on the command line."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"paths.output_dir={output_dir}", *overrides], return_hydra_config=True)
    HydraConfig().set_config(cfg)
    return cfg
