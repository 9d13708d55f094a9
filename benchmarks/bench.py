"""The suite's own speed, measured side by side in one process (issue 11). Writes results/benchmarks.json and
results/benchmarks.md and prints the JSON as its last line.

    python -m benchmarks.bench            # about 5 min on 2 CPU cores
    python -m benchmarks.bench --quick    # about 2 min: fewer steps and repeats, no parallel_slowdown

- peak_gflops: a large float32 matmul, the machine's own peak in this process.
- train: the training throughput (images/s) of CLAD's stage-1 autoencoder and stage-3 classifier at batch size
  128, 1x28x28 inputs, through clad.training's own loop; the classifier is `--classifier` (a conf/classifier/*.yaml
  built for 1x28x28: `by_shape`, CLAD's default since session 24, gives the one-block ResNet-16; `cnn` the small
  CNN that was the default, and is measured in results/benchmarks*.md made before session 25), with the FLOPs of one step
  (torch.utils.flop_counter, forward + backward) and the model FLOP utilisation they imply (MFU = FLOP rate / peak).
- odin: batched ODIN time over one plain forward pass of the same model on the same images (`odin_overhead`; its
  inherent cost is two forwards and one backward), and against a batch-1 loop (`odin_speedup`).
- kmeans: faiss (clad.clustering.FaissKMeans) against scikit-learn's KMeans at equal work (same k, 5 restarts with
  k-means++ seeds, 50 iterations), time and objective, on 16,000 x 10 (the size of mnist_cur's codes) and 100,000
  x 64 (k = 100) Gaussian mixtures.
- parallel_slowdown: the wall time of a default `python run.py` (one thread) beside an identical one, over its time
  alone with default threads (skipped with --quick).
- train_before: the same two training loops on the plain path (NCHW weights, `channels_last=False`), measured in the
  same process, interleaved with the fast path, twice each (the faster of the two kept); `train_speedup` = the fast
  path's images/s over the plain path's (issue 11's target: 2x). The fast path is CLAD's default: the autoencoder
  NHWC, the classifier NCHW in float32 on a CPU (kept for the committed tables; NHWC trains it 1.38x faster on an AMD
  EPYC, results/bench_bf16_cpu_epyc.md), NHWC on CUDA and under bf16 autocast (clad.training.classifier_layout).
- train_bf16 (CPU only): the fast path under bf16 autocast (`precision=bfloat16`), interleaved with the other two,
  its MFU against a bf16 matmul's peak; `train_speedup_bf16` = its images/s over the plain float32 path's. bf16 is
  opt-in on the CPU (`precision: auto` is float32 there); on CPUs with AMX it was 1.45-3.6x (results/benchmarks.md,
  results/bench_bf16_cpu.md).
- e2e (--e2e DETECTOR ...): wall time, fit time, peak resident memory (the child's own ru_maxrss, os.wait4) and AUROC
  of `python run.py dataset=mnist split=mnist_cur detector=NAME` at the default budget, one run at a time; a name
  `clad:plain` runs CLAD on the plain path (`+detector.channels_last=false`), `clad:bf16` with `precision=bfloat16`.
  Needs $CLAD_DATA (MNIST).
- growth (--growth DETECTOR ...): fit time at 2k, 4k, 8k and all ~16k `mnist_cur` training images
  (budget.max_train_per_class), and the log-log slope of fit time against n (scipy.stats.linregress).

`--device cuda` runs the in-process figures on a GPU (training under bf16 autocast, as clad.training does there,
MFU against a bf16 matmul; faiss k-means on the GPU when faiss's GPU build is installed).

Measure on an otherwise idle machine: other jobs on the cores change every number here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from scipy.stats import linregress
from sklearn.cluster import KMeans, kmeans_plusplus
from torch.utils.flop_counter import FlopCounterMode

from clad.clustering import FaissKMeans
from clad.nets import ConvAutoencoder, Standardize
from clad.record import provenance
from clad.scores import ODIN
from clad.training import classifier_layout, train_autoencoder, train_classifier

ROOT = Path(__file__).resolve().parents[1]

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_facts() -> dict:
    """The CPU's model name and which of CPU_FLAGS it has (Linux /proc/cpuinfo; empty elsewhere)."""
    info = Path("/proc/cpuinfo")
    text = info.read_text() if info.exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return {"cpu": model or platform.processor(), "flags": [f for f in CPU_FLAGS if f in flags]}


