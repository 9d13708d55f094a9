"""The report of a sweep as a researcher reads it (issue 10): a real 2-detector x 2-seed multirun
through `sweep.py --out` (runs.csv, summary, the paper's layout in Markdown and LaTeX), the LaTeX
well formed, and a sweep killed mid-way that a re-run finishes without running any job twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import sweep
from clad.tables import compare_methods, render_latex, render_markdown, wide_table
from tests.helpers.paths import REPO

RUN_PY = str(REPO / "run.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _summary(rows):
    cols = ["dataset", "split", "detector", "auroc_mean", "auroc_std", "auroc_count", "failed"]
    return pd.DataFrame(rows, columns=cols)


def test_paper_layout_has_methods_as_rows_scenarios_as_columns_and_bolds_the_best():
    summary = _summary(
        [
            ("mnist", "mnist_cur", "clad", 0.94, 0.01, 3, 0),
            ("mnist", "mnist_str", "clad", 0.90, 0.02, 3, 0),
            ("mnist", "mnist_cur", "ocsvm", 0.70, 0.00, 3, 0),
            ("mnist", "mnist_str", "ocsvm", 0.92, 0.01, 2, 1),
        ]
    )
    cells = wide_table(summary, paper={("mnist", "CUR", "CLAD"): 94.0})
    assert list(cells.index) == ["clad", "ocsvm"] and list(cells.columns) == [
        "mnist/CUR",
        "mnist/STR",
    ]  # the paper's order
    text = render_markdown(cells, paper=True)
    assert "| clad | **94.0 ± 1.0** (3) [94.0, +0.0] | 90.0 ± 2.0 (3) | 92.0 |" in text
    assert "| ocsvm | 70.0 ± 0.0 (3) | **92.0 ± 1.0** (2) +1 failed | 81.0 |" in text


def test_latex_table_is_a_well_formed_tabular():
    summary = _summary(
        [
            ("gtsrb", "gtsrb_spdl", "ae_recon", 0.8, 0.1, 3, 0),
            ("gtsrb", "gtsrb_warn", "ae_recon", 0.7, float("nan"), 1, 0),
            ("gtsrb", "gtsrb_spdl", "latent_kmeans", 0.6, 0.1, 0, 3),
        ]
    )
    tex = render_latex(wide_table(summary))
    lines = tex.strip().splitlines()
    assert lines[0] == r"\begin{tabular}{lccc}" and lines[-1] == r"\end{tabular}"
    rows = [line for line in lines if line.endswith(r"\\")]
    assert len(rows) == 3 and {row.count("&") for row in rows} == {3}  # header + 2 methods, 4 cells each
    body = "\n".join(rows)
    assert "ae\\_recon" in body and "latent\\_kmeans" in body and "_" not in body.replace("\\_", "")
    assert "failed (3)" in body and r"\textbf{" in body
    assert r"\textbf{70.0} (1)" in body and r"70.0 $\pm$" not in body  # one seed has no spread to show


def test_a_cell_of_one_seed_shows_its_number_without_a_spread():
    summary = _summary([("mnist", "mnist_cur", "clad", 0.94, float("nan"), 1, 0)])
    text = render_markdown(wide_table(summary))
    assert "| clad | **94.0** (1) | 94.0 |" in text and "± 0.0" not in text


@pytest.mark.slow
def _block_runs(present: dict[str, int], n_splits: int = 3, seeds: int = 2) -> pd.DataFrame:
    """ok runs (no scores on disk) of each method in its first `present[method]` of the
    n_splits x seeds blocks, the methods' AUROCs in a fixed order in every block."""
    blocks = [(f"s{i}", seed) for i in range(n_splits) for seed in range(seeds)]
    rows = [
        {
            "status": "ok",
            "dataset": "d",
            "split": split,
            "seed": seed,
            "detector": m,
            "run_dir": "none",
            "auroc": 0.9 - 0.1 * j,
        }
        for j, (m, n) in enumerate(present.items())
        for split, seed in blocks[:n]
    ]
    return pd.DataFrame(rows)


def test_a_method_in_few_blocks_is_left_out_of_the_pooled_statistics_not_the_blocks(tmp_path):
    runs = _block_runs({"clad": 6, "a": 6, "b": 6, "new": 1})  # "new": a row being filled in
    text, _ = compare_methods(runs, "clad", tmp_path)
    assert "Pooled over 6 blocks" in text and "left out, with results in fewer than half of the blocks: new" in text
    assert "| new " not in text and "| a " in text
    # a method in half of the blocks stays, and the pooling keeps to the blocks it has
    text, _ = compare_methods(_block_runs({"clad": 6, "a": 6, "b": 6, "half": 3}), "clad", tmp_path)
    assert "Pooled over 3 blocks" in text and "left out," not in text and "| half " in text
    # ... and a second view pools all six blocks without it
    assert "The same over 6 blocks without the partly run methods (half)" in text
    second = text.split("The same over 6 blocks")[1]
    assert "| half " not in second and "| a " in second and "| b " in second
    # with every method in every block there is one view only
    text, _ = compare_methods(_block_runs({"clad": 6, "a": 6, "b": 6}), "clad", tmp_path)
    assert "Pooled over 6 blocks" in text and "The same over" not in text


def test_a_two_detector_two_seed_sweep_becomes_a_table(tmp_path):
    sweep_dir = tmp_path / "multirun"
    cmd = [
        sys.executable,
        RUN_PY,
        "-m",
        "budget=smoke",
        "device=cpu",
        "detector=clad,ocsvm",
        "seed=0,1",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    done = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "report"
    sweep.main([str(sweep_dir), "--out", str(out)])
    runs = pd.read_csv(out / "runs.csv")
    summary = pd.read_csv(out / "summary.csv")
    assert len(runs) == 4 and (runs["status"] == "ok").all()
    assert sorted(summary["detector"]) == ["clad", "ocsvm"] and summary["auroc_count"].tolist() == [2, 2]
    assert set(summary["seeds"]) == {"0 1"}
    table = (out / "table.md").read_text()
    assert "| method | digits/CUR | mean |" in table and "runs made by: python run.py -m" in table
    assert (
        (out / "table.tex").exists()
        and (out / "per_class.csv").exists()
        and (out / "roc_digits_digits_cur.png").exists()
    )


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_runs_no_job_twice(tmp_path):
    """Kill a 3-job sweep after its first job finished; the same command again finishes the rest and
    leaves the finished job as it was (same run_id): every job done exactly once."""
    sweep_dir = tmp_path / "multirun"
    cmd = [sys.executable, RUN_PY, "-m", "device=cpu", "detector=clad", "seed=0,1,2", f"hydra.sweep.dir={sweep_dir}"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = sweep_dir / "0" / "metrics.json"
    deadline = time.time() + 240
    while time.time() < deadline and not (first.exists() and json.loads(first.read_text())["status"] == "ok"):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert json.loads(first.read_text())["status"] == "ok"
    before = json.loads(first.read_text())["run_id"]
    unfinished = [
        n
        for n in ("1", "2")
        if not (sweep_dir / n / "metrics.json").exists()
        or json.loads((sweep_dir / n / "metrics.json").read_text())["status"] != "ok"
    ]
    assert unfinished, "the sweep finished before it was killed; nothing to resume"
    done = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    records = {n: json.loads((sweep_dir / n / "metrics.json").read_text()) for n in ("0", "1", "2")}
    assert all(r["status"] == "ok" for r in records.values())
    assert records["0"]["run_id"] == before  # not run again
    assert sorted(r["seed"] for r in records.values()) == [0, 1, 2]
