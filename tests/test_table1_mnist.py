"""benchmarks/table1_mnist.py --keep: new runs join a table whose earlier run folders are gone; the README keeps
the earlier runs' timing and notes, and reporting the same roots twice changes nothing."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest
import yaml

from benchmarks import table1_mnist


def _run(folder, detector, split, seed, auroc):
    folder.mkdir(parents=True)
    record = {"dataset": "mnist", "split": split, "detector": detector, "seed": seed, "status": "ok",
              "run_id": uuid.uuid4().hex[:12], "auroc": auroc, "fit_seconds": 5.0}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(record))
    (folder / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "detector": {"random_state": seed}}))


def test_keep_adds_runs_and_keeps_the_earlier_readme_facts(tmp_path):
    paper = tmp_path / "paper.csv"
    pd.DataFrame([{"table": 1, "dataset": "mnist", "scenario": "CUR", "method": "OCSVM", "auroc": 69.9}]).to_csv(paper)
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    _run(first / "ocsvm" / "mnist_cur" / "seed0", "ocsvm", "mnist_cur", 0, 0.70)
    (first / "timing.txt").write_text("start 2026-01-01T00:00:00Z (a)\nend 2026-01-01T01:00:00Z (a)\n")
    table1_mnist.main([str(first), "--out", str(out), "--paper", str(paper), "--note", "first note."])
    for f in (first / "ocsvm" / "mnist_cur" / "seed0").iterdir():  # the first folders are gone
        f.unlink()
    _run(second / "ocnn" / "mnist_cur" / "seed0", "ocnn", "mnist_cur", 0, 0.90)
    (second / "timing.txt").write_text("start 2026-02-01T00:00:00Z (b)\nend 2026-02-01T01:00:00Z (b)\n")
    args = [str(second), "--out", str(out), "--paper", str(paper), "--keep", str(out / "runs.csv")]
    table1_mnist.main(args)

    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["detector"]) == ["ocnn", "ocsvm"]
    table = (out / "table.md").read_text()
    assert "70.0 (n=1) [paper 69.9]" in table and "90.0 (n=1)" in table
    readme = (out / "README.md").read_text()
    assert "(a)" in readme and "(b)" in readme and "first note." in readme
    assert "1 runs are kept from" in readme
    table1_mnist.main(args)  # the same roots again: no run and no timing line twice
    assert len(pd.read_csv(out / "runs.csv")) == 2 and (out / "README.md").read_text() == readme


def test_drop_kept_replaces_a_detectors_earlier_runs(tmp_path):
    """A detector re-run at a new default: --drop-kept leaves its kept runs out, so a cell never mixes old and new
    runs; the other detectors' kept runs stay."""
    paper = tmp_path / "paper.csv"
    pd.DataFrame([{"table": 1, "dataset": "mnist", "scenario": "CUR", "method": "OCNN", "auroc": 81.4}]).to_csv(paper)
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    _run(first / "ocnn" / "mnist_cur" / "seed0", "ocnn", "mnist_cur", 0, 0.50)
    _run(first / "ocsvm" / "mnist_cur" / "seed0", "ocsvm", "mnist_cur", 0, 0.70)
    table1_mnist.main([str(first), "--out", str(out), "--paper", str(paper)])
    _run(second / "ocnn" / "mnist_cur" / "seed0", "ocnn", "mnist_cur", 0, 0.90)
    keep = ["--keep", str(out / "runs.csv")]
    table1_mnist.main([str(second), "--out", str(out), "--paper", str(paper), *keep, "--drop-kept", "ocnn"])

    runs = pd.read_csv(out / "runs.csv")
    assert sorted(zip(runs["detector"], runs["auroc"])) == [("ocnn", 0.90), ("ocsvm", 0.70)]
    table = (out / "table.md").read_text()
    assert "90.0 (n=1) [paper 81.4]" in table and "--drop-kept ocnn" in table
    assert "The kept runs of ocnn are left out" in (out / "README.md").read_text()


def test_drop_kept_refuses_an_unknown_detector_and_needs_keep(tmp_path, capsys):
    for args in (["--drop-kept", "ocnn"], ["--keep", "x.csv", "--drop-kept", "oc_nn"]):
        with pytest.raises(SystemExit):
            table1_mnist.main([str(tmp_path), *args])
    err = capsys.readouterr().err
    assert "needs --keep" in err and "'oc_nn'" in err and "accepted" in err