SHAPE = (1, 28, 28)
BATCH = 128


def sync() -> None:
    """Wait for queued GPU work, so that a wall clock measures it (nothing to wait for on the CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` calls of fn(), in seconds (after one warm-up call)."""
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_gflops(repeats: int, device: str = "cpu", dtype: torch.dtype | None = None) -> float:
    """A large matmul in the training's precision (float32 on the CPU, bfloat16 on a GPU: autocast's dtype)
    or in `dtype` when given."""
    dtype = dtype or (torch.bfloat16 if device == "cuda" else torch.float32)
    size = 8192 if device == "cuda" else 2048
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    return 2 * size**3 / best_time(lambda: a @ b, repeats) / 1e9


def step_flops(model: torch.nn.Module, loss_of) -> float:
    """FLOPs of one training step (forward + backward) on one batch."""
    with FlopCounterMode(display=False) as counter:
        loss_of(model).backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def classifier(name: str, n_classes: int = 10) -> torch.nn.Module:
    """conf/classifier/NAME.yaml built for SHAPE, as CLAD builds its stage-3 classifier."""
    path = ROOT / "conf" / "classifier" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ValueError(f"--classifier {name!r}: no {path.relative_to(ROOT)}; accepted: {known}")
    return instantiate(OmegaConf.load(path))(SHAPE, n_classes)


def train_throughput(
    steps: int,
    peak: float,
    channels_last: bool = True,
    device: str = "cpu",
    precision: str = "auto",
    classifier_nhwc: bool | None = None,
    compile: bool = False,
    network: str = "by_shape",
) -> dict:
    """Images/s and MFU of the autoencoder's and the classifier's training loops (clad.training), with the
    weights' layouts CLAD trains them in (channels_last: the autoencoder NHWC, the classifier as
    clad.training.classifier_layout: NHWC on CUDA and under bf16 autocast) or on the plain NCHW path, under the training's `precision` (clad.training.autocast_dtype);
    the data held on `device`. `classifier_nhwc` (True / False) overrides the classifier's layout, to measure the one
    CLAD does not take. `compile` trains both through `torch.compile` (needs a C++ compiler on the CPU); the first,
    compiling epoch is timed apart (`first_epoch_s`) and left out of the rate. MFU is against `peak`, which should be
    a matmul in the same precision. `network`: the classifier's conf/classifier name."""
    gen = torch.Generator().manual_seed(0)
    n = steps * BATCH
    x = torch.rand(n, *SHAPE).to(device)
    y = torch.randint(0, 10, (n,), generator=gen).to(device)
    out = {}
    nhwc, nchw = torch.channels_last, torch.contiguous_format
    ae_layout = nhwc if channels_last else nchw
    clf_layout = classifier_layout(torch.device(device), precision, channels_last)
    if classifier_nhwc is not None:
        clf_layout = nhwc if classifier_nhwc else nchw
    ae = ConvAutoencoder(SHAPE, latent_dim=10).to(device, memory_format=ae_layout)
    clf = torch.nn.Sequential(Standardize.fit(x), classifier(network)).to(device, memory_format=clf_layout)
    batch = x[:BATCH]
    ae_run, clf_run = (torch.compile(ae), torch.compile(clf)) if compile else (ae, clf)  # same weights
    runs = {
        "autoencoder": (
            ae,
            lambda m: torch.nn.functional.mse_loss(m(batch), batch),
            lambda: train_autoencoder(ae_run, x, 1, BATCH, 1e-3, 0.0, gen, precision=precision),
        ),
        "classifier": (
            clf,
            lambda m: torch.nn.functional.cross_entropy(m(batch), y[:BATCH]),
            lambda: train_classifier(clf_run, x, y, 1, BATCH, 1e-3, 0.0, gen, precision=precision),
        ),
    }
    for name, (model, loss_of, one_epoch) in runs.items():
        flops = step_flops(model, loss_of)
        first = None
        if compile:
            t0 = time.perf_counter()
            one_epoch()
            sync()
            first = time.perf_counter() - t0
        seconds = best_time(one_epoch, 1)
        rate = n / seconds
        out[name] = {
            "images_per_s": rate,
            "gflop_per_step": flops / 1e9,
            "gflops": flops * rate / BATCH / 1e9,
            "mfu": flops * rate / BATCH / 1e9 / peak,
        }
        if compile:
            out[name]["first_epoch_s"] = first
    return out


