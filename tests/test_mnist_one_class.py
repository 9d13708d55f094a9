"""benchmarks/mnist_one_class.py: the table from run folders, and `--keep`, which adds new runs to a table
whose earlier run folders are gone without losing or double-counting any run."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import yaml

from benchmarks import mnist_one_class


def _run(folder, detector, digit, seed, auroc=0.9, status="ok", commit="abc1234def", epochs=5):
    """A run folder as clad.experiment leaves it (metrics.json and the resolved config)."""
    folder.mkdir(parents=True)
    metrics = {
        "dataset": "mnist",
        "split": "one_class",
        "detector": detector,
        "seed": seed,
        "status": status,
        "run_id": uuid.uuid4().hex[:12],
        "git_commit": commit,
        "fit_seconds": 10.0,
        "score_seconds": 1.0,
    }
    if status == "ok":
        metrics["auroc"] = auroc
    config = {"seed": seed, "split": {"normal_class": digit}, "detector": {"epochs": epochs, "random_state": seed}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.yaml").write_text(yaml.safe_dump(config))


def test_the_table_averages_seeds_per_digit_and_records_commit_and_budget(tmp_path):
    root = tmp_path / "a"
    _run(root / "0", "ocsvm", 0, 0, auroc=0.90)
    _run(root / "1", "ocsvm", 0, 1, auroc=0.80)
    out = tmp_path / "res" / "t"
    mnist_one_class.main([str(root), "--out", str(out)])
    text = out.with_suffix(".md").read_text()
    assert "| 0 | 85.0 ± 7.1 |" in text
    assert "ocsvm abc1234" in text and "  - ocsvm: epochs 5" in text
    assert "(not recorded" not in text  # every run names its commit: no note about runs that do not
    runs = pd.read_csv(out.parent / "t_runs.csv")
    assert set(runs["git_commit"]) == {"abc1234def"} and set(runs["budget"]) == {"epochs 5"}


def test_keep_adds_new_runs_without_counting_a_run_twice(tmp_path):
    first = tmp_path / "first"
    _run(first / "0", "ocsvm", 0, 0, auroc=0.90, commit="1111111aaa")
    _run(first / "1", "occnn", 0, 0, status="killed", commit="1111111aaa")
    out = tmp_path / "res" / "t"
    mnist_one_class.main([str(first), "--out", str(out)])
    # The first sweep's folders are gone; a new sweep re-runs the killed cell and adds a seed.
    for f in first.iterdir():
        for g in f.iterdir():
            g.unlink()
        f.rmdir()
    second = tmp_path / "second"
    _run(second / "0", "occnn", 0, 0, auroc=0.70, commit="2222222bbb", epochs=7)
    _run(second / "1", "occnn", 0, 1, auroc=0.80, commit="2222222bbb", epochs=7)
    kept = out.parent / "t_runs.csv"
    mnist_one_class.main([str(second), "--out", str(out), "--keep", str(kept)])

    runs = pd.read_csv(kept).set_index(["detector", "digit", "seed"]).sort_index()
    # the killed attempt stays beside its re-run, as with folders
    assert sorted(runs.index) == [("occnn", 0, 0), ("occnn", 0, 0), ("occnn", 0, 1), ("ocsvm", 0, 0)]
    assert runs.loc[("ocsvm", 0, 0), "auroc"] == 0.90 and runs.loc[("ocsvm", 0, 0), "git_commit"] == "1111111aaa"
    text = out.with_suffix(".md").read_text()
    assert "2 of the runs are carried from" in text
    assert "| 0 | 90.0 ± 0.0 (n=1) | 75.0 ± 7.1 |" in text  # ocsvm, then occnn (ORDER)
    assert "ocsvm 1111111" in text and "occnn 1111111/2222222" in text  # the killed attempt was at 1111111
    assert "  - ocsvm: epochs 5" in text and "  - occnn: epochs 7" in text
    assert "3 successful runs, 1 failed" in text
    # a second --keep of the table it wrote counts no run twice
    mnist_one_class.main([str(second), "--out", str(out), "--keep", str(kept)])
    assert len(pd.read_csv(kept)) == 4


def test_keep_reads_commits_and_budgets_from_the_md_of_an_older_csv(tmp_path):
    """A runs CSV written before it had commit and budget columns: they come from the .md beside it."""
    old = tmp_path / "res" / "t_runs.csv"
    old.parent.mkdir(parents=True)
    pd.DataFrame(
        [{"detector": "svdd", "digit": 3, "seed": 0, "status": "ok", "auroc": 0.5, "fit_seconds": 1.0,
          "score_seconds": 1.0, "run_dir": "multirun/x/0"}]
    ).to_csv(old, index=False)  # fmt: skip
    old.with_name("t.md").write_text(
        "# title\n\n- command: `x`; the runs here were made by\n  - `python run.py -m detector=svdd`\n"
        "- commits of the runs: clad not recorded; svdd 287bfde (not recorded: runs made with code older)\n"
        "- data: MNIST\n- training budget of each detector, as configured (budget=cpu; in the\n"
        "  current code ...):\n  - svdd: max_train 1000\n  Hyperparameters are the configs' defaults.\n"
    )
    commands, commits_of, budgets = mnist_one_class.previous_facts(old.with_name("t.md").read_text())
    assert commands == ["python run.py -m detector=svdd"]
    assert commits_of == {"clad": "not recorded", "svdd": "287bfde"} and budgets == {"svdd": "max_train 1000"}
    new = tmp_path / "new"
    _run(new / "0", "ocsvm", 3, 0)
    mnist_one_class.main([str(new), "--out", str(old.parent / "t"), "--keep", str(old)])
    text = old.with_name("t.md").read_text()
    assert (
        "  - `python run.py -m detector=svdd`" in text and "svdd 287bfde" in text and "  - svdd: max_train 1000" in text
    )


def test_a_budget_in_another_key_order_is_the_same_budget():
    budgets = pd.Series(["epochs 5, min_steps 3000", "min_steps 3000, epochs 5", None, "epochs 7"])
    assert mnist_one_class.budget_text(budgets) == "epochs 5, min_steps 3000 | epochs 7"


def test_drop_kept_replaces_a_detectors_carried_runs_by_the_new_ones(tmp_path):
    """OC-NN's default changed: its carried runs (the old default) leave the table, the other detectors' stay."""
    first = tmp_path / "first"
    _run(first / "0", "ocsvm", 0, 0, auroc=0.90)
    _run(first / "1", "ocnn", 0, 0, auroc=0.60)
    out = tmp_path / "res" / "t"
    mnist_one_class.main([str(first), "--out", str(out)])
    assert mnist_one_class.drop_kept(
        pd.DataFrame({"detector": ["ocnn", "ocnn", "ocsvm"], "kept_from": ["x", None, "x"]}),
        ["python run.py detector=ocnn seed=1", "python run.py -m detector=ocnn,occnn", "python run.py seed=2"],
        ["ocnn"],
    )[1] == ["python run.py -m detector=ocnn,occnn", "python run.py seed=2"]
    new = tmp_path / "new"
    _run(new / "0", "ocnn", 0, 0, auroc=0.95)
    kept = out.parent / "t_runs.csv"
    mnist_one_class.main([str(new), "--out", str(out), "--keep", str(kept), "--drop-kept", "ocnn"])
    runs = pd.read_csv(kept)
    assert sorted(zip(runs["detector"], runs["auroc"])) == [("ocnn", 0.95), ("ocsvm", 0.90)]
    text = out.with_suffix(".md").read_text()
    assert "1 of the runs are carried from" in text and "(`--drop-kept`): those of ocnn" in text
