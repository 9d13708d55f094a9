"""Fixtures only (the shared helpers are in tests/helpers/): one thread for modules of tiny models,
and the real-data root (skips when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.paths import find_data_root


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
