"""clad/report.py and sweep.py on run folders written by hand (metrics.json + config.yaml): cells
never merge different experiments nor count a run twice, failures and suspect runs stay visible,
and sweep.py refuses bad output arguments before it writes anything."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import uuid

import numpy as np
import pandas as pd
import pytest
import yaml

import sweep
from clad import report
from clad.experiment import run
from tests.helpers.config import compose

BY = ["dataset", "split", "detector"]


def _run(folder, seed, nu=0.1, status="ok", auroc=0.9, extra=None, **record):
    """An OCSVM run folder as clad.experiment leaves it: metrics.json, the resolved config.yaml and,
    for a finished run, scores.npz (four test images)."""
    folder.mkdir(parents=True)
    metrics = {
        "dataset": "digits",
        "split": "digits_cur",
        "detector": "ocsvm",
        "seed": seed,
        "status": status,
        "run_id": uuid.uuid4().hex[:12],
        **record,
    }
    if status == "ok":
        metrics["auroc"] = auroc
        label, score = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
        np.savez(folder / "scores.npz", index=np.arange(4), label=label, score=score, test_class=np.array([0, 3, 1, 2]))
    config = {"seed": seed, "paths": {"output_dir": str(folder)}, "detector": {"nu": nu, "random_state": seed}}
    config.update(extra or {})
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.yaml").write_text(yaml.safe_dump(config))


def _table(root):
    return report.summarize(report.load_runs(root), BY, ["auroc"])


# ------------------------------------------------------------------------------------- cells
def test_cells_split_on_differing_config_but_not_on_seed_or_paths(tmp_path):
    for nu, aurocs in ((0.1, (0.8, 0.9)), (0.5, (0.6, 0.7))):
        for seed, auroc in enumerate(aurocs):
            _run(tmp_path / f"nu{nu}-s{seed}", seed, nu=nu, auroc=auroc)
    table = _table(tmp_path)
    assert table["variant"].tolist() == ["nu=0.1", "nu=0.5"]
    assert table["auroc_count"].tolist() == [2, 2] and table["seeds"].tolist() == ["0 1", "0 1"]
    assert table["auroc_mean"].tolist() == pytest.approx([0.85, 0.65])


def test_cells_do_not_split_on_the_data_location_threads_or_budget_keys(tmp_path):
    """Runs of one cell made at different times: another data folder, threads, an unrelated budget key (the
    detector's own used value sits in its detector.* column), saved or not. One cell, not two."""
    for seed, root, ae_epochs in ((0, "./data", 5), (1, "/elsewhere/data", 10)):
        extra = {"threads": seed + 1, "save_model": bool(seed), "budget": {"ae_epochs": ae_epochs}}
        _run(tmp_path / f"s{seed}", seed, extra={**extra, "dataset": {"root": root, "max_train_per_class": 1000}})
    table = _table(tmp_path)
    assert len(table) == 1 and table["auroc_count"].tolist() == [2] and "variant" not in table


def test_provenance_gives_each_sweeps_wall_time(tmp_path):
    times = {
        "a": ("2026-01-01T10:00:00+00:00", "2026-01-01T10:20:00+00:00"),
        "b": ("2026-01-01T10:30:00+00:00", "2026-01-01T11:10:00+00:00"),
    }
    for seed, (name, (start, end)) in enumerate(times.items()):
        _run(tmp_path / "sweep" / name, seed, started_at=start, finished_at=end, fit_seconds=600.0, score_seconds=60.0)
    runs = report.load_runs(tmp_path / "sweep")
    assert report.wall_times(runs) == [
        f"{tmp_path / 'sweep'}: 2026-01-01T10:00Z to 2026-01-01T11:10Z (70 min), 2 runs, 22 min of fitting and scoring"
    ]
    assert "wall time: " in report.provenance([str(tmp_path / "sweep")], runs)


def test_the_same_run_is_never_loaded_twice(tmp_path):
    _run(tmp_path / "a", 0)
    with pytest.raises(ValueError, match="reached twice"):
        report.load_runs(tmp_path, tmp_path)
    with pytest.raises(ValueError, match="reached twice"):
        report.load_runs(tmp_path, tmp_path / "a")  # nested roots
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    with pytest.raises(ValueError, match="same run"):
        report.load_runs(tmp_path)


def test_a_cell_whose_runs_all_failed_stays_with_its_failures(tmp_path):
    _run(tmp_path / "a", 0, nu=0.1)
    _run(tmp_path / "b", 1, nu=0.1, status="killed")
    _run(tmp_path / "c", 0, nu=0.5, status="failed")
    _run(tmp_path / "d", 1, nu=0.5, status="failed")
    rows = _table(tmp_path).set_index("variant")
    assert rows.loc["nu=0.1", ["auroc_count", "failed", "killed"]].tolist() == [1, 0, 1]
    assert rows.loc["nu=0.5", ["auroc_count", "failed", "killed"]].tolist() == [0, 2, 0]


def test_a_sweep_whose_runs_all_failed_is_a_table_of_failures(tmp_path):
    _run(tmp_path / "a", 0, status="failed")
    _run(tmp_path / "b", 1, status="failed")
    table = _table(tmp_path)
    assert table[["auroc_count", "failed"]].values.tolist() == [[0, 2]]


def test_a_record_without_a_seed_does_not_break_the_table(tmp_path):
    _run(tmp_path / "a", 0, auroc=0.8)
    _run(tmp_path / "b", 1, auroc=0.9)
    with pytest.raises(Exception, match="nope"):
        run(compose("detector=ocsvm", "detector.nu=${nope}", output_dir=tmp_path / "c"))
    table = _table(tmp_path)
    ocsvm = table[table["detector"] == "ocsvm"]
    assert ocsvm["auroc_count"].tolist() == [2] and table["failed"].sum() == 1


def test_a_seed_run_twice_in_a_cell_is_flagged(tmp_path, caplog):
    _run(tmp_path / "a", 0)
    _run(tmp_path / "b", 0)
    _run(tmp_path / "c", 1)
    with caplog.at_level(logging.WARNING, logger="clad.report"):
        table = _table(tmp_path)
    assert table["repeated_seeds"].tolist() == ["0"] and table["auroc_count"].tolist() == [3]
    assert "seed(s) 0 more than once" in caplog.text
    assert report.render(table, BY, ["auroc"])["repeated seeds"].tolist() == ["0"]


def test_a_cell_of_one_run_renders_its_number_without_a_spread(tmp_path):
    _run(tmp_path / "a", 0, auroc=0.9)
    _run(tmp_path / "b", 0, nu=0.5, auroc=0.8)
    _run(tmp_path / "c", 1, nu=0.5, auroc=0.7)
    shown = report.render(_table(tmp_path), BY, ["auroc"])
    assert sorted(shown["auroc"]) == ["75.0 ± 7.1", "90.0"]  # std over 2 runs (ddof 1); one run: no "± 0.0"


# ------------------------------------------------------------------------- unreadable, stale
def test_a_truncated_record_is_a_corrupt_row(tmp_path, caplog):
    _run(tmp_path / "a", 0)
    _run(tmp_path / "b", 1)
    path = tmp_path / "b" / "metrics.json"
    path.write_text(path.read_text()[:30])
    with caplog.at_level(logging.WARNING, logger="clad.report"):
        runs = report.load_runs(tmp_path)
    status = dict(zip(runs["run_dir"], runs["status"]))
    assert status == {str(tmp_path / "a"): "ok", str(tmp_path / "b"): "corrupt"}
    assert str(path) in caplog.text
    assert report.summarize(runs, BY, ["auroc"])["corrupt"].sum() == 1  # counted, not dropped


def test_a_running_record_of_a_gone_process_on_this_host_is_stale(tmp_path):
    done = subprocess.Popen([sys.executable, "-c", ""])
    done.wait()
    _run(tmp_path / "gone", 0, status="running", host=socket.gethostname(), pid=done.pid)
    _run(tmp_path / "elsewhere", 1, status="running", host="another-host", pid=done.pid)
    _run(tmp_path / "alive", 2, status="running", host=socket.gethostname(), pid=os.getpid())
    runs = report.load_runs(tmp_path)
    status = {os.path.basename(d): s for d, s in zip(runs["run_dir"], runs["status"])}
    assert status == {"gone": "stale", "elsewhere": "running", "alive": "running"}


def test_missing_jobs_are_the_sweeps_jobs_without_a_record(tmp_path):
    folder = tmp_path / "sweep"
    _run(folder / "0", 0)
    _run(folder / "2", 2)
    hydra = {"overrides": {"task": ["seed=0,1,2"], "hydra": []}, "sweep": {"subdir": "${hydra.job.num}"}}
    (folder / "multirun.yaml").write_text(yaml.safe_dump({"hydra": hydra}))
    assert report.missing_jobs([str(tmp_path)]) == {str(folder): ["1"]}


def test_runs_from_two_commits_are_named_and_warned_about(tmp_path, caplog):
    first, second = "1234567" + "a" * 33, "89abcde" + "b" * 33
    _run(tmp_path / "a", 0, git_commit=first, git_dirty=False)
    _run(tmp_path / "b", 1, git_commit=second, git_dirty=True)
    runs = report.load_runs(tmp_path)
    with caplog.at_level(logging.WARNING, logger="clad.report"):
        assert report.commits(runs) == [first, second]
    assert "2 different commits" in caplog.text
    assert "commits: 1234567, 89abcde (some with uncommitted changes)" in report.provenance([str(tmp_path)], runs)


# ------------------------------------------------------------------------------------ sweep.py
def test_sweep_out_writes_tables_and_runs_into_a_folder(tmp_path):
    _run(tmp_path / "sweep" / "0", 0, auroc=0.8, warnings="")
    _run(tmp_path / "sweep" / "1", 1, auroc=0.9, warnings="constant_scores")
    out = tmp_path / "results" / "table"
    sweep.main([str(tmp_path / "sweep"), "--out", str(out)])
    assert {"runs.csv", "summary.csv", "table.md"} <= {p.name for p in out.iterdir()}
    assert pd.read_csv(out / "summary.csv")["auroc_mean"].tolist() == pytest.approx([0.85])
    assert sorted(pd.read_csv(out / "runs.csv")["seed"]) == [0, 1]
    assert "constant_scores (1)" in (out / "table.md").read_text()


def test_sweep_runs_csv_names_no_absolute_path(tmp_path, monkeypatch):
    data = tmp_path / "data"  # dataset.root is the resolved ${paths.data_dir}: an absolute path of this machine
    _run(tmp_path / "sweep" / "0", 0, extra={"dataset": {"root": str(data), "image_size": 28}})
    monkeypatch.chdir(tmp_path)
    sweep.main(["sweep", "--out", "out"])
    row = pd.read_csv(tmp_path / "out" / "runs.csv").iloc[0]
    assert (row["dataset.root"], row["paths.output_dir"], row["dataset.image_size"]) == ("data", "sweep/0", 28)


def test_sweep_every_cell_keeps_the_rendered_number_as_text(tmp_path):
    _run(tmp_path / "sweep" / "0", 0, auroc=0.5)
    sweep.main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")])
    every_cell = (tmp_path / "out" / "table.md").read_text().split("## Every cell")[1]
    assert "| 50.0 " in every_cell and "| 50 " not in every_cell  # tabulate would parse "50.0" into 50


def test_sweep_out_survives_an_ok_run_without_scores(tmp_path):
    _run(tmp_path / "sweep" / "0", 0, auroc=0.8)
    _run(tmp_path / "sweep" / "1", 1, auroc=0.9)
    (tmp_path / "sweep" / "0" / "scores.npz").unlink()
    sweep.main([str(tmp_path / "sweep"), "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "table.md").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "{tmp}/results/x.md"], "--out is a folder"),
        (["--plot", "{tmp}/p.png", "--out", "{tmp}/results/t"], "--plot needs --x"),
        (["--x", "no.such.column", "--plot", "{tmp}/p.png", "--out", "{tmp}/results/t"], "is not a column"),
    ],
)
def test_sweep_refuses_bad_output_arguments_before_writing(tmp_path, capsys, args, message):
    _run(tmp_path / "sweep" / "0", 0)
    with pytest.raises(SystemExit) as exit_:
        sweep.main([str(tmp_path / "sweep"), *(a.format(tmp=tmp_path) for a in args)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["sweep"]  # no results/, no p.png


def test_an_ablation_over_names_is_drawn_as_categories(tmp_path):
    """score._target_ holds class paths, not numbers: one tick per score, labelled by its class name."""
    from matplotlib.figure import Figure

    from clad.plots import draw_ablation, plot_ablation

    runs = pd.DataFrame(
        {
            "status": "ok",
            "detector": "clad",
            "split": ["a", "a", "b", "b"],
            "seed": [0, 1, 0, 1],
            "score._target_": ["clad.scores.KNN", "clad.scores.ODIN"] * 2,
            "auroc": [0.9, 0.8, 0.7, 0.6],
        }
    )
    written = plot_ablation(runs, "score._target_", "auroc", ["split"], tmp_path / "p.png")
    assert all(p.stat().st_size > 0 for p in written)
    ax = Figure().subplots()
    draw_ablation(ax, runs, "score._target_", "auroc", ["split"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["KNN", "ODIN"]
    assert list(ax.get_xticks()) == [0, 1]
    # split a: KNN 0.9, ODIN 0.8 at ticks 0, 1 (one seed each, so no spread)
    a = next(bars.lines[0] for bars in ax.containers if bars.get_label() == "a")
    assert list(a.get_xdata()) == [0, 1] and list(a.get_ydata()) == [0.9, 0.8]


# ------------------------------------------------------------------------------------- --keep


def test_keep_extends_a_report_whose_folders_are_gone_with_the_same_table(tmp_path):
    """A report of sweeps a and b; b's folders then go (a new checkout); a's runs plus b's rows of the
    report's runs.csv give the same cells, failures included, and a's rows are not counted twice."""
    extra = {"detector": {"nu": 0.1, "random_state": 0, "max_train": None}}
    for seed, auroc in ((0, 0.9), (1, 0.8)):
        _run(tmp_path / "a" / str(seed), seed, auroc=auroc, extra={"seed": seed, **extra})
    _run(tmp_path / "b" / "0", 2, auroc=0.7, extra={"seed": 2, **extra})
    _run(tmp_path / "b" / "1", 3, status="killed", extra={"seed": 3, **extra})
    sweep.main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "first")])
    shutil.rmtree(tmp_path / "b")

    table = sweep.main(
        [str(tmp_path / "a"), "--keep", str(tmp_path / "first" / "runs.csv"), "--out", str(tmp_path / "second")]
    )
    first = pd.read_csv(tmp_path / "first" / "summary.csv")
    assert len(table) == 1 and "variant" not in table  # None and an empty CSV field are one setting
    row = table.iloc[0]
    assert row["auroc_count"] == 3 and row["killed"] == 1 and row["seeds"] == "0 1 2"
    assert abs(row["auroc_mean"] - first["auroc_mean"].iloc[0]) < 1e-12
    runs = pd.read_csv(tmp_path / "second" / "runs.csv")
    assert len(runs) == 4 and runs["kept_from"].notna().sum() == 2  # a's two runs are the folders, not the rows
    assert "kept: 2 runs from" in (tmp_path / "second" / "table.md").read_text()
    # b's per-class AUROCs come from the first report (its scores are gone), a's are computed again
    per_class = [pd.read_csv(tmp_path / d / "per_class.csv") for d in ("first", "second")]
    key = ["seed", "kind", "class", "auroc"]
    assert per_class[1][key].sort_values(key).values.tolist() == per_class[0][key].sort_values(key).values.tolist()
    # keeping the report it wrote counts no run twice
    sweep.main([str(tmp_path / "a"), "--keep", str(tmp_path / "second" / "runs.csv"), "--out", str(tmp_path / "third")])
    assert len(pd.read_csv(tmp_path / "third" / "runs.csv")) == 4


def test_keep_alone_remakes_a_report_whose_folders_are_all_gone_naming_no_absolute_path(tmp_path, monkeypatch):
    """No roots: the kept rows alone give the same cells; an earlier report's absolute paths (dataset.root, a
    hydra.sweep.dir in its commands) come out relative, and its jobs that never started stay listed."""
    for seed, auroc in ((0, 0.9), (1, 0.8)):
        _run(tmp_path / "sweep" / str(seed), seed, auroc=auroc, extra={"dataset": {"root": str(tmp_path / "data")}})
    sweep.main([str(tmp_path / "sweep"), "--out", str(tmp_path / "first")])
    runs = pd.read_csv(tmp_path / "first" / "runs.csv")
    runs["dataset.root"] = str(tmp_path / "data")  # as reports written before paths were made relative
    runs.to_csv(tmp_path / "first" / "runs.csv", index=False)
    table_md = tmp_path / "first" / "table.md"
    table_md.write_text(
        table_md.read_text().replace(
            "```\n",
            f"```\nruns made by: python run.py -m seed=0,1 hydra.sweep.dir={tmp_path}/sweep\n"
            "jobs that never started in sweep: 2\n",
            1,
        )
    )
    shutil.rmtree(tmp_path / "sweep")
    monkeypatch.chdir(tmp_path)

    table = sweep.main(["--keep", "first/runs.csv", "--out", "second"])
    first = pd.read_csv(tmp_path / "first" / "summary.csv")
    assert table["auroc_mean"].tolist() == pytest.approx(first["auroc_mean"].tolist(), abs=1e-12)
    assert set(pd.read_csv(tmp_path / "second" / "runs.csv")["dataset.root"]) == {"data"}
    caption = (tmp_path / "second" / "table.md").read_text().split("```")[1]
    assert "runs made by: python run.py -m seed=0,1 hydra.sweep.dir=sweep\n" in caption
    assert "jobs that never started in sweep: 2\n" in caption and "kept: 2 runs from first/runs.csv" in caption
    assert str(tmp_path) not in (tmp_path / "second" / "table.md").read_text()


def test_sweep_without_folders_or_keep_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        sweep.main(["--out", "nowhere"])
    assert exit_.value.code == 2 and "--keep" in capsys.readouterr().err


def test_relative_command_makes_arguments_and_override_values_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = f"python run.py -m seed=0 hydra.sweep.dir={tmp_path}/multirun/x 'split.normal=[0,3]' {tmp_path}/a.csv"
    assert (
        report.relative_command(line) == "python run.py -m seed=0 hydra.sweep.dir=multirun/x 'split.normal=[0,3]' a.csv"
    )


def test_drop_kept_replaces_a_detectors_kept_runs_and_their_delong_rows(tmp_path):
    """A detector re-run at a new default (its old folders gone, its new ones without scores.npz here): with
    --drop-kept its kept rows and their DeLong rows from the earlier report are left out; the others stay."""
    extra = {"detector": {"nu": 0.1, "random_state": 0, "max_train": None}, "seed": 0}
    _run(tmp_path / "a" / "0", 0, auroc=0.9, extra=extra)
    _run(tmp_path / "b" / "0", 0, auroc=0.5, extra=extra, detector="svdd")
    label, score = np.array([0, 0, 1, 1]), np.array([0.5, 0.1, 0.9, 0.2])  # svdd's own scores: a DeLong row
    np.savez(tmp_path / "b" / "0" / "scores.npz", index=np.arange(4), label=label, score=score, test_class=[0, 3, 1, 2])
    args = ["--reference", "ocsvm"]
    sweep.main([str(tmp_path / "a"), str(tmp_path / "b"), *args, "--out", str(tmp_path / "first")])
    assert "svdd" in set(pd.read_csv(tmp_path / "first" / "delong.csv")["detector"])
    shutil.rmtree(tmp_path / "b")
    _run(tmp_path / "c" / "0", 0, auroc=0.7, extra=extra, detector="svdd")
    (tmp_path / "c" / "0" / "scores.npz").unlink()  # as if made elsewhere: no new DeLong row can be computed

    keep = ["--keep", str(tmp_path / "first" / "runs.csv")]
    sweep.main([str(tmp_path / "c"), *keep, "--drop-kept", "svdd", *args, "--out", str(tmp_path / "second")])
    runs = pd.read_csv(tmp_path / "second" / "runs.csv")
    assert sorted(zip(runs["detector"], runs["auroc"])) == [("ocsvm", 0.9), ("svdd", 0.7)]
    delong = tmp_path / "second" / "delong.csv"
    assert not delong.exists() or "svdd" not in set(pd.read_csv(delong)["detector"])
    with pytest.raises(SystemExit):
        sweep.main([str(tmp_path / "c"), "--drop-kept", "svdd"])


def test_drop_kept_of_the_reference_leaves_out_its_delong_rows_and_says_so(tmp_path):
    """The reference method re-run (its new folders here, the other methods' scores gone): the earlier report's
    DeLong rows compare the *old* reference runs, so --drop-kept of the reference leaves them out, no stale
    delong.csv stays in the folder, no cell is marked as significant on them, and the ROC figure that drew them goes."""
    extra = {"detector": {"nu": 0.1, "random_state": 0, "max_train": None}, "seed": 0}
    label, score = np.array([0, 0, 1, 1]), np.array([0.5, 0.1, 0.9, 0.2])
    for name, detector, auroc in (("a", "ocsvm", 0.9), ("b", "svdd", 0.5)):
        _run(tmp_path / name / "0", 0, auroc=auroc, extra=extra, detector=detector)
        np.savez(
            tmp_path / name / "0" / "scores.npz", index=np.arange(4), label=label, score=score, test_class=[0, 3, 1, 2]
        )
    args = ["--reference", "ocsvm"]
    sweep.main([str(tmp_path / "a"), str(tmp_path / "b"), *args, "--out", str(tmp_path / "r")])
    assert set(pd.read_csv(tmp_path / "r" / "delong.csv")["reference"]) == {"ocsvm"}
    assert (tmp_path / "r" / "roc_digits_digits_cur.png").exists()
    with open(tmp_path / "r" / "table.md", "a") as f:  # as if a job of each sweep had never started
        f.write(f"jobs that never started in {tmp_path / 'a'}: 7\njobs that never started in {tmp_path / 'b'}: 8\n")
    shutil.rmtree(tmp_path / "a")
    shutil.rmtree(tmp_path / "b")
    _run(tmp_path / "c" / "0", 0, auroc=0.8, extra=extra)  # ocsvm again, at a new default
    keep = ["--keep", str(tmp_path / "r" / "runs.csv")]
    sweep.main([str(tmp_path / "c"), *keep, "--drop-kept", "ocsvm", *args, "--out", str(tmp_path / "r")])
    runs = pd.read_csv(tmp_path / "r" / "runs.csv")
    assert sorted(zip(runs["detector"], runs["auroc"])) == [("ocsvm", 0.8), ("svdd", 0.5)]
    assert not (tmp_path / "r" / "delong.csv").exists()
    text = (tmp_path / "r" / "table.md").read_text()
    assert "†" not in text.split("## Statistics")[0].split("Cells:")[0]
    assert "No DeLong test" in text
    assert not (tmp_path / "r" / "roc_digits_digits_cur.png").exists()  # it drew the old ocsvm's curve
    assert "ROC figures removed (roc_digits_digits_cur.png)" in text
    assert f"never started in {tmp_path / 'b'}: 8" in text and f"{tmp_path / 'a'}: 7" not in text  # a's runs dropped


def test_kept_commands_whose_runs_were_all_dropped_leave_the_caption():
    runs = pd.DataFrame({"run_dir": ["multirun/t/0", "../../home/u/multirun/t_ocnn_linear/1"]})
    commands = [
        "python run.py -m experiment=t",  # no sweep dir: stays
        "python run.py -m experiment=t detector=ocnn hydra.sweep.dir=multirun/t_ocnn",  # its runs were dropped
        "python run.py -m experiment=t detector=ocnn hydra.sweep.dir=multirun/t_ocnn_linear",
    ]
    assert report.commands_with_runs(commands, runs) == [commands[0], commands[2]]
    assert report.commands_with_runs(commands, None) == commands
    # A dropped sweep whose last folder has the name of a new one's (.../t/mix against .../t_s25/mix) leaves too.
    runs = pd.DataFrame({"run_dir": ["multirun/t_s25/mix/0", "/home/u/multirun/t/cur/3"]})
    commands = [f"python run.py -m experiment=t hydra.sweep.dir=multirun/{d}" for d in ("t/mix", "t_s25/mix", "t/cur")]
    assert report.commands_with_runs(commands, runs) == commands[1:]
    assert report.has_runs("/elsewhere/multirun/t/cur", runs) and not report.has_runs("multirun/t_s25/cur", runs)
