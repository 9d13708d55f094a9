"""The MNIST one-class table (issue 4, item 8): every detector's AUROC per normal digit, mean and
std over seeds, beside the numbers Ruff et al. (ICML 2018) report for OC-SVM/SVDD and Deep SVDD and the CLAD
paper's Table 3 (Park et al. 2021) for CLAD, OC-NN and OCCNN.

    python run.py experiment=table3_mnist_one_class_clad     # CLAD, every image of the digit
    python run.py experiment=table3_mnist_one_class          # the baselines, 1,000 images of the digit
    python run.py experiment=table3_mnist_one_class_neural detector=occnn   # OCCNN with issue 13's defaults
    python run.py experiment=table3_mnist_one_class_neural detector=ocnn \
        hydra.sweep.dir=multirun/table3_mnist_one_class_neural_ocnn_linear   # OC-NN, its default g = linear
    python -m benchmarks.mnist_one_class multirun/table3_mnist_one_class multirun/table3_mnist_one_class_clad \
        multirun/table3_mnist_one_class_neural multirun/table3_mnist_one_class_neural_ocnn_linear

Reads every job's metrics.json and .hydra/config.yaml through sweep.py (nothing is parsed from
folder names), so it can be rerun while the sweep is still going. Writes results/mnist_one_class.csv
(numbers: one row per detector and digit, AUROC in %), results/mnist_one_class_runs.csv (one row
per run, with its commit and budget) and results/mnist_one_class.md (the rendered table, the command,
data, seeds and machine).

`--drop-kept ocnn` leaves the kept runs of a detector out, with their sweep commands (runs the roots supersede:
OC-NN's when its default became g = linear). `--keep results/mnist_one_class_runs.csv` adds new runs to a table whose earlier runs' folders are gone
(multirun/ is not in git): every row of that file that is not a run under the roots is kept as it is (a job
run again in a new folder is a new run, so a failed attempt stays reported beside it, as with folders), and the sweep commands, commits and budgets of those rows come from the file's own
columns or, for a file written before it had them, from the .md written beside it. The .md says how many
rows were carried and from where.
"""

from __future__ import annotations

import argparse
import logging
import platform
import re
from pathlib import Path

import numpy as np
import pandas as pd

from clad.report import commits, keep_runs, load_runs, relative_path, summarize, sweep_commands, variant_columns
from clad.report import drop_kept as report_drop_kept
from clad.tables import paper_numbers

log = logging.getLogger("mnist_one_class")

COMMAND = (
    "python run.py experiment=table3_mnist_one_class_clad && python run.py experiment=table3_mnist_one_class && "
    "python run.py experiment=table3_mnist_one_class_neural detector=occnn && "
    "python run.py experiment=table3_mnist_one_class_neural detector=ocnn "
    "hydra.sweep.dir=multirun/table3_mnist_one_class_neural_ocnn_linear && python -m benchmarks.mnist_one_class "
    "multirun/table3_mnist_one_class multirun/table3_mnist_one_class_clad multirun/table3_mnist_one_class_neural "
    "multirun/table3_mnist_one_class_neural_ocnn_linear"
)
# Ruff et al. 2018, Table 1, MNIST one-class AUROC (%): OC-SVM/SVDD (one number for both) and
# one-class Deep SVDD; the CLAD paper's Table 3 repeats them (../shared/paper/reported_auroc.csv).
RUFF = {
    "OC-SVM/SVDD (Ruff)": [98.6, 99.5, 82.5, 88.1, 94.9, 77.1, 96.5, 93.7, 88.9, 93.1],
    "Deep SVDD (Ruff)": [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5],
}
# The CLAD paper's Table 3 (Park et al. 2021; clad/paper_auroc.csv) for CLAD, OC-NN and OCCNN.
PARK = {
    f"{method} (Park)": [paper_numbers()[("mnist", f"one_class_{d}", method)] for d in range(10)]
    for method in ("CLAD", "OCNN", "OCCNN")
}
PUBLISHED = {**RUFF, **PARK}
EPOCH_KEYS = ("ae_epochs", "pretrain_epochs", "epochs", "train_epochs", "max_epochs", "min_steps")
ORDER = ["ocsvm", "svdd", "deepsvdd", "ocnn", "occnn", "ae_recon", "latent_kmeans", "clad"]


def build(roots: list[str]) -> pd.DataFrame:
    """The MNIST one-class runs under `roots`, one row each, with their normal digit; runs of one cell
    that differ in a setting other than the seed are named in a warning (the table averages them)."""
    runs = load_runs(*roots)
    runs = runs[(runs["dataset"] == "mnist") & (runs["split"] == "one_class")].copy()
    runs["digit"] = runs["split.normal_class"].astype(int)
    differ = variant_columns(runs, ["detector", "digit"])
    if differ:
        log.warning("runs of one (detector, digit) cell differ in %s; the table averages them", differ)
    return runs