def fastest(measurements: list[dict]) -> dict:
    """Per training loop, the measurement with the most images/s."""
    return {name: max((m[name] for m in measurements), key=lambda r: r["images_per_s"]) for name in measurements[0]}


def speedups(new: dict, old: dict) -> dict:
    """Per training loop, `new`'s images/s over `old`'s."""
    return {k: new[k]["images_per_s"] / old[k]["images_per_s"] for k in new}


def odin(n: int, n_single: int, repeats: int, device: str = "cpu", network: str = "by_shape") -> dict:
    x = torch.rand(n, *SHAPE, device=device)
    model = torch.nn.Sequential(Standardize.fit(x), classifier(network)).to(device).eval()
    score = ODIN()
    with torch.no_grad():
        forward = best_time(lambda: model(x), repeats)
    batched = best_time(lambda: score(model, x), repeats)
    single = best_time(lambda: [score(model, x[i : i + 1]) for i in range(n_single)], 1) * n / n_single
    return {
        "images": n,
        "forward_s": forward,
        "batched_s": batched,
        "batch1_s_extrapolated": single,
        "odin_overhead": batched / forward,
        "odin_speedup": single / batched,
    }


def mixture(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (k, d))
    return (centres[rng.integers(0, k, n)] + rng.normal(0, 1, (n, d))).astype(np.float32)


def inertia(z: np.ndarray, labels: np.ndarray) -> float:
    centres = np.stack([z[labels == c].mean(0) for c in np.unique(labels)])
    return float(((z - centres[np.searchsorted(np.unique(labels), labels)]) ** 2).sum())


def kmeans(sets: list[tuple[int, int, int]], use_gpu: bool = False) -> dict:
    out = {}
    for n, d, k in sets:
        z = mixture(n, d, k)
        t0 = time.perf_counter()
        faiss_labels = FaissKMeans(n_clusters=k, niter=50, nredo=5, random_state=0, use_gpu=use_gpu).fit_predict(z)
        t1 = time.perf_counter()
        sk_labels = KMeans(k, n_init=5, max_iter=50, tol=0.0, random_state=0).fit_predict(z)
        t2 = time.perf_counter()
        kmeans_plusplus(z, k, random_state=0)  # one restart's seeding, which FaissKMeans takes from scikit-learn
        t3 = time.perf_counter()
        out[f"{n}x{d}_k{k}"] = {
            "faiss_s": t1 - t0,
            "sklearn_s": t2 - t1,
            "faiss_over_sklearn": (t1 - t0) / (t2 - t1),
            "seeding_s_per_restart": t3 - t2,
            "faiss_inertia": inertia(z, faiss_labels),
            "sklearn_inertia": inertia(z, sk_labels),
        }
    return out


