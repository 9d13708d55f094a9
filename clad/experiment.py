"""One experiment as a library: build the data and the detector from a composed config, fit, score,
and leave a record in the run's own folder (run.py is the thin Hydra entry point around `run(cfg)`;
the folder rules and the provenance are clad/record.py).

A run folder belongs to one run. `metrics.json` (flat) is written with `status: running` before
anything that can fail, then `ok`, `failed` or `killed` (SIGTERM, SIGINT) with the error; beside it
`config.yaml` (the resolved config the run used), `scores.npz` and, for detectors that keep them,
`diagnostics.json`. Each record carries `config_hash`, a hash of the resolved config without paths:
re-running the same config into a folder whose run finished returns that run (a sweep resumes), a
failed, killed or stale record is replaced (a retry), and a folder that holds a different run is
refused before anything is written.
"""

from __future__ import annotations

import copy
import json
import logging
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from clad.base import resolve_device, seed_everything
from clad.data import make_split, to_float
from clad.io import atomic_write, write_json
from clad.metrics import compute_metrics, pseudo_label_agreement
from clad.record import (
    RunKilled,
    claim_folder,
    config_hash,
    is_multirun,
    marked_on_signal,
    now,
    output_folder,
    provenance,
    resolved_config,
)
from clad.tracking import ProgressBars, progress_enabled
from clad.training import listen

log = logging.getLogger(__name__)

# Record keys that differ between two runs of the same config (timings, CLAD's stage timings, when, which process).
STAGE_SECONDS = ("seconds_ae", "seconds_kmeans", "seconds_dec", "seconds_clf", "seconds_score_setup")
PER_RUN_KEYS = frozenset(
    {
        "fit_seconds",
        "score_seconds",
        "setup_seconds",
        *STAGE_SECONDS,
        "started_at",
        "finished_at",
        "run_id",
        "pid",
        "host",
    }
)
HUGE_SCORE = 1e6  # |score| above this: a normalisation or a loss has blown up


# ---------------------------------------------------------------------------------------------- files
def write_scores(path: Path, index: np.ndarray, label: np.ndarray, score: np.ndarray, test_class: np.ndarray) -> None:
    atomic_write(path, lambda f: np.savez(f, index=index, label=label, score=score, test_class=test_class))


# ------------------------------------------------------------------------------------ config and data
def choice(cfg: DictConfig, group: str) -> str:
    """The option chosen for a config group (e.g. 'clad'), falling back to the _target_ class name."""
    if HydraConfig.initialized():
        chosen = HydraConfig.get().runtime.choices.get(group)
        if chosen:
            return chosen
    return str(cfg[group].get("_target_", "?")).rsplit(".", 1)[-1]


def check_seed(seed: Any) -> int:
    """The seed must be a non-negative integer (not a float, not a boolean)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, e.g. seed=0; got {seed!r}")
    return seed


def set_threads(threads: Any) -> None:
    """`threads: N` pins torch (and its OpenMP pool) to N threads, so that parallel jobs x threads
    stay within the cores; null leaves torch's default."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or null; got {threads!r}")
    torch.set_num_threads(threads)


