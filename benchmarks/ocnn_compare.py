"""OC-NN with one setting changed against the default's MNIST one-class runs, run by run (issue 13).

    python -m benchmarks.ocnn_compare multirun/table3_mnist_one_class_neural_ocnn_linear \
        --baseline results/mnist_one_class_runs.csv --out results/ocnn_linear_mnist/compare

For every (seed, digit) of the new runs: the default's AUROC (the `ocnn` rows of `--baseline`, the table's
runs CSV), the new AUROC, the new run's final objective and r (its `run.log` line `OCNN: final loss ..., r ...`)
and the spread of its test scores (`scores.npz`), the label-free signals of `results/baselines_diagnosis.md`,
parts 6-7. Then, per seed, the mean over the digits both have, and per digit the std over the seeds both have.
Writes OUT.csv and OUT.md.
`--keep OUT.csv` adds new runs (say, another seed) to a comparison whose earlier run folders are gone.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from clad.report import load_runs, provenance, relative_path

log = logging.getLogger("ocnn_compare")

# compare()'s columns: the run, both AUROCs (%), the run's label-free signals, its fit time and folder.
COLUMNS = "seed digit auroc_default auroc_new objective r spread spread_r distinct fit_seconds run_dir".split()
FINAL = re.compile(r"OCNN: final loss (\S+), r (\S+)")


def final_objective(run_dir: str) -> tuple[float, float]:
    """(final objective, r) from a run's run.log; NaN when the run did not get there."""
    path = Path(run_dir) / "run.log"
    found = FINAL.findall(path.read_text()) if path.exists() else []
    return (float(found[-1][0]), float(found[-1][1])) if found else (float("nan"), float("nan"))


def score_spread(run_dir: str) -> tuple[float, int]:
    """(q95 - q05, number of distinct values) of a run's test scores (scores.npz; no labels used), part 7's
    measure of how constant the outputs are; (NaN, 0) without the file."""
    path = Path(run_dir) / "scores.npz"
    if not path.exists():
        return float("nan"), 0
    score = np.load(path)["score"]
    low, high = np.quantile(score, [0.05, 0.95])
    return float(high - low), int(np.unique(score).size)


def compare(roots: list[str], baseline: str | Path, keep: str | Path | None = None) -> pd.DataFrame:
    """One row per new ok run (COLUMNS): seed, digit, the default's AUROC and the new one (both in %), objective,
    r, test-score spread, fit time.
    `keep`: an earlier OUT.csv whose run folders are gone; its rows that are not runs under `roots` are kept."""
    runs = load_runs(*roots)
    runs = runs[(runs["detector"] == "ocnn") & (runs["status"] == "ok")].copy()
    runs["digit"] = runs["split.normal_class"].astype(int)
    runs[["objective", "r"]] = [final_objective(d) for d in runs["run_dir"]]
    runs[["spread", "distinct"]] = [score_spread(d) for d in runs["run_dir"]]
    runs["spread_r"] = runs["spread"] / runs["r"]
    old = pd.read_csv(baseline)
    old = old[(old["detector"] == "ocnn") & (old["status"] == "ok")]
    old = old.groupby(["seed", "digit"], as_index=False)["auroc"].mean().rename(columns={"auroc": "auroc_default"})
    table = runs.rename(columns={"auroc": "auroc_new"}).merge(old, on=["seed", "digit"], how="left")[COLUMNS]
    table[["auroc_new", "auroc_default"]] *= 100
    table["run_dir"] = table["run_dir"].map(relative_path)
    if keep is not None:
        old_rows = pd.read_csv(keep)
        old_rows = old_rows[~old_rows["run_dir"].isin(table["run_dir"])]
        log.info("kept %d runs of %s", len(old_rows), keep)
        table = pd.concat([table, old_rows], ignore_index=True)
    return table.sort_values(["seed", "digit"]).reset_index(drop=True)


def summary(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per seed: mean over digits of both AUROCs and how often the new one is higher; per digit: std over seeds."""
    both = table.dropna(subset=["auroc_default", "auroc_new"])
    per_seed = both.groupby("seed").agg(
        digits=("digit", "size"),
        default=("auroc_default", "mean"),
        new=("auroc_new", "mean"),
        new_higher=("auroc_new", lambda s: int((s > both.loc[s.index, "auroc_default"]).sum())),
        r_min=("r", "min"),
        r_max=("r", "max"),
    )
    per_digit = both.groupby("digit").agg(
        seeds=("seed", "size"), default_std=("auroc_default", "std"), new_std=("auroc_new", "std")
    )
    return per_seed, per_digit[per_digit["seeds"] > 1]


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", help="sweep folders of the new OC-NN runs")
    parser.add_argument("--baseline", default="results/mnist_one_class_runs.csv")
    parser.add_argument("--out", default="results/ocnn_linear_mnist/compare")
    parser.add_argument("--keep", help="an earlier OUT.csv whose run folders are gone: its other runs are kept")
    args = parser.parse_args(argv)
    table = compare(args.roots, args.baseline, args.keep)
    per_seed, per_digit = summary(table)
    out = Path(args.out)
    kept = f"kept: the rows of {relative_path(args.keep)} that are not runs under the roots\n" if args.keep else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False)
    fmt = {
        "auroc_default": "{:.1f}",
        "auroc_new": "{:.1f}",
        "objective": "{:.3f}",
        "r": "{:.3f}",
        "spread": "{:.1e}",
        "spread_r": "{:.1e}",
        "distinct": "{:.0f}",
        "fit_seconds": "{:.0f}",
    }
    shown = table.drop(columns="run_dir").assign(**{c: table[c].map(f.format) for c, f in fmt.items()})
    text = (
        f"# OC-NN, MNIST one-class: the new runs against the default's ({relative_path(args.baseline)})\n\n"
        "AUROC in %; objective and r: the new run's final eq. 4 objective and r (its run.log); spread and distinct: "
        "q95 - q05 of its test scores (spread_r: divided by r) and how many distinct values they take (part 7 of "
        "results/baselines_diagnosis.md: the default's spreads were 1.2-2.4e-4 on MNIST's Table 1 scenarios, "
        "1.4e-4 to 1.3e-3 of r).\n\n"
        f"{shown.to_markdown(index=False, disable_numparse=True)}\n\n## Per seed (digits both have)\n\n"
        f"{per_seed.round(3).to_markdown()}\n\n## Per digit: std over seeds\n\n"
        f"{per_digit.round(1).to_markdown() if len(per_digit) else '(one seed only)'}\n\n"
        f"```\n{provenance(args.roots, load_runs(*args.roots))}{kept}```\n"
    )
    out.with_suffix(".md").write_text(text)
    log.info("wrote %s and %s", out.with_suffix(".csv"), out.with_suffix(".md"))


if __name__ == "__main__":
    main()
