"""What each CLAD stage delivers: fit CLAD once from the real configs (plus overrides), then score
the test set with every confidence score, and append one JSON line per run to `--out`.

    python -m benchmarks.clad_diagnosis --name conv --out results/clad_diagnosis.jsonl -- \\
        dataset=mnist split=mnist_cur classifier=conv seed=0

Each line holds the overrides, the fit's diagnostics (cluster shares, losses, steps, held-out
pseudo-label accuracy, NMI/ARI against the hidden classes), the test AUROC of msp (T=1),
odin (the configured T and eps) and energy (T=1) (with --odin-grid also ODIN over a grid of T and
eps; with --feature-scores also CLAD+'s Mahalanobis and kNN with k = 1, set up on the classifier's
training images), the fit's and the whole run's wall time (`wall_seconds`: from the start of `main`, data loading
and scoring included), the peak memory and the CPU's model name. Test AUROC
here is a measurement for the diagnosis, never the reason for a default (results/selection_log.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import subprocess
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from benchmarks.bench import cpu_facts
from clad.base import seed_everything
from clad.data import to_float
from clad.experiment import build_data, fit_diagnostics
from clad.metrics import auroc
from clad.scores import KNN, ODIN, Mahalanobis

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="a label for this run in the output")
    parser.add_argument("--out", required=True, type=Path, help="JSON-lines file to append to")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument(
        "--odin-grid",
        action="store_true",
        help="also score ODIN over T in {1, 10, 1000} x eps in {0, 5e-4, 1e-3, 4e-3}",
    )
    parser.add_argument(
        "--feature-scores",
        action="store_true",
        help="also score mahalanobis (CLAD+'s score) and knn (k = 1) on the classifier's penultimate features",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for run.py")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[*args.overrides, "device=cpu"])
    seed_everything(cfg.seed)
    _, split = build_data(cfg)
    detector = instantiate(cfg.detector, _convert_="all")
    t0 = time.perf_counter()
    detector.fit(to_float(split.train_x))
    fit_seconds = time.perf_counter() - t0
    flat, _ = fit_diagnostics(detector, split)
    test_x = to_float(split.test_x)
    record = {"name": args.name, "overrides": args.overrides, "n_train": len(split.train_x), "fit_seconds": fit_seconds}
    configured = detector.score  # the run's own score (ODIN with the configured T and eps by default)
    for name, score in (
        ("msp", "msp"),
        ("odin", configured),
        ("energy", "energy"),
    ):  # msp and energy at their own T = 1
        detector.set_params(score=score)
        record[f"auroc_{name}"] = auroc(split.test_y, detector.anomaly_score(test_x))
    if args.odin_grid:  # ODIN's T and eps, for the diagnosis only: one fit, many scorings
        for temperature in (1.0, 10.0, 1000.0):
            for epsilon in (0.0, 0.0005, 0.001, 0.004):
                detector.set_params(score=ODIN(temperature=temperature, epsilon=epsilon))
                record[f"auroc_odin_T{temperature:g}_eps{epsilon:g}"] = auroc(
                    split.test_y, detector.anomaly_score(test_x)
                )
    if args.feature_scores:  # set up on the fit's own training images (setup_score keeps its classifier's part)
        for name, score in (("mahalanobis", Mahalanobis()), ("knn_k1", KNN(k=1))):
            detector.set_params(score=score).setup_score(to_float(split.train_x))
            record[f"auroc_{name}"] = auroc(split.test_y, detector.anomaly_score(test_x))
    record.update(flat)
    record.update(
        peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        threads=torch.get_num_threads(),
        commit=subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        machine=f"{platform.node()} ({platform.platform()}, {platform.machine()})",
        cpu=cpu_facts()["cpu"],
        wall_seconds=time.perf_counter() - start,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    logging.info("%s", json.dumps(record))


if __name__ == "__main__":
    main()