def parallel_slowdown() -> dict:
    """A default run (digits, CLAD, budget=cpu): alone with default threads, then two side by side at one thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:

        def start(name: str, *extra: str) -> subprocess.Popen:
            cmd = [sys.executable, "run.py", f"hydra.run.dir={tmp}/{name}", *extra]
            return subprocess.Popen(
                cmd, cwd=ROOT, env=None if not extra else env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        t0 = time.perf_counter()
        start("alone").wait()
        alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        pair = [start(f"pair{i}", "threads=1") for i in range(2)]
        for p in pair:
            p.wait()
        side_by_side = time.perf_counter() - t0
    return {"alone_s": alone, "side_by_side_s": side_by_side, "parallel_slowdown": side_by_side / alone}


def run_job(name: str, *overrides: str) -> dict:
    """One `python run.py` in a temporary folder, waited for with os.wait4: its wall time, its own peak resident
    memory (ru_maxrss, KiB on Linux) and its metrics.json's numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "run.py", *overrides, f"hydra.run.dir={tmp}/run"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        path = Path(tmp) / "run" / "metrics.json"
        metrics = json.loads(path.read_text()) if path.exists() else {}
    keys = ("status", "n_train", "auroc", "fit_seconds", "score_seconds", "torch_threads")
    return {
        "name": name,
        "command": "python run.py " + " ".join(overrides),
        "exit_code": proc.returncode,
        "wall_s": wall,
        "peak_rss_gib": usage.ru_maxrss / 2**20,
        **{k: metrics.get(k) for k in keys},
    }


MNIST_CUR = ("dataset=mnist", "split=mnist_cur", "device=cpu")


# The paths of an --e2e name DETECTOR:PATH and their overrides ("": the defaults, the fast path).
E2E_PATHS = {"": (), "plain": ("+detector.channels_last=false",), "bf16": ("precision=bfloat16",)}


def e2e(names: list[str], base: tuple[str, ...] = MNIST_CUR, seeds: list[int] | None = None, on_row=None) -> list[dict]:
    """End to end, one run at a time at the default budget (budget=cpu), with the overrides (threads) of `base`:
    every name for each of `seeds` (seed by seed, so the paths of a seed finish together; None: the config's seed).
    `on_row(rows)` is called after each run (e.g. to save the rows so far)."""
    for name in names:
        if name.partition(":")[2] not in E2E_PATHS:
            raise ValueError(f"--e2e {name}: the path after ':' must be one of {sorted(E2E_PATHS)}")
    out = []
    for seed in seeds or [None]:
        for name in names:
            detector, _, path = name.partition(":")
            extra = () if seed is None else (f"seed={seed}",)
            out.append(run_job(name, *base, f"detector={detector}", *E2E_PATHS[path], *extra))
            if seed is not None:
                out[-1]["seed"] = seed
            log_line(out[-1])
            if on_row is not None:
                on_row(out)
    return out


def e2e_summary(rows: list[dict]) -> dict:
    """Per --e2e name, over its runs that finished: the runs, the AUROC's mean and std (ddof 1) and the mean wall
    and fit seconds, the largest peak memory; and each name's mean fit time over the first name's."""
    out = {}
    for name in dict.fromkeys(r["name"] for r in rows):
        ok = [r for r in rows if r["name"] == name and r.get("status") == "ok"]
        aurocs = [r["auroc"] for r in ok]
        out[name] = {
            "runs": len(ok),
            "auroc_mean": float(np.mean(aurocs)) if ok else None,
            "auroc_std": float(np.std(aurocs, ddof=1)) if len(ok) > 1 else None,
            "wall_s_mean": float(np.mean([r["wall_s"] for r in ok])) if ok else None,
            "fit_s_mean": float(np.mean([r["fit_seconds"] for r in ok])) if ok else None,
            "peak_rss_gib_max": max(r["peak_rss_gib"] for r in ok) if ok else None,
        }
    first = next(iter(out.values()), {}).get("fit_s_mean")
    for row in out.values():
        row["fit_over_first"] = row["fit_s_mean"] / first if first and row["fit_s_mean"] else None
    return out


GROWTH_PER_CLASS = (667, 1333, 2667, None)  # ~2k, 4k, 8k and all ~16k of mnist_cur's three digits