# The columns of mnist_one_class_runs.csv: one row per run, enough to carry it into a later table (--keep).
RUN_COLUMNS = (
    "detector digit seed status auroc aupr_in aupr_out fpr95 fit_seconds score_seconds n_train n_test run_dir "
    "git_commit budget"
).split()


def previous_facts(md: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """From a .md this script wrote: its sweep commands, each detector's commits and each detector's budget."""
    lines = md.splitlines()
    commands, commits_of, budgets, block = [], {}, {}, None
    for line in lines:
        if line.startswith("- "):
            block = "made" if "the runs here were made by" in line else "budget" if "training budget" in line else None
            if line.startswith("- commits of the runs: "):
                text = line.removeprefix("- commits of the runs: ").split(" (not recorded")[0]
                for part in text.split("; "):
                    det, _, found = part.partition(" ")
                    commits_of[det] = found
        elif block == "made" and line.startswith("  - `"):
            commands.append(line.strip()[3:-1])
        elif block == "budget" and line.startswith("  - ") and ": " in line:
            det, _, budget = line[4:].partition(": ")
            budgets[det] = budget
    return commands, commits_of, budgets


def carry(previous: Path, runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """`runs` plus the rows of an earlier runs CSV that are not runs under the roots (clad.report.keep_runs), the
    kept rows' commit and budget filled from the .md beside that CSV where the CSV predates those columns; and
    that .md's sweep commands."""
    merged = keep_runs(runs, previous)
    kept = merged["kept_from"].notna()
    md = previous.with_name(previous.name.removesuffix("_runs.csv") + ".md")
    commands, commits_of, budgets = previous_facts(md.read_text()) if md.exists() else ([], {}, {})
    stored = set(pd.read_csv(previous, nrows=0).columns)
    for column, facts in (("git_commit", commits_of), ("budget", budgets)):
        if column not in stored:
            fill = merged.loc[kept, "detector"].map(
                lambda d: None if facts.get(d) in (None, "not recorded") else facts[d]
            )
            merged[column] = merged[column].astype(object) if column in merged else None
            merged.loc[kept, column] = fill
    return merged, commands


DETECTOR_OVERRIDE = re.compile(r"(?:^|\s)detector=(\S+)")


def drop_kept(runs: pd.DataFrame, commands: list[str], detectors: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """`runs` without the kept rows of `detectors`, and `commands` without the sweeps of those detectors alone
    (a command whose `detector=` override names one of them; a sweep of several detectors stays)."""
    commands = [c for c in commands if not any(m in detectors for m in DETECTOR_OVERRIDE.findall(c))]
    return report_drop_kept(runs, detectors), commands


def budget_of(runs: pd.DataFrame) -> str:
    """A detector's training budget as its runs' configs say (epochs, steps, images a class)."""
    keys = [c for c in runs.columns if c.split(".")[0] == "detector" and c.split(".")[-1] in EPOCH_KEYS]
    keys += [c for c in ("dataset.max_train_per_class", "detector.max_train") if c in runs.columns]
    parts = []
    for key in keys:
        values = sorted(
            {str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in runs[key].dropna()}
        )
        if values:
            parts.append(f"{key.split('.')[-1]} {'/'.join(values)}")
    return ", ".join(parts) or "(not in the runs' configs)"


def budget_text(budgets: pd.Series) -> str:
    """The distinct budgets of a detector's runs; one budget written in another key order is the same budget."""
    distinct = {}
    for text in budgets.dropna():
        distinct.setdefault(frozenset(text.split(", ")), text)
    return " | ".join(sorted(distinct.values())) or "(not recorded)"


def run_commits(runs: pd.DataFrame) -> str:
    """Each detector's commits as its records name them."""
    parts = []
    for det, group in runs.groupby("detector"):
        found = sorted({part[:7] for c in commits(group) for part in str(c).split("/")})
        parts.append(f"{det} {'/'.join(found) if found else 'not recorded'}")
    return "; ".join(parts)


def render(table: pd.DataFrame, wide: pd.DataFrame) -> str:
    detectors = [d for d in ORDER if d in wide.columns] + sorted(set(wide.columns) - set(ORDER))
    cell = {(r.detector, r.digit): (r.auroc_pct_mean, r.auroc_pct_std, r.auroc_pct_count) for r in table.itertuples()}
    lines = [
        "| digit | " + " | ".join(detectors) + " | " + " | ".join(PUBLISHED) + " |",
        "|---" * (1 + len(detectors) + len(PUBLISHED)) + "|",
    ]
    for d in range(10):
        row = []
        for det in detectors:
            mean, std, n = cell.get((det, d), (np.nan, np.nan, 0))
            row.append(
                "–" if n == 0 else f"{mean:.1f} ± {0 if pd.isna(std) else std:.1f}" + ("" if n >= 2 else f" (n={n})")
            )
        lines.append(
            f"| {d} | " + " | ".join(row) + " | " + " | ".join(f"{v[d]:.1f}" for v in PUBLISHED.values()) + " |"
        )
    means = []
    for det in detectors:
        col = wide[det].dropna()
        means.append(
            "–" if col.empty else f"**{col.mean():.1f}**" + ("" if len(col) == 10 else f" ({len(col)} digits)")
        )
    lines.append(
        "| mean | " + " | ".join(means) + " | " + " | ".join(f"**{np.mean(v):.1f}**" for v in PUBLISHED.values()) + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("roots", nargs="+", help="multirun folders of benchmarks/mnist_one_class.sh")
    p.add_argument("--out", type=Path, default=Path("results/mnist_one_class"))
    p.add_argument("--keep", type=Path, help="an earlier *_runs.csv whose rows the roots do not replace are kept")
    p.add_argument(
        "--drop-kept",
        nargs="+",
        default=[],
        metavar="DETECTOR",
        help="leave out the kept runs (and their sweep commands) of these detectors: runs the roots supersede",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    runs = build(args.roots)
    runs["run_dir"] = runs["run_dir"].map(relative_path)  # no path only this machine has
    ok_new = runs[runs["status"] == "ok"]
    budgets_new = {det: budget_of(group) for det, group in ok_new.groupby("detector")}
    runs["budget"] = runs["detector"].map(budgets_new)
    made = sweep_commands(args.roots)
    n_carried, carried_note = 0, ""
    if args.keep:
        runs, old_commands = carry(args.keep, runs)
        runs, old_commands = drop_kept(runs, old_commands, args.drop_kept)
        n_carried = int(runs["kept_from"].notna().sum())
        made = old_commands + [c for c in made if c not in old_commands]
        carried_note = (
            f"- {n_carried} of the runs are carried from `{args.keep}` (`--keep`): their folders are not in this "
            "checkout; their numbers, commits and budgets are that file's.\n"
        )
        if args.drop_kept:
            carried_note += (
                f"- left out of the carried runs (`--drop-kept`): those of {', '.join(args.drop_kept)}, superseded by "
                "the runs under the roots.\n"
            )
    runs["digit"] = runs["digit"].astype(int)
    runs["auroc_pct"] = 100 * runs["auroc"]
    table = summarize(
        runs, ["detector", "digit"], ["auroc_pct", "fit_seconds", "score_seconds"], split_on_variants=False
    )
    wide = table.pivot(index="digit", columns="detector", values="auroc_pct_mean")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    runs[[c for c in RUN_COLUMNS if c in runs.columns]].sort_values(["detector", "digit", "seed"]).to_csv(
        args.out.parent / f"{args.out.name}_runs.csv", index=False
    )
    ok = runs[runs["status"] == "ok"]
    timing = ok.groupby("detector")[["fit_seconds", "score_seconds"]].median().round(1)
    seeds = "; ".join(f"{det} {' '.join(map(str, sorted(set(g['seed']))))}" for det, g in ok.groupby("detector"))
    made = "".join(f"  - `{line}`\n" for line in made)
    budgets = "\n".join(f"  - {det}: {budget_text(group['budget'])}" for det, group in ok.groupby("detector"))
    commit_text = run_commits(runs)
    if "not recorded" in commit_text:
        commit_text += " (not recorded: runs made with code older than the run record)"
    text = f"""# MNIST one-class AUROC (%), mean ± std over seeds

- command: `{COMMAND}` (the experiments of conf/experiment/); the runs here were made by
{made}{carried_note}- commits of the runs: {commit_text}
- data: MNIST (../shared/data/MNIST, the official files); normal = one digit, anomalies = the other nine;
  baselines: 1,000 training images of the digit (seeded subset; 900 train, 100 validation, unused here),
  tested on the full 10,000-image test set. Ruff et al. train on all ~6,000 images of the digit.
- seeds: {seeds}; {len(ok)} successful runs, {int((runs["status"] != "ok").sum())} failed; cells with fewer than 2 seeds say n.
- machine: {platform.node()} ({platform.platform()}), 2 shared CPU cores, one thread per run, no GPU.
- training budget of each detector, as its runs were configured (budget=cpu of the runs' commit; in the
  current code ae_recon and latent_kmeans train CLAD's autoencoder budget, so re-runs differ for them):
{budgets}
  Hyperparameters are the configs' defaults; none was chosen on test data.
- scores and per-run metrics: each job's folder (run_dir in mnist_one_class_runs.csv).

{render(table, wide)}

Median seconds per run (fit / score of 10,000 test images):

{timing.to_markdown()}
"""
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
