"""The run record: a run folder belongs to one run. `config_hash` says which experiment a record
is (the resolved config without paths); `claim_folder` decides, before anything is written, whether
a folder is free, holds this run finished (resume), an unfinished attempt of it (retry) or another
run (refused); `provenance` says where and with what a run ran; `marked_on_signal` turns SIGTERM
and SIGINT into a `killed` record; `SweepGuard` refuses a different sweep in a sweep's folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]


class RunFolderInUse(RuntimeError):
    """The output folder already holds the record of another run (or of one still running)."""


class RunKilled(SystemExit):
    """Raised by the SIGTERM/SIGINT handler of `run`, so the record is marked `killed` on the way out."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


def register_resolvers() -> None:
    """`${uid:}`: a short random id, drawn once per config, so two runs started in the same
    microsecond still get different default folders (conf/hydra/default.yaml)."""
    OmegaConf.register_new_resolver("uid", lambda: uuid.uuid4().hex[:6], use_cache=True, replace=True)


class SweepGuard(Callback):
    """A Hydra callback (conf/hydra/default.yaml). Before a multirun writes anything, refuse a sweep
    folder that holds a different sweep (other overrides; exit status 1): re-running the same
    command resumes it."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        saved = Path(str(config.hydra.sweep.dir)) / "multirun.yaml"
        if not saved.exists():
            return
        old = (yaml.safe_load(saved.read_text()) or {}).get("hydra", {})
        new = OmegaConf.to_container(config.hydra, resolve=False)
        # The same sweep: the same overrides in any order, and the same sweeper params.
        before = (sorted(old.get("overrides", {}).get("task", [])), old.get("sweeper", {}).get("params"))
        now = (sorted(new["overrides"]["task"]), new.get("sweeper", {}).get("params"))
        if before != now:  # SystemExit: Hydra turns an Exception raised in a callback into a mere warning
            raise SystemExit(
                f"sweep folder {saved.parent} holds another sweep (overrides {before[0]}, sweeper params {before[1]}); this "
                f"one has {now[0]}, {now[1]}. Re-run that sweep's command to resume it, or choose another hydra.sweep.dir"
            )
        log.info("sweep folder %s holds this sweep: finished jobs are kept, the rest run", saved.parent)


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The composed config as plain, resolved containers, without Hydra's own node."""
    return {
        k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
        for k, v in cfg.items()
        if k != "hydra"
    }


def config_hash(config: dict[str, Any]) -> str:
    """What makes two runs the same experiment: the resolved config without `paths` (where data,
    cache and outputs live is not part of an experiment)."""
    key = {k: v for k, v in config.items() if k != "paths"}
    return hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict[str, Any]:
    """Where and with what a run ran: commit, library versions, threads, host, process."""
    import sklearn

    try:
        import faiss

        faiss_version = getattr(faiss, "__version__", "?")
    except ImportError:
        faiss_version = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "sklearn_version": sklearn.__version__,
        "faiss_version": faiss_version,
        "torch_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
    }


def process_alive(host: Any, pid: Any) -> bool | None:
    """Whether the process that wrote a `running` record still exists; None when it ran elsewhere."""
    if host != socket.gethostname() or not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_folder(out: Path, key: str) -> dict[str, Any] | None:
    """Make `out` this run's folder. Returns the finished record when the same config already ran
    there (nothing to do), None when the folder is free or holds a failed/killed/stale attempt of the
    same config (replaced), and raises RunFolderInUse when it holds another run or a live one."""
    path = out / "metrics.json"
    if not path.exists():
        return None
    try:
        old = json.loads(path.read_text())
    except ValueError as err:
        raise RunFolderInUse(
            f"{path} is not readable JSON ({err}); move it away or choose another output folder"
        ) from None
    if old.get("config_hash") != key:
        raise RunFolderInUse(
            f"{out} already holds another run ({old.get('detector')} on {old.get('dataset')}/{old.get('split')}, seed "
            f"{old.get('seed')}, config_hash {old.get('config_hash')} != {key}); nothing was overwritten. Choose another "
            "folder (hydra.run.dir, hydra.sweep.dir or paths.output_dir) or move that one away"
        )
    if old.get("status") == "ok":
        return old
    if old.get("status") == "running" and process_alive(old.get("host"), old.get("pid")) is not False:
        raise RunFolderInUse(
            f"{out} holds a run of the same config that is still running (host {old.get('host')}, pid {old.get('pid')})"
        )
    log.info("%s: replacing the %s record of an earlier attempt", out, old.get("status"))
    return None


def is_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def output_folder(cfg: DictConfig) -> Path:
    """The run's folder: `paths.output_dir`; in a multirun, a fixed `paths.output_dir` (not the job's
    own Hydra folder) gets the job's sub-folder appended, so jobs never share one."""
    out = Path(cfg.paths.output_dir)
    if is_multirun():
        hc = HydraConfig.get()
        if out.resolve() != Path(hc.runtime.output_dir).resolve():
            out = out / str(hc.sweep.subdir)
    return out


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextmanager
def marked_on_signal() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into RunKilled while a run is under way (main thread only)."""

    def handler(signum, frame):
        raise RunKilled(signum)

    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave signals alone
        previous = {}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