def growth(names: list[str], base: tuple[str, ...] = MNIST_CUR) -> dict:
    """Fit time against the number of training images, and its log-log slope."""
    out = {}
    for name in names:
        rows = []
        for per_class in GROWTH_PER_CLASS:
            cap = "null" if per_class is None else str(per_class)
            rows.append(run_job(name, *base, f"detector={name}", f"budget.max_train_per_class={cap}"))
            log_line(rows[-1])
        out[name] = {"runs": rows, "slope": loglog_slope(rows)}
    return out


def loglog_slope(rows: list[dict]) -> float | None:
    """The least-squares slope of log(fit seconds) against log(training images) over the runs that finished:
    1 is linear growth, 2 quadratic; None with fewer than two points."""
    ok = [r for r in rows if r.get("fit_seconds") and r.get("n_train")]
    if len(ok) < 2:
        return None
    return float(linregress(np.log([r["n_train"] for r in ok]), np.log([r["fit_seconds"] for r in ok])).slope)


def log_line(row: dict) -> None:
    print(
        f"{row['name']}: n {row['n_train']}, wall {row['wall_s']:.0f} s, fit {row['fit_seconds']} s, "
        f"peak {row['peak_rss_gib']:.2f} GiB, auroc {row['auroc']}",
        file=sys.stderr,
        flush=True,
    )


