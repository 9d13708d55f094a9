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


@pytest.fixture(scope="module")
def one_thread():
    """One torch and faiss thread for a module of tiny models: they gain nothing from more, and on
    busy shared cores oversubscribed threads made the contract tests ~6x slower (350 s vs ~55 s)."""
    import faiss
    import torch

    torch_threads, faiss_threads = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    yield
    torch.set_num_threads(torch_threads)
    faiss.omp_set_num_threads(faiss_threads)


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

    from clad.record import register_resolvers

    register_resolvers()  # as run.py does: conf/hydra's folder names use ${uid:}
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"paths.output_dir={output_dir}", *overrides], return_hydra_config=True)
    HydraConfig().set_config(cfg)
    return cfg
