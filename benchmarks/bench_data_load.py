"""Benchmark: wall time and peak memory of the first (decoding) and the second (cached) load of each
real dataset found under the data root, written to results/data_load.{csv,md}.

    python benchmarks/bench_data_load.py                       # data root: $CLAD_DATA or ../shared/data
    python benchmarks/bench_data_load.py --repeats 3 --datasets cifar10 gtsrb

Every load runs in a fresh Python process (so the peak RSS is that load's alone, on top of the
interpreter and imports, which are measured before the load). Each repeat uses a new, empty cache
folder: load 1 decodes and writes the cache, load 2 reads it. Loading is deterministic (no seed).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOADERS = {  # dataset -> (loader, the path under the root that must exist)
    "mnist": ("clad.data.mnist:load_mnist", "MNIST/raw"),
    "cifar10": ("clad.data.cifar10:load_cifar10", "cifar10"),
    "gtsrb": ("clad.data.gtsrb:load_gtsrb", "gtsrb"),
    "tiny_imagenet": ("clad.data.tiny_imagenet:load_tiny_imagenet", "tiny-imagenet-200"),
}
FIELDS = [
    "dataset",
    "repeat",
    "load",
    "seconds",
    "rss_before_mib",
    "peak_rss_mib",
    "n_train",
    "n_test",
    "image_shape",
    "cache_mib",
]


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(dataset: str, root: str, cache_dir: str) -> None:
    """One load in this process; prints a JSON line."""
    import importlib

    module, fn = LOADERS[dataset][0].split(":")
    loader = getattr(importlib.import_module(module), fn)
    kwargs = {}
    if dataset == "tiny_imagenet":
        from omegaconf import OmegaConf

        kwargs["classes"] = list(OmegaConf.load(REPO / "conf" / "dataset" / "tiny_imagenet.yaml").classes)
    before = _rss_mib()
    t0 = time.perf_counter()
    data = loader(root, cache_dir=cache_dir, **kwargs)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_mib": before,
                "peak_rss_mib": peak,
                "n_train": len(data.train_x),
                "n_test": len(data.test_x),
                "image_shape": "x".join(map(str, data.image_shape)),
            }
        )
    )


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.node()}: {cpu}, {os.cpu_count()} logical CPUs, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, load average at start {os.getloadavg()[0]:.1f}"


def versions() -> str:
    import numpy  # noqa: E401
    import PIL
    import torch
    import torchvision

    return f"Python {platform.python_version()}, numpy {numpy.__version__}, Pillow {PIL.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True
        ).stdout.strip()
        return out + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def run_one(dataset: str, root: Path, cache_dir: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", dataset, "--data-root", str(root), "--cache-dir", str(cache_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{dataset} load failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_markdown(path: Path, rows: list[dict], header: list[str]) -> None:
    lines = header + [
        "",
        "| dataset | images (train / test) | shape | load | seconds (median) | min - max | peak RSS MiB (median) | RSS before load MiB | peak minus before MiB | cache MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        for load in ("first", "cached"):
            rs = [r for r in rows if r["dataset"] == ds and r["load"] == load]
            secs = [r["seconds"] for r in rs]
            lines.append(
                f"| {ds} | {rs[0]['n_train']:,} / {rs[0]['n_test']:,} | {rs[0]['image_shape']} | {load} | {statistics.median(secs):.2f} | "
                f"{min(secs):.2f} - {max(secs):.2f} | {statistics.median(r['peak_rss_mib'] for r in rs):.0f} | "
                f"{statistics.median(r['rss_before_mib'] for r in rs):.0f} | "
                f"{statistics.median(r['peak_rss_mib'] - r['rss_before_mib'] for r in rs):.0f} | {rs[0]['cache_mib']:.1f} |"
            )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default=os.environ.get("CLAD_DATA", str(REPO.parent / "shared" / "data")))
    p.add_argument("--datasets", nargs="*", default=list(LOADERS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(REPO / "results"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return child(a.child, a.data_root, a.cache_dir)
    root = Path(a.data_root).resolve()
    todo = [d for d in a.datasets if (root / LOADERS[d][1]).exists()]
    skipped = [d for d in a.datasets if d not in todo]
    header = [
        "# Data loading: first (decoding) and cached load",
        "",
        f"- command: `python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}`".rstrip(),
        f"- date: {dt.datetime.now().isoformat(timespec='seconds')}; commit {git_commit()}",
        f"- data: {os.path.relpath(root, REPO)} (see its README.md); datasets: {', '.join(todo)}"
        + (f"; not present, skipped: {', '.join(skipped)}" if skipped else ""),
        "- seed: none (loading is deterministic); each load in a fresh process; "
        f"{a.repeats} repeats, each with a new empty cache folder (first = decode + write cache, cached = read it)",
        f"- machine: {machine()}",
        f"- software: {versions()}",
        '- peak RSS includes the interpreter and imports ("RSS before load"); numbers in data_load.csv',
    ]
    rows = []
    for ds in todo:
        for rep in range(a.repeats):
            cache_dir = Path(tempfile.mkdtemp(prefix=f"clad-bench-{ds}-"))
            try:
                for load in ("first", "cached"):
                    r = run_one(ds, root, cache_dir)
                    r.update(
                        dataset=ds,
                        repeat=rep,
                        load=load,
                        cache_mib=sum(f.stat().st_size for f in cache_dir.glob("*.npz")) / 2**20,
                    )
                    rows.append(r)
                    print(
                        f"{ds} repeat {rep} {load}: {r['seconds']:.2f}s, peak RSS {r['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
            finally:
                shutil.rmtree(cache_dir, ignore_errors=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "data_load.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(
            {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k in FIELDS} for r in rows
        )
    write_markdown(out / "data_load.md", rows, header)
    print(f"wrote {out / 'data_load.csv'} and {out / 'data_load.md'}")


if __name__ == "__main__":
    main()