def markdown(command: str, info: dict, result: dict) -> str:
    """results/benchmarks.md: every section that ran."""
    lines = [f"# The suite's own speed ({command})", "", *(f"- {k}: {v}" for k, v in info.items())]
    if "train" in result:
        lines += [
            "",
            f"Peak ({result['peak_matmul']}): {result['peak_gflops']:.1f} GFLOP/s. Classifier (training and ODIN): "
            f"{result.get('classifier', 'cnn: SmallCNN (before session 25)')}.",
            "",
            "| training loop | path | images/s | GFLOP/step | GFLOP/s | MFU |",
            "|---|---|---|---|---|---|",
        ]
        for path, key in (("plain (NCHW)", "train_before"), ("fast (CLAD's default)", "train")):
            lines += [
                f"| {name} | {path} | {r['images_per_s']:.0f} | {r['gflop_per_step']:.2f} | {r['gflops']:.1f} | "
                f"{r['mfu']:.3f} |"
                for name, r in result[key].items()
            ]
        if "train_bf16" in result:
            lines += [
                f"| {name} | fast + bf16 autocast (`precision=bfloat16`; MFU against the bf16 peak) | "
                f"{r['images_per_s']:.0f} | {r['gflop_per_step']:.2f} | {r['gflops']:.1f} | {r['mfu']:.3f} |"
                for name, r in result["train_bf16"].items()
            ]
        speedup = ", ".join(f"{k} {v:.2f}x" for k, v in result["train_speedup"].items())
        lines += ["", f"train_speedup (fast over plain images/s): {speedup} (target: 2x)."]
        if "train_bf16" in result:
            speedup = ", ".join(f"{k} {v:.2f}x" for k, v in result["train_speedup_bf16"].items())
            lines += [
                "",
                f"train_speedup_bf16 (fast + bf16 autocast over plain float32 images/s): {speedup}; "
                f"bf16 peak ({result['peak_matmul_bf16']}) {result['peak_gflops_bf16']:.1f} GFLOP/s.",
            ]
    if "odin" in result:
        o = result["odin"]
        lines += [
            "",
            f"ODIN on {o['images']} images: batched {o['batched_s']:.2f} s, one forward {o['forward_s']:.2f} s "
            f"(odin_overhead {o['odin_overhead']:.2f}; target <= 3.5), batch-1 loop {o['batch1_s_extrapolated']:.2f} s "
            f"(odin_speedup {o['odin_speedup']:.1f})",
        ]
    if "kmeans" in result:
        lines += [
            "",
            "| k-means set | faiss s | sklearn s | faiss / sklearn | faiss objective | sklearn objective | "
            "k-means++ seeding s (one restart) |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {r['faiss_s']:.2f} | {r['sklearn_s']:.2f} | {r['faiss_over_sklearn']:.2f} | "
            f"{r['faiss_inertia']:.4g} | {r['sklearn_inertia']:.4g} | {r['seeding_s_per_restart']:.2f} |"
            for name, r in result["kmeans"].items()
        ]
    if "parallel" in result:
        p = result["parallel"]
        lines += [
            "",
            f"Default run alone {p['alone_s']:.1f} s; two side by side at one thread each "
            f"{p['side_by_side_s']:.1f} s: parallel_slowdown {p['parallel_slowdown']:.2f} (target <= 2.2).",
        ]
    runs = list(result.get("e2e", []))
    for name, g in result.get("growth", {}).items():
        runs += g["runs"]
    if runs:
        lines += [
            "",
            "| run | command | training images | wall s | fit s | peak RSS GiB | AUROC | status |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['name']}{'' if r.get('seed') is None else ' seed ' + str(r['seed'])} | `{r['command']}` | {r['n_train']} | {r['wall_s']:.0f} | {r['fit_seconds'] or 0:.0f} | "
            f"{r['peak_rss_gib']:.2f} | {100 * (r['auroc'] or float('nan')):.1f} | {r['status']} |"
            for r in runs
        ]
    summary = result.get("e2e_summary", {})
    if summary:
        first = next(iter(summary))
        lines += [
            "",
            f"| run | runs | AUROC mean ± std | wall s mean | fit s mean | fit over {first}'s | peak RSS GiB max |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in summary.items():
            auroc = "n/a" if r["auroc_mean"] is None else f"{100 * r['auroc_mean']:.1f}"
            auroc += "" if r["auroc_std"] is None else f" ± {100 * r['auroc_std']:.1f}"
            nums = [r["wall_s_mean"], r["fit_s_mean"], r["fit_over_first"], r["peak_rss_gib_max"]]
            cells = ["n/a" if v is None else f"{v:.{d}f}" for v, d in zip(nums, (0, 0, 2, 2))]
            lines.append(f"| {name} | {r['runs']} | {auroc} | " + " | ".join(cells) + " |")
    for name, g in result.get("growth", {}).items():
        slope = "n/a" if g["slope"] is None else f"{g['slope']:.2f}"
        lines += ["", f"{name}: log-log slope of fit time against training images {slope} (target <= 1.1)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats; no parallel_slowdown")
    parser.add_argument(
        "--e2e", nargs="+", metavar="DETECTOR", help="end-to-end mnist_cur runs (clad:plain = plain path)"
    )
    parser.add_argument("--growth", nargs="+", metavar="DETECTOR", help="fit time at 2k-16k mnist_cur images")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the in-process figures run")
    parser.add_argument("--seeds", type=int, nargs="+", help="run every --e2e name at each of these seeds")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads of the in-process figures and of each --e2e/--growth run (default: every core)",
    )
    parser.add_argument(
        "--classifier",
        default="by_shape",
        help="the stage-3 classifier of the training and ODIN figures, a conf/classifier name (default by_shape, "
        "CLAD's default: a one-block ResNet-16 at 1x28x28; cnn: the small CNN measured before session 25)",
    )
    parser.add_argument("--skip-micro", action="store_true", help="only --e2e/--growth, not the in-process figures")
    parser.add_argument("--note", help="a line about the load on the machine, kept in the JSON and the Markdown")
    parser.add_argument("--render", type=Path, help="only re-write OUT.md from this JSON (with --note, it is added)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks", help="writes OUT.json, OUT.md")
    args = parser.parse_args(argv)
    if args.render:  # the Markdown again from a finished run's JSON: no measurement
        record = json.loads(args.render.read_text())
        if args.note:
            record["provenance"]["note"] = args.note
        args.render.write_text(json.dumps(record, indent=1))
        info = record.pop("provenance")
        args.render.with_suffix(".md").write_text(markdown(info["command"], info, record))
        return
    network = None if args.skip_micro else type(classifier(args.classifier)).__name__  # a bad name fails here
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if args.threads:  # a sweep's job runs at one thread (threads=1): its training speed is measured that way too
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 5
    result = {}
    if not args.skip_micro:
        peak = peak_gflops(repeats, args.device)
        steps = (20 if args.quick else 60) * (10 if args.device == "cuda" else 1)
        result["peak_gflops"] = peak
        result["peak_matmul"] = "8192^3 bfloat16 matmul" if args.device == "cuda" else "2048^3 float32 matmul"
        # Plain and fast interleaved, twice each, the faster kept: the shared cores' speed drifts within a run (the
        # identical NCHW classifier once measured 1.6x apart in the plain and the fast slot). On the CPU also the
        # fast path under bf16 autocast (precision=bfloat16; on a GPU the fast path already is bf16).
        cpu = args.device == "cpu"
        if cpu:
            peak_bf16 = peak_gflops(repeats, dtype=torch.bfloat16)
            result["peak_gflops_bf16"] = peak_bf16
            result["peak_matmul_bf16"] = "2048^3 bfloat16 matmul"
        settings = [(False, "auto", peak), (True, "auto", peak)] + ([(True, "bfloat16", peak_bf16)] if cpu else [])
        paths = [
            train_throughput(
                steps, top, channels_last=fast, device=args.device, precision=precision, network=args.classifier
            )
            for fast, precision, top in settings * 2
        ]
        every = len(settings)
        result["train_before"] = fastest(paths[0::every])
        result["train"] = fastest(paths[1::every])
        result["train_speedup"] = speedups(result["train"], result["train_before"])
        if cpu:
            result["train_bf16"] = fastest(paths[2::every])
            result["train_speedup_bf16"] = speedups(result["train_bf16"], result["train_before"])
        result["classifier"] = f"{args.classifier}: {network} at {SHAPE}"
        result["odin"] = odin(
            1024 if args.quick else 4096, 64 if args.quick else 256, repeats, args.device, args.classifier
        )
        sets = [(16_000, 10, 10)] + ([] if args.quick else [(100_000, 64, 100)])
        result["kmeans"] = kmeans(sets, use_gpu=args.device == "cuda")
        if not args.quick:
            result["parallel"] = parallel_slowdown()
    base = MNIST_CUR
    if args.threads:  # a job's threads, as a parallel launcher gives them (config and OpenMP/MKL)
        base += (f"threads={args.threads}",)
        os.environ.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    command = " ".join(["python -m benchmarks.bench", *sys.argv[1:]])

    def write(finished: bool) -> dict:
        """OUT.json and OUT.md with every figure so far (after each --e2e run too: a cut run keeps its rows)."""
        info = {
            "command": command,
            "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) if finished else "(not yet: partial)",
            "machine": f"{platform.node()} ({platform.platform()}), {os.cpu_count()} CPUs, "
            f"{torch.get_num_threads()} torch threads, cuda: {torch.cuda.is_available()}",
            "cpu": "{cpu} (flags: {flags})".format(**cpu_facts()),
            **{
                k: v
                for k, v in provenance().items()
                if k in ("git_commit", "git_dirty", "torch_version", "faiss_version")
            },
        }
        if args.e2e or args.growth:
            info["data"] = "$CLAD_DATA (MNIST, the official files)"
            info["threads_per_run"] = args.threads or "torch's default (every core)"
        if args.note:
            info["note"] = args.note
        record = {"provenance": info, **result}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))
        args.out.with_suffix(".md").write_text(markdown(command, info, result))
        return record

    def save_rows(rows: list[dict]) -> None:
        result["e2e"], result["e2e_summary"] = rows, e2e_summary(rows)
        write(finished=False)

    if args.e2e:
        save_rows(e2e(args.e2e, base, args.seeds, on_row=save_rows))
    if args.growth:
        result["growth"] = growth(args.growth, base)
    print(json.dumps(write(finished=True)))


if __name__ == "__main__":
    main()
