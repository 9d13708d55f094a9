"""The decoded-image cache: a second load does not decode; a changed source or parameter does; a
damaged or unwritable cache only warns; parallel builders of one entry leave one whole file."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from clad.data import cache as cache_mod
from clad.data import images
from clad.data.cache import cached, fingerprint
from clad.data.cifar10 import CLASSES, load_cifar10
from tests.helpers.files import write_folder


def _arrays(seed: int = 0):
    return {
        "x": np.random.default_rng(seed).integers(0, 256, (5, 1, 4, 4), dtype=np.uint8),
        "y": np.arange(5),
        "classes": np.array(["a", "b"]),
    }


def _counting_build(counter, seed=0):
    def build():
        counter.append(1)
        return _arrays(seed)

    return build


def test_second_load_reads_the_cache(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    calls: list[int] = []
    first = cached(tmp_path / "c", "ds", "train", [src], {"image_size": 4}, _counting_build(calls))
    second = cached(tmp_path / "c", "ds", "train", [src], {"image_size": 4}, _counting_build(calls))
    assert len(calls) == 1
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])
    assert second["classes"].tolist() == ["a", "b"]


def test_source_or_params_change_the_key(tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    (src / "f.png").write_bytes(b"abc")
    calls: list[int] = []
    cached(tmp_path / "c", "ds", "test", [src], {"image_size": 4}, _counting_build(calls))
    cached(tmp_path / "c", "ds", "test", [src], {"image_size": 8}, _counting_build(calls))  # preprocessing
    assert len(calls) == 2
    before = fingerprint([src])
    st = (src / "f.png").stat()
    os.utime(src / "f.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # modification time
    assert fingerprint([src]) != before
    (src / "g.png").write_bytes(b"")  # a new file
    (src / ".hidden").write_bytes(b"x")  # hidden entries (e.g. a cache inside the root) are ignored
    cached(tmp_path / "c", "ds", "test", [src], {"image_size": 4}, _counting_build(calls))
    assert len(calls) == 3


def test_damaged_cache_file_is_rebuilt(tmp_path, caplog):
    calls: list[int] = []
    cached(tmp_path / "c", "ds", "train", [], {}, _counting_build(calls))
    (f,) = (tmp_path / "c").glob("*.npz")
    f.write_bytes(b"garbage")
    out = cached(tmp_path / "c", "ds", "train", [], {}, _counting_build(calls))
    assert len(calls) == 2 and "unreadable" in caplog.text and out["x"].shape == (5, 1, 4, 4)
    assert np.load(f)["x"].shape == (5, 1, 4, 4)  # overwritten with a whole file


def test_unwritable_cache_only_warns(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = cached(blocker / "c", "ds", "train", [], {}, lambda: _arrays())
    assert out["x"].shape == (5, 1, 4, 4) and "cannot write the cache" in caplog.text
    assert cached(None, "ds", "train", [], {}, lambda: _arrays())["y"].tolist() == list(range(5))


def test_parallel_builders_leave_one_whole_file(tmp_path, monkeypatch):
    barrier = threading.Barrier(4)
    real_save = cache_mod._save_atomic

    def slow_save(path, arrays):  # all four write at once
        barrier.wait(timeout=10)
        real_save(path, arrays)

    monkeypatch.setattr(cache_mod, "_save_atomic", slow_save)
    results = [None] * 4

    def job(i):
        results[i] = cached(tmp_path / "c", "ds", "train", [], {}, lambda: _arrays())

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert len(files) == 1 and files[0].endswith(".npz"), files  # no temp file left behind
    for r in results:
        np.testing.assert_array_equal(r["x"], _arrays()["x"])


def test_loader_does_not_decode_twice(tmp_path, monkeypatch):
    for part in ("train", "test"):
        write_folder(tmp_path / "cifar10" / part, list(CLASSES), 1, size=32)
    first = load_cifar10(tmp_path, cache_dir=tmp_path / "cache")

    def no_decode(*a, **k):
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(images, "decode_images", no_decode)
    second = load_cifar10(tmp_path, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(first.test_x, second.test_x)
    with pytest.raises(AssertionError, match="decoded again"):
        load_cifar10(tmp_path, cache_dir=tmp_path / "cache", image_size=16)


def test_cached_arrays_are_readable_by_the_group(tmp_path):
    """The cache is shared: its files must not be owner-only (mkstemp's default), whatever the umask."""
    import os
    import stat

    import numpy as np

    from clad.data.cache import _save_atomic

    old = os.umask(0o077)
    try:
        _save_atomic(tmp_path / "sub" / "a.npz", {"x": np.arange(3)})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "sub" / "a.npz").stat().st_mode) & 0o044 == 0o044
