"""Every experiment (conf/experiment/*.yaml) is a multirun by itself that composes, sweeps only options
and keys that exist, and writes to multirun/<name>; the launchers (conf/hydra/launcher/) run a sweep:
the basic one (and resumes it), joblib in parallel with threads pinned per job, submitit locally, and
the SLURM config renders a valid sbatch script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import OmegaConf

from tests.helpers.config import compose
from tests.helpers.paths import CONF, GROUPS, REPO, options

EXPERIMENTS = options("experiment")
ABSENT = object()


def compose_experiment(name: str, *overrides: str):
    return compose(f"experiment={name}", *overrides)


def swept_values(params) -> dict[str, list]:
    """Each sweeper param as Hydra's basic sweeper expands it (`0,1,2`, `range(2,21,2)`, ...)."""
    parser = OverridesParser.create()
    values = {}
    for key, value in params.items():
        override = parser.parse_override(f"{key}={value}")
        values[key] = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
    return values


# ------------------------------------------------------------------------------- (a) every experiment
def test_the_issue_10_experiments_exist():
    wanted = {
        "table1_mnist",
        "table1_gtsrb",
        "table2_cifar10",
        "table2_tiny_imagenet",
        "table3_mnist_one_class",
        "table4_cifar10_one_class",
        "cifar10_five_class",
        "ablation_clusters",
        "ablation_latent",
        "ablation_clusters_digits",
        "digits_scenarios",
    }
    assert wanted <= set(EXPERIMENTS), sorted(wanted - set(EXPERIMENTS))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_is_a_resumable_multirun_of_existing_options(name):
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert f"python run.py experiment={name}" in text, "the comment names the command that runs it"
    assert f"python sweep.py multirun/{name}" in text and " --out results/" in text, "and the one that reports it"

    cfg = compose_experiment(name)
    assert cfg.hydra.mode == RunMode.MULTIRUN
    assert cfg.hydra.sweep.dir == f"multirun/{name}"  # fixed, so re-running resumes (SweepGuard)
    values = swept_values(cfg.hydra.sweeper.params)
    assert "seed" in values and values["seed"] and all(isinstance(s, int) and s >= 0 for s in values["seed"])
    dataset = cfg.hydra.runtime.choices.dataset
    for key, swept in values.items():
        assert swept, f"{key}: nothing to sweep"
        if key in GROUPS:  # a config group: every value is an option of it, e.g. conf/detector/ocsvm.yaml
            for option in swept:
                path = CONF / key / f"{option}.yaml"
                assert path.is_file(), f"{name}: {key}={option} has no {path.relative_to(REPO)}"
                if key == "split":  # a split written for one dataset refuses any other
                    assert (yaml.safe_load(path.read_text()).get("dataset") or dataset) == dataset, (
                        f"{option} is not a {dataset} split"
                    )
        else:  # a config key: it exists, and every value has the type of its default
            default = OmegaConf.select(cfg, key, default=ABSENT)
            assert default is not ABSENT, f"{name}: sweeps {key}, which is not a key of the config"
            assert all(type(v) is type(default) for v in swept), f"{name}: {key}={swept} vs default {default!r}"
    # The config of the sweep's last job composes too (a group option plus the experiment's defaults).
    last = [f"{key}={swept[-1]}" for key, swept in values.items()]
    job = compose_experiment(name, *last)
    assert job.seed == values["seed"][-1]


def test_table1_mnist_budget_split_matches_the_benchmark_script():
    """Deep SVDD, CLAD and the kernel methods on every image; the autoencoder-based baselines on
    1,000 a class, as benchmarks/table1_mnist.sh (one grid cannot give one detector another budget)."""
    main, ae = compose_experiment("table1_mnist"), compose_experiment("table1_mnist_ae")
    main_detectors = swept_values(main.hydra.sweeper.params)["detector"]
    ae_detectors = swept_values(ae.hydra.sweeper.params)["detector"]
    plus = compose_experiment("table1_mnist_clad_plus")
    assert plus.budget.max_train_per_class is None and plus.save_model
    every = options("detector")
    assert sorted([*main_detectors, *ae_detectors, plus.hydra.runtime.choices.detector]) == every  # each once
    assert main.budget.max_train_per_class is None and ae.budget.max_train_per_class == 1000
    script = (REPO / "benchmarks" / "table1_mnist.sh").read_text()
    assert f'AE_BASED="{" ".join(ae_detectors)}"' in script


# ----------------------------------------------------------------------------------------- launchers
def test_parallel_launcher_is_joblib_with_n_jobs_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLAD_JOBS", "3")
    launcher = compose_experiment("digits_scenarios", "hydra/launcher=parallel").hydra.launcher
    assert launcher._target_.endswith("JoblibLauncher") and launcher.n_jobs == 3


