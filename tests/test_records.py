"""The run record (clad/record.py, clad/experiment.py): each run gets its own folder; a finished run is resumed, a
failed one retried and another run's folder refused; kills, bad settings and suspect results are
recorded in metrics.json with the run's provenance. Subprocesses only where a behaviour needs one
(concurrent starts, signals, multiruns); the rest runs `run(cfg)` in-process."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch

from clad import experiment, report
from clad.data.base import ImageDataset
from clad.data.digits import load_digits
from clad.experiment import result_warnings, run
from clad.record import RunFolderInUse, config_hash, resolved_config
from tests.helpers.config import compose
from tests.helpers.paths import REPO

RUN_PY = str(REPO / "run.py")
SMOKE = ["budget=smoke", "device=cpu"]
FAST = [*SMOKE, "detector=ocsvm"]  # fits in milliseconds: these tests are about the record, not the method
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
RESULT_FILES = ("metrics.json", "config.yaml", "scores.npz")


def _record(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in RESULT_FILES if (folder / name).exists()}


def _run_py(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python run.py ARGS` from `cwd` (Hydra's default folders land there, not in the repository)."""
    return subprocess.run(
        [sys.executable, RUN_PY, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )


def _write_record(folder: Path, cfg, **record) -> None:
    """A metrics.json of an earlier attempt of `cfg`'s config, as run() would have left it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(
        json.dumps({"config_hash": config_hash(resolved_config(cfg)), "run_id": "earlier", **record})
    )


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", ""])
    done.wait()
    return done.pid


# ------------------------------------------------------------------------------------ folders
@pytest.mark.slow
def test_two_runs_started_together_get_their_own_folders(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, RUN_PY, *FAST],
            cwd=tmp_path,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    folders = sorted(path.parent for path in tmp_path.glob("outputs/*/*/metrics.json"))
    assert len(folders) == 2
    records = [_record(f) for f in folders]
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert records[0]["run_id"] != records[1]["run_id"]


@pytest.fixture(scope="module")
def fixed_sweep(tmp_path_factory):
    """One real multirun of two seeds into a fixed paths.output_dir; Hydra's own files in sweep/."""
    tmp = tmp_path_factory.mktemp("fixed_sweep")
    args = ["-m", *FAST, f"paths.output_dir={tmp / 'fixed'}", f"hydra.sweep.dir={tmp / 'sweep'}", "seed=0,1"]
    done = _run_py(*args, cwd=tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp, args


@pytest.mark.slow
def test_a_multirun_into_a_fixed_output_dir_keeps_every_job(fixed_sweep):
    tmp, _ = fixed_sweep
    jobs = {n: _record(tmp / "fixed" / n) for n in ("0", "1")}
    assert {n: (r["status"], r["seed"]) for n, r in jobs.items()} == {"0": ("ok", 0), "1": ("ok", 1)}
    assert not (tmp / "fixed" / "metrics.json").exists()  # no job wrote over another in the shared folder


@pytest.mark.slow
def test_rerunning_a_sweep_resumes_it_and_another_sweep_is_refused(fixed_sweep):
    tmp, args = fixed_sweep
    run_ids = [_record(tmp / "fixed" / n)["run_id"] for n in ("0", "1")]
    again = _run_py(*args, cwd=tmp)
    assert again.returncode == 0, again.stderr
    assert [_record(tmp / "fixed" / n)["run_id"] for n in ("0", "1")] == run_ids  # kept, not re-run

    saved = (tmp / "sweep" / "multirun.yaml").read_bytes()
    other = _run_py(*[("seed=0,1,2" if a == "seed=0,1" else a) for a in args], cwd=tmp)
    assert other.returncode != 0
    assert "holds another sweep" in other.stdout + other.stderr
    assert (tmp / "sweep" / "multirun.yaml").read_bytes() == saved
    assert not (tmp / "fixed" / "2").exists()


@pytest.mark.slow
def test_missing_jobs_finds_the_jobs_of_a_fixed_output_dir(fixed_sweep):
    tmp, _ = fixed_sweep
    assert report.missing_jobs([str(tmp)]) == {}


# ------------------------------------------------------------------------------------ signals
def _wait_until_fitting(proc: subprocess.Popen, out: Path, timeout: float = 180) -> None:
    """Until the run's record says `running` and its config is written (the signal handlers are
    installed right after), then a moment more."""
    deadline = time.monotonic() + timeout
    while not (
        (out / "config.yaml").exists() and (out / "metrics.json").exists() and _record(out)["status"] == "running"
    ):
        assert proc.poll() is None, f"run.py exited with {proc.returncode} before it started fitting"
        assert time.monotonic() < deadline, "run.py did not start fitting in time"
        time.sleep(0.1)
    time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_killed_run_is_recorded_as_killed(tmp_path, signum):
    out = tmp_path / "k"
    # The default budget fits CLAD on the digits for 10+ seconds: time to be killed mid-fit.
    proc = subprocess.Popen(
        [sys.executable, RUN_PY, "device=cpu", f"hydra.run.dir={out}"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=False,
    )
    try:
        _wait_until_fitting(proc, out)
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 128 + signum  # 143 for SIGTERM, 130 for SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    record = _record(out)
    assert record["status"] == "killed"
    assert signum.name in record["error"]
    assert record["finished_at"] >= record["started_at"]


# ---------------------------------------------------------------------- resume, retry, refuse
def _cfg(folder: Path, *overrides: str):
    return compose(*FAST, *overrides, output_dir=folder)


def test_a_folder_that_holds_another_run_is_refused_untouched(tmp_path):
    run(_cfg(tmp_path))
    before = _files(tmp_path)
    with pytest.raises(RunFolderInUse, match="already holds another run"):
        run(_cfg(tmp_path, "seed=1"))
    assert _files(tmp_path) == before and len(before) == 3


def test_the_same_config_again_returns_the_stored_run_without_fitting(tmp_path, monkeypatch):
    first = run(_cfg(tmp_path))
    before = _files(tmp_path)

    def must_not_fit(*args, **kwargs):
        raise AssertionError("the finished run was fitted again")

    monkeypatch.setattr(experiment, "evaluate", must_not_fit)
    again = run(_cfg(tmp_path))
    assert again == _record(tmp_path) and again["run_id"] == first["run_id"]
    assert _files(tmp_path) == before


def test_the_config_hash_ignores_paths_only(tmp_path):
    def key(folder, *overrides):
        return config_hash(resolved_config(_cfg(folder, *overrides)))

    assert key(tmp_path / "a") == key(tmp_path / "b", "paths.data_dir=/elsewhere")
    assert key(tmp_path / "a") != key(tmp_path / "a", "seed=1")


@pytest.mark.parametrize("status", ["failed", "killed"])
def test_an_unfinished_attempt_of_the_same_config_is_retried(tmp_path, status):
    cfg = _cfg(tmp_path)
    _write_record(tmp_path, cfg, status=status, error="earlier trouble")
    record = run(cfg)
    saved = _record(tmp_path)
    assert saved["status"] == record["status"] == "ok"
    assert saved["run_id"] == record["run_id"] != "earlier" and "error" not in saved


def test_a_running_record_of_a_dead_process_is_replaced(tmp_path):
    cfg = _cfg(tmp_path)
    _write_record(tmp_path, cfg, status="running", host=socket.gethostname(), pid=_dead_pid())
    assert run(cfg)["status"] == "ok"
    assert _record(tmp_path)["status"] == "ok"


def test_a_running_record_of_a_live_process_is_refused(tmp_path):
    cfg = _cfg(tmp_path)
    _write_record(tmp_path, cfg, status="running", host=socket.gethostname(), pid=os.getpid())
    before = _files(tmp_path)
    with pytest.raises(RunFolderInUse, match="still running"):
        run(cfg)
    assert _files(tmp_path) == before


# ------------------------------------------------------------------------- failures recorded
@pytest.mark.parametrize("seed", ["abc", "-1", "1.5", "true"])
def test_a_bad_seed_fails_and_is_recorded(tmp_path, seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        run(_cfg(tmp_path, f"seed={seed}"))
    record = _record(tmp_path)
    assert record["status"] == "failed" and "seed" in record["error"] and "finished_at" in record


def test_an_unknown_wandb_mode_is_a_clear_error_and_recorded(tmp_path):
    with pytest.raises(ValueError, match="logger.mode"):
        run(_cfg(tmp_path, "logger=wandb", "logger.mode=foo"))
    record = _record(tmp_path)
    assert record["status"] == "failed"
    assert record["error"].startswith("ValueError") and "logger.mode" in record["error"]


# ------------------------------------------------------------------------ files and provenance
def test_result_files_are_readable_by_group_and_others(tmp_path):
    old = os.umask(0o077)  # the strictest umask: the files must be opened up on purpose
    try:
        run(_cfg(tmp_path))
    finally:
        os.umask(old)
    modes = {name: oct((tmp_path / name).stat().st_mode & 0o777) for name in RESULT_FILES}
    assert all(int(mode, 8) & 0o044 == 0o044 for mode in modes.values()), modes


def test_the_record_says_where_and_with_what_it_ran(tmp_path):
    cfg = _cfg(tmp_path)
    run(cfg)
    saved = _record(tmp_path)
    if saved["git_commit"] is None:  # not a git checkout
        assert saved["git_dirty"] is None
    else:
        assert re.fullmatch(r"[0-9a-f]{40}", saved["git_commit"]) and isinstance(saved["git_dirty"], bool)
    assert (saved["torch_version"], saved["numpy_version"], saved["sklearn_version"]) == (
        torch.__version__,
        np.__version__,
        sklearn.__version__,
    )
    assert saved["torch_threads"] == torch.get_num_threads()
    assert (saved["device"], saved["host"], saved["pid"]) == ("cpu", socket.gethostname(), os.getpid())
    assert dt.datetime.fromisoformat(saved["started_at"]) <= dt.datetime.fromisoformat(saved["finished_at"])
    assert saved["config_hash"] == config_hash(resolved_config(cfg))
    assert re.fullmatch(r"[0-9a-f]{12}", saved["run_id"])


# ------------------------------------------------------------------------------ result warnings
HEALTHY = np.linspace(0.0, 1.0, 1000)


@pytest.mark.parametrize(
    "scores, diagnostics, code",
    [
        (np.full(100, 0.3), {}, "constant_scores"),
        (np.repeat([0.1, 0.2, 0.3, 0.4, 0.5], 200), {}, "near_constant_scores"),  # 5 values among 1000
        (np.linspace(0.0, 2e6, 1000), {}, "huge_scores"),
        (HEALTHY, {"cluster_sizes": [0, 50, 50]}, "empty_cluster"),
        (HEALTHY, {"cluster_sizes": [1, 500, 499]}, "small_cluster"),  # 0.1% of the images
        (HEALTHY, {"clf_holdout_accuracy": 0.5}, "unconverged"),
    ],
)
def test_result_warnings_flag_suspect_results(scores, diagnostics, code):
    assert set(result_warnings(scores, diagnostics)) == {code}


def test_a_healthy_result_has_no_warnings():
    assert result_warnings(HEALTHY, {"cluster_sizes": [30, 40, 30], "clf_holdout_accuracy": 0.99}) == {}


def constant_training_digits(**kwargs) -> ImageDataset:
    """The embedded digits with every training image the same grey square (a collapsed dataset)."""
    d = load_digits(**kwargs)
    return ImageDataset(
        name="digits",
        train_x=np.full_like(d.train_x, 128),
        train_y=d.train_y,
        test_x=d.test_x,
        test_y=d.test_y,
        class_names=d.class_names,
    )


def test_clad_on_identical_training_images_records_its_warnings(tmp_path):
    record = run(compose(*SMOKE, f"dataset._target_={__name__}.constant_training_digits", output_dir=tmp_path))
    saved = _record(tmp_path)
    assert record["status"] == saved["status"] == "ok"
    codes = set(saved["warnings"].split(","))
    assert "empty_cluster" in codes  # k-means puts identical images in one cluster of ten
    details = json.loads((tmp_path / "diagnostics.json").read_text())["warning_details"]
    assert set(details) == codes