def build_data(cfg: DictConfig):
    """Instantiate the dataset (the `max_train_per_class` key belongs to the split) and the split."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    max_per_class = params.pop("max_train_per_class", None)
    data = instantiate(params, _partial_=True)()  # called here, so a loader's error reaches the user unwrapped
    s = cfg.split
    split = make_split(
        data,
        s.name,
        s.normal,
        s.get("universe"),
        s.val_fraction,
        seed=cfg.seed,
        max_train_per_class=max_per_class,
        dataset=s.get("dataset"),
    )
    return data, split


# ------------------------------------------------------------------------------ fit once, score many
# Keys a rescored run may change against the run it loads (save_model=true): the score and what only
# concerns the run's files, threads and logging. Everything else must match.
RESCORE_FREE_KEYS = ("score", "save_model", "rescore", "paths", "threads", "progress", "logger", "tags")


def fit_key(config: dict[str, Any]) -> str:
    """A hash of what a fit depends on: the resolved config without the score (top-level and the
    detector's own), without RESCORE_FREE_KEYS, without `budget` (the values a detector or a dataset
    reads from it are resolved into theirs; another detector's budget key does not change this fit)
    and without where the data lives (`dataset.root`, `dataset.cache_dir`)."""
    key = {k: v for k, v in config.items() if k not in (*RESCORE_FREE_KEYS, "budget")}
    key["detector"] = {k: v for k, v in key.get("detector", {}).items() if k != "score"}
    key["dataset"] = {k: v for k, v in key.get("dataset", {}).items() if k not in ("root", "cache_dir")}
    return config_hash(key)


def find_fitted(root: Path, config: dict[str, Any]) -> Path:
    """The run folder under `root` (a run or a sweep folder) with a saved model (model.pt) and a
    finished run of the same fit as `config` (fit_key); an error naming the candidates otherwise."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"rescore={str(root)!r}: no such folder (a run or sweep folder with model.pt files)")
    want = fit_key(config)
    saved = sorted(p.parent for p in root.rglob("model.pt"))
    matches = []
    for folder in saved:
        try:
            other = yaml.safe_load((folder / "config.yaml").read_text())
            ok = json.loads((folder / "metrics.json").read_text()).get("status") == "ok"
        except (OSError, ValueError, yaml.YAMLError, AttributeError):
            continue
        if ok and fit_key(other) == want:
            matches.append(folder)
    if not matches:
        raise ValueError(
            f"rescore={str(root)!r}: need a finished run with model.pt whose config equals this run's apart from "
            f"{', '.join(RESCORE_FREE_KEYS)}, budget and the data's location; found none among {len(saved)} saved "
            "model(s). Fit it first with save_model=true and the same overrides."
        )
    if len(matches) > 1:  # the same config fitted twice (e.g. a sweep run again in pieces): the same fit
        log.warning("rescore: %d fits of this config under %s; using %s", len(matches), root, matches[0])
    return matches[0]


def save_model(path: Path, detector) -> None:
    """The fitted detector, pickled whole (torch.save), for a later `rescore` (which sets its score up
    again): without a set-up feature score, whose state (a Mahalanobis precision of the classifier's
    features) can outweigh the networks a hundredfold."""
    if getattr(getattr(detector, "score_", None), "needs_setup", False):
        detector = copy.copy(detector)  # shallow: the caller's detector keeps its score
        del detector.score_
    atomic_write(path, lambda f: torch.save(detector, f))


def load_rescorer(folder: Path, score_config: Any, train_x: np.ndarray):
    """The detector saved in `folder`, with its score replaced by `score_config` (instantiated) and,
    for a feature score, set up on its training images `train_x` (float, as fit saw them)."""
    detector = torch.load(folder / "model.pt", weights_only=False)
    if score_config is None or not hasattr(detector, "setup_score"):
        raise ValueError(f"rescore: {type(detector).__name__} has no score to change; only CLAD detectors rescore")
    detector.set_params(score=instantiate(score_config) if isinstance(score_config, dict) else score_config)
    return detector.setup_score(train_x)


# ----------------------------------------------------------------------------------- fit and evaluate
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


def result_warnings(scores: np.ndarray, diagnostics: dict[str, Any]) -> dict[str, str]:
    """Short codes for results that should not be read as normal ones, each with its detail.

    constant_scores: every test score equal (AUROC is then exactly 0.5 and means nothing);
    near_constant_scores: under 1% distinct values; huge_scores: |score| > 1e6; empty_cluster /
    small_cluster / unconverged: a pseudo-labelling detector's own convergence rule failed."""
    from clad.detector import MIN_CLUSTER_SHARE, MIN_HOLDOUT_ACCURACY

    found: dict[str, str] = {}
    distinct = len(np.unique(scores))
    spread = float(np.ptp(scores)) if len(scores) else 0.0
    if distinct == 1 or spread <= 1e-12 * max(1.0, float(np.abs(scores).max(initial=0.0))):
        found["constant_scores"] = (
            f"all {len(scores)} test scores are equal ({scores[0]:.6g}); the AUROC is meaningless"
        )
    elif distinct < 0.01 * len(scores):
        found["near_constant_scores"] = f"only {distinct} distinct values among {len(scores)} test scores"
    if np.abs(scores).max(initial=0.0) > HUGE_SCORE:
        found["huge_scores"] = f"max |score| {np.abs(scores).max():.3g} > {HUGE_SCORE:g}"
    sizes = diagnostics.get("cluster_sizes")
    if sizes:
        share = min(sizes) / max(sum(sizes), 1)
        if min(sizes) == 0:
            found["empty_cluster"] = f"cluster sizes {sizes}: at least one pseudo-label is empty"
        elif share < MIN_CLUSTER_SHARE:
            found["small_cluster"] = (
                f"smallest cluster holds {100 * share:.2f}% of the images (< {100 * MIN_CLUSTER_SHARE:.0f}%)"
            )
    accuracy = diagnostics.get("clf_holdout_accuracy")
    if isinstance(accuracy, float) and accuracy < MIN_HOLDOUT_ACCURACY:
        found["unconverged"] = f"classifier accuracy on held-out pseudo-labels {accuracy:.3f} < {MIN_HOLDOUT_ACCURACY}"
    return found


def evaluate(detector, split, fit: bool = True) -> tuple[dict[str, Any], np.ndarray, dict[str, Any]]:
    """Fit on the normal training images (unless `fit=False`: a detector fitted already), score the
    test (and validation) images, compute metrics.
    Returns the metrics, the test scores and the diagnostics (the detector's, plus any warnings)."""
    t0 = time.perf_counter()
    if fit:
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
        threshold = detector.calibrate(to_float(split.val_x), accept=0.95).threshold_
        accepted = scores <= threshold
        metrics.update(
            val_threshold=threshold,
            test_tpr_at_val_threshold=float(accepted[split.test_y == 0].mean()),
            test_fpr_at_val_threshold=float(accepted[split.test_y == 1].mean()),
        )
    found = result_warnings(scores, diagnostics)
    metrics["warnings"] = ",".join(found)
    if found:
        diagnostics["warning_details"] = found
        for code, detail in found.items():
            log.warning("%s: %s", code, detail)
    return metrics, scores, diagnostics


# ------------------------------------------------------------------------------------ the run record
def _execute(cfg: DictConfig, config: dict[str, Any], metrics: dict[str, Any], out: Path) -> None:
    """The run itself: check, seed, build data and detector, fit, score; fills `metrics`, writes the files."""
    check_seed(metrics["seed"])
    set_threads(config.get("threads"))
    metrics["torch_threads"] = torch.get_num_threads()
    tracker = instantiate(cfg.logger)
    bars = ProgressBars() if progress_enabled(config.get("progress", "auto"), multirun=is_multirun()) else None
    try:
        tracker.start(
            config,
            name=f"{metrics['detector']}-{metrics['split']}-s{metrics['seed']}",
            group=f"{metrics['dataset']}/{metrics['split']}",
            job_type=metrics["detector"],
            tags=config.get("tags"),
        )
        seed_everything(metrics["seed"])
        data, split = build_data(cfg)  # a bad split fails here, before any training
        rescore = config.get("rescore")
        if rescore:  # fit once, score many: the saved fit of this config, under this run's score
            source = find_fitted(Path(rescore), config)
            t0 = time.perf_counter()
            detector = load_rescorer(source, config["detector"].get("score"), to_float(split.train_x))
            metrics.update(rescored_from=str(source), setup_seconds=time.perf_counter() - t0)
        else:
            detector = instantiate(cfg.detector, _convert_="all")
        metrics.update(
            n_train=len(split.train_x),
            n_val=len(split.val_x),
            n_test=len(split.test_y),
            n_test_anomalous=int(split.test_y.sum()),
        )
        with listen(tracker.log_epoch, *([bars] if bars else [])):
            results, scores, diagnostics = evaluate(detector, split, fit=not rescore)
        if config.get("save_model") and not rescore:
            save_model(out / "model.pt", detector)
        metrics.update(results, status="ok")
        if diagnostics:
            write_json(out / "diagnostics.json", diagnostics)
        write_scores(out / "scores.npz", split.test_index, split.test_y, scores, split.test_class)
        if getattr(detector, "codes_", None) is not None:  # detector.save_codes=true
            hidden = split.train_class if split.train_class is not None else np.full(len(detector.codes_), -1)
            atomic_write(
                out / "codes.npz",
                lambda f: np.savez(f, codes=detector.codes_, pseudo_label=detector.pseudo_labels_, hidden_class=hidden),
            )
    except BaseException:
        tracker.finish(failed=True)
        raise
    finally:
        if bars is not None:
            bars.close()
    tracker.log(metrics)
    tracker.finish(failed=False)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Seed, build data and detector, fit, score, write the record; return the metrics.

    A failure or a kill still leaves metrics.json (status `failed` or `killed`, with the error)."""
    out = output_folder(cfg)
    out.mkdir(parents=True, exist_ok=True)
    try:
        config = resolved_config(cfg)
        key = config_hash(config)
    except Exception as err:  # e.g. a bad interpolation: record it, unless the folder is another run's
        if not (out / "metrics.json").exists():
            seed = OmegaConf.select(cfg, "seed", default=None, throw_on_resolution_failure=False)
            write_json(
                out / "metrics.json",
                {
                    "seed": seed,
                    "status": "failed",
                    "error": f"{type(err).__name__}: {err}",
                    "started_at": now(),
                    **provenance(),
                },
            )
        raise
    done = claim_folder(out, key)
    if done is not None:
        log.info("%s already holds this run (status ok); skipping it. Move the folder away to run it again.", out)
        return done
    metrics: dict[str, Any] = {
        "dataset": choice(cfg, "dataset"),
        "split": config["split"].get("name"),
        "detector": choice(cfg, "detector"),
        "seed": config.get("seed"),
        "status": "running",
        "config_hash": key,
        "run_id": uuid.uuid4().hex[:12],
        "started_at": now(),
        **provenance(),
        "device": str(resolve_device(config.get("device", "auto"))),
        "data_dir": str(Path(cfg.paths.data_dir).resolve()),
    }
    with marked_on_signal():  # from the first record on, a kill is recorded
        write_json(out / "metrics.json", metrics)
        try:
            atomic_write(out / "config.yaml", lambda f: f.write(yaml.safe_dump(config, sort_keys=False).encode()))
            _execute(cfg, config, metrics, out)
        except RunKilled as err:
            metrics.update(status="killed", error=f"killed by {signal.Signals(err.signum).name}")
            raise
        except KeyboardInterrupt:
            metrics.update(status="killed", error="killed by SIGINT")
            raise
        except Exception as err:
            metrics.update(status="failed", error=f"{type(err).__name__}: {err}")
            raise
        finally:
            metrics["finished_at"] = now()
            write_json(out / "metrics.json", metrics)
    log.info(
        "%s on %s/%s seed %d: AUROC %.4f, AUPR-in %.4f, AUPR-out %.4f, FPR95 %.4f (fit %.1fs, score %.1fs) -> %s",
        metrics["detector"],
        metrics["dataset"],
        metrics["split"],
        metrics["seed"],
        metrics["auroc"],
        metrics["aupr_in"],
        metrics["aupr_out"],
        metrics["fpr95"],
        metrics["fit_seconds"],
        metrics["score_seconds"],
        out,
    )
    return metrics