def test_slurm_launcher_renders_an_sbatch_script(tmp_path, monkeypatch):
    """The plugin's own launch() up to the submission: every key of slurm.yaml is one submitit takes."""
    import submitit
    from hydra.utils import instantiate

    srun = tmp_path / "bin" / "srun"  # submitit's SLURM executor only checks that srun exists
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CLAD_PARTITION", "gpu")
    cfg = compose_experiment("digits_scenarios", "hydra/launcher=slurm", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    launcher = instantiate(cfg.hydra.launcher)
    launcher.config = cfg

    class Submitted(Exception):
        pass

    def map_array(executor, fn, *args):
        raise Submitted(executor)

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", map_array)
    with pytest.raises(Submitted) as stop:
        launcher.launch([["seed=0"], ["seed=1"]], initial_job_idx=0)
    script = stop.value.args[0]._executor._make_submission_file_text("python -c pass", "0")
    for line in (
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=32GB",
        "#SBATCH --time=240",
        "export OMP_NUM_THREADS=4 MKL_NUM_THREADS=4",
    ):
        assert line in script, f"{line!r} not in\n{script}"
    assert "--account" not in script  # null keys are left out


# ------------------------------------------------------------------------ (b)-(d) sweeps that run
# The same two jobs under each launcher: digits_scenarios cut to one scenario and one seed, two
# detectors, budget=smoke. Sweeper params are overridden on the command line; a value with a comma
# is quoted for Hydra's parser.
REDUCED = [
    "experiment=digits_scenarios",
    "budget=smoke",
    "device=cpu",
    "hydra.sweeper.params.split=digits_cur",
    "hydra.sweeper.params.seed=0",
    "+hydra.sweeper.params.detector='clad,ocsvm'",
]


def run_sweep(sweep_dir: Path, *overrides: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "run.py", *REDUCED, *overrides, f"hydra.sweep.dir={sweep_dir}"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def records(sweep_dir: Path) -> dict[str, dict]:
    found = {}
    for path in sorted(sweep_dir.glob("*/metrics.json")):
        record = json.loads(path.read_text())
        found[record["detector"]] = record
    return found


def assert_two_ok_jobs(sweep_dir: Path) -> dict[str, dict]:
    found = records(sweep_dir)
    assert sorted(found) == ["clad", "ocsvm"], found
    for record in found.values():
        assert record["status"] == "ok" and record["split"] == "digits_cur" and record["seed"] == 0
        assert 0.0 <= record["auroc"] <= 1.0
    return found


def env_with(**changes: str | None) -> dict:
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory) -> dict[str, dict]:
    sweep_dir = tmp_path_factory.mktemp("basic")
    run_sweep(sweep_dir, env=env_with(OMP_NUM_THREADS="1"))
    return assert_two_ok_jobs(sweep_dir) | {"_dir": sweep_dir}


@pytest.mark.slow
def test_reduced_experiment_runs_and_resumes(basic_sweep):
    sweep_dir = basic_sweep["_dir"]
    assert (sweep_dir / "multirun.yaml").is_file() and sorted(p.name for p in sweep_dir.glob("[0-9]*")) == ["0", "1"]
    again = run_sweep(sweep_dir, env=env_with(OMP_NUM_THREADS="1"))  # the same command: both jobs are kept
    assert "already holds this run" in again.stdout + again.stderr
    assert {d: r["run_id"] for d, r in records(sweep_dir).items()} == {
        d: basic_sweep[d]["run_id"] for d in ("clad", "ocsvm")
    }


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_sweep(tmp_path, basic_sweep):
    run_sweep(tmp_path, "hydra/launcher=submitit_local", env=env_with(OMP_NUM_THREADS="1"))
    found = assert_two_ok_jobs(tmp_path)
    assert (tmp_path / ".submitit").is_dir()
    for detector in ("clad", "ocsvm"):  # one thread each, same seed: the launcher changes no number
        assert found[detector]["auroc"] == basic_sweep[detector]["auroc"]


@pytest.mark.slow
def test_parallel_launcher_pins_threads_per_job(tmp_path, basic_sweep):
    """No OMP_NUM_THREADS in the environment: loky gives each of the 2 workers cores // 2 threads."""
    from joblib import cpu_count

    run_sweep(
        tmp_path, "hydra/launcher=parallel", env=env_with(CLAD_JOBS="2", OMP_NUM_THREADS=None, MKL_NUM_THREADS=None)
    )
    found = assert_two_ok_jobs(tmp_path)
    threads = max(cpu_count() // 2, 1)
    assert {r["torch_threads"] for r in found.values()} == {threads}
    assert all(
        r["pid"] != os.getpid() for r in found.values()
    )  # in loky workers (which one ran a job is loky's choice)
    assert found["ocsvm"]["auroc"] == basic_sweep["ocsvm"]["auroc"]
    if threads == 1:
        assert found["clad"]["auroc"] == basic_sweep["clad"]["auroc"]
