"""One experiment: fit a detector on a split's normal training images, score the test images,
write metrics.json + scores.npz into Hydra's output directory.

    python run.py                                   # CLAD on the embedded digits, normal {0, 3, 8}
    python run.py -m detector=clad seed=0,1,2       # a sweep; see sweep.py for the tables
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from clad.base import seed_everything
from clad.data import make_split, to_float
from clad.metrics import compute_metrics, pseudo_label_agreement

log = logging.getLogger("run")
logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # its INFO lines list CPU features it did not find


def _atomic_write(path: Path, write) -> None:
    """Write to a temp file in the same folder, then rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: dict[str, Any]) -> None:
    _atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def write_scores(path: Path, index: np.ndarray, label: np.ndarray, score: np.ndarray, test_class: np.ndarray) -> None:
    _atomic_write(path, lambda f: np.savez(f, index=index, label=label, score=score, test_class=test_class))


def _choice(cfg: DictConfig, group: str) -> str:
    """The option chosen for a config group (e.g. 'clad'), falling back to the _target_ class name."""
    if HydraConfig.initialized():
        choice = HydraConfig.get().runtime.choices.get(group)
        if choice:
            return choice
    return str(cfg[group].get("_target_", "?")).rsplit(".", 1)[-1]


def build_data(cfg: DictConfig):
    """Instantiate the dataset (the `max_train_per_class` key belongs to the split) and the split."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    max_per_class = params.pop("max_train_per_class", None)
    data = instantiate(params, _partial_=True)()  # called here, so a loader's error reaches the user unwrapped
    s = cfg.split
    split = make_split(data, s.name, s.normal, s.get("universe"), s.val_fraction, seed=cfg.seed, max_train_per_class=max_per_class, dataset=s.get("dataset"))
    return data, split


def fit_diagnostics(detector, split) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a fitted detector's `diagnostics_` into flat scalars (for metrics.json) and the rest
    (lists, for diagnostics.json). When the split knows the hidden classes of the training images,
    add how well the pseudo-labels recover them (NMI, ARI): a diagnostic only, never a choice."""
    diag = dict(getattr(detector, "diagnostics_", {}))
    labels = getattr(detector, "pseudo_labels_", None)
    if labels is not None and split.train_class is not None and len(labels) == len(split.train_class):
        diag.update(pseudo_label_agreement(split.train_class, labels))
    if "warnings" in diag:
        diag["n_warnings"] = len(diag["warnings"])
    flat = {k: v for k, v in diag.items() if isinstance(v, (int, float, str))}
    return flat, diag


def evaluate(detector, split) -> tuple[dict[str, Any], np.ndarray, dict[str, Any]]:
    """Fit on the normal training images, score the test (and validation) images, compute metrics.
    Returns the metrics, the test scores and the detector's full diagnostics."""
    t0 = time.perf_counter()
    detector.fit(to_float(split.train_x))
    t1 = time.perf_counter()
    scores = detector.anomaly_score(to_float(split.test_x))
    t2 = time.perf_counter()
    metrics: dict[str, Any] = compute_metrics(split.test_y, scores)
    metrics.update(fit_seconds=t1 - t0, score_seconds=t2 - t1)
    flat, diagnostics = fit_diagnostics(detector, split)
    metrics.update(flat)
    if len(split.val_x):
        # An operating point chosen on held-out normal images only: accept 95% of them.
        threshold = float(np.quantile(detector.anomaly_score(to_float(split.val_x)), 0.95))
        accepted = scores <= threshold
        metrics.update(
            val_threshold=threshold,
            test_tpr_at_val_threshold=float(accepted[split.test_y == 0].mean()),
            test_fpr_at_val_threshold=float(accepted[split.test_y == 1].mean()),
        )
    return metrics, scores, diagnostics


def run(cfg: DictConfig) -> dict[str, Any]:
    """Seed, build data and detector, fit, score, write metrics.json and scores.npz; return metrics.

    A failure still writes metrics.json (status 'failed' and the error) before it is raised."""
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {
        "dataset": _choice(cfg, "dataset"),
        "split": cfg.split.name,
        "detector": _choice(cfg, "detector"),
        "seed": int(cfg.seed),
        "data_dir": str(Path(cfg.paths.data_dir).resolve()),
        "status": "running",
    }
    tracker = instantiate(cfg.logger)
    failed = True
    try:
        config = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v for k, v in cfg.items() if k != "hydra"}
        tracker.start(config, name=f"{metrics['detector']}-{metrics['split']}-s{cfg.seed}")
        seed_everything(cfg.seed)
        data, split = build_data(cfg)  # a bad split fails here, before any training
        detector = instantiate(cfg.detector, _convert_="all")
        metrics.update(n_train=len(split.train_x), n_val=len(split.val_x), n_test=len(split.test_y), n_test_anomalous=int(split.test_y.sum()))
        results, scores, diagnostics = evaluate(detector, split)
        metrics.update(results, status="ok")
        if diagnostics:
            write_json(out / "diagnostics.json", diagnostics)
        write_scores(out / "scores.npz", split.test_index, split.test_y, scores, split.test_class)
        failed = False
    except Exception as err:
        metrics.update(status="failed", error=f"{type(err).__name__}: {err}")
        raise
    finally:
        write_json(out / "metrics.json", metrics)
        tracker.log(metrics)
        tracker.finish(failed)
    log.info(
        "%s on %s/%s seed %d: AUROC %.4f, AUPR-in %.4f, AUPR-out %.4f, FPR95 %.4f (fit %.1fs, score %.1fs) -> %s",
        metrics["detector"], metrics["dataset"], metrics["split"], cfg.seed, metrics["auroc"], metrics["aupr_in"],
        metrics["aupr_out"], metrics["fpr95"], metrics["fit_seconds"], metrics["score_seconds"], out,
    )
    return metrics


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    try:
        return run(cfg)["auroc"]
    except Exception:
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            raise
        # In a sweep a failed job is recorded in its metrics.json and the sweep goes on.
        log.exception("job failed; recorded in %s/metrics.json", cfg.paths.output_dir)
        return None


if __name__ == "__main__":
    main()
