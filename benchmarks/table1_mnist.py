"""The paper's Table 1 on MNIST from the runs of benchmarks/table1_mnist.sh: one row per run
(runs.csv), mean ± std over seeds beside the paper's number for each cell (table.md), and a README
with the commands, budget, commit, machine and wall time.

    python -m benchmarks.table1_mnist multirun/table1_mnist --out results/table1_mnist

`--keep results/table1_mnist/runs.csv` adds new runs to a table whose earlier run folders are gone (multirun/ is
not in git): the rows of that file that are not runs under the roots are kept, and the README keeps the earlier
runs' timing, code changes and machine notes (read from the README beside that file) beside the new ones.
`--drop-kept ocnn` leaves the kept runs of a detector out: runs that the roots supersede (e.g. OC-NN re-run at a new
default), so a cell never mixes the old runs with the new.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
from pathlib import Path

import pandas as pd

from clad.report import drop_kept, keep_runs, load_runs
from clad.tables import PAPER_METHODS

ROOT = Path(__file__).resolve().parents[1]
DETECTORS = ["clad", "deepsvdd", "ocsvm", "svdd", "ocnn", "occnn", "ae_recon", "latent_kmeans"]
PAPER_NAMES = PAPER_METHODS  # detector -> the paper's method name
SCENARIOS = {"mnist_cur": "CUR", "mnist_str": "STR", "mnist_mix": "MIX"}
COLUMNS = [
    "split",
    "detector",
    "seed",
    "auroc",
    "status",
    "aupr_in",
    "aupr_out",
    "fpr95",
    "fit_seconds",
    "score_seconds",
    "n_train",
    "clf_holdout_accuracy",
    "cluster_min_share",
    "cluster_max_share",
    "pseudo_label_nmi",
    "n_warnings",
    "run_dir",
]


def paper_numbers(path: Path) -> dict[tuple[str, str], float]:
    df = pd.read_csv(path)
    df = df[(df["dataset"] == "mnist") & (df["table"] == 1)]
    return {(r.scenario, r.method): float(r.auroc) for r in df.itertuples()}


def table(runs: pd.DataFrame, paper: dict[tuple[str, str], float]) -> pd.DataFrame:
    ok = runs[runs["status"] == "ok"]
    rows = []
    for split, scenario in SCENARIOS.items():
        row = {"scenario": f"{scenario} ({split})"}
        for det in DETECTORS:
            a = 100 * ok[(ok["split"] == split) & (ok["detector"] == det)]["auroc"]
            cell = (
                f"{a.mean():.1f} ± {a.std():.1f} (n={len(a)})"
                if len(a) > 1
                else (f"{a.mean():.1f} (n=1)" if len(a) else "–")
            )
            if (scenario, PAPER_NAMES.get(det)) in paper:
                cell += f" [paper {paper[(scenario, PAPER_NAMES[det])]:.1f}]"
            row[det] = cell
        rows.append(row)
    mean = {"scenario": "mean of the 3 scenario means"}
    for det in DETECTORS:
        means = [100 * ok[(ok["split"] == s) & (ok["detector"] == det)]["auroc"].mean() for s in SCENARIOS]
        papers = [paper.get((sc, PAPER_NAMES.get(det))) for sc in SCENARIOS.values()]
        cell = f"{pd.Series(means).mean():.1f}" if not pd.Series(means).isna().any() else "–"
        if all(p is not None for p in papers):
            cell += f" [paper {sum(papers) / 3:.1f}]"
        mean[det] = cell
    rows.append(mean)
    return pd.DataFrame(rows)


def earlier_readme(path: Path) -> dict[str, str]:
    """From a README this script wrote: its code-change lines, its machine note and its timing block."""
    text = path.read_text() if path.exists() else ""
    changes = text.split("(a job runs the code of its start):\n", 1)[-1].split("\n- Machine:", 1)[0] if text else ""
    machine = text.split("no GPU.", 1)[-1].split("\n- Wall time", 1)[0].strip() if "no GPU." in text else ""
    timing = text.split("```\n", 1)[-1].split("```", 1)[0] if "```" in text else ""
    lines = [line for line in changes.splitlines() if line.startswith("  - ") and line != "  - none"]
    return {"changes": "\n".join(lines), "machine": machine, "timing": timing.strip()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", type=Path, nargs="+", help="the folders of benchmarks/table1_mnist.sh (OUT)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "table1_mnist")
    parser.add_argument("--paper", type=Path, default=ROOT.parent / "shared" / "paper" / "reported_auroc.csv")
    parser.add_argument(
        "--note", default="", help="a line about how the sweep ran, for the README (e.g. other load on the machine)"
    )
    parser.add_argument(
        "--keep", type=Path, help="an earlier runs.csv of this table: its rows not under the roots stay"
    )
    parser.add_argument(
        "--drop-kept",
        nargs="+",
        default=[],
        metavar="DETECTOR",
        help="with --keep: leave out the kept runs of these detectors (runs the roots supersede)",
    )
    args = parser.parse_args(argv)
    if args.drop_kept and not args.keep:
        parser.error("--drop-kept needs --keep (it leaves out kept runs)")
    unknown = sorted(set(args.drop_kept) - set(DETECTORS))
    if unknown:
        parser.error(f"--drop-kept: unknown detector(s) {unknown}; accepted: {DETECTORS}")
    runs = load_runs(*args.roots)
    timing = "\n".join(
        (r / "timing.txt").read_text().strip() if (r / "timing.txt").exists() else f"(no timing.txt in {r})"
        for r in args.roots
    )
    args.out.mkdir(parents=True, exist_ok=True)
    runs["run_dir"] = runs["run_dir"].map(
        lambda p: str(Path(p).resolve().relative_to(ROOT)) if Path(p).resolve().is_relative_to(ROOT) else p
    )
    before = {"changes": "", "machine": "", "timing": ""}
    if args.keep:
        before = earlier_readme(args.keep.with_name("README.md"))
        runs = drop_kept(keep_runs(runs, args.keep), args.drop_kept)
        # a line already in the earlier README (the same roots reported again) is listed once
        timing = "\n".join(dict.fromkeys(before["timing"].splitlines() + timing.splitlines()))
    roots = " ".join(map(str, args.roots))
    if args.keep:  # the folders the kept runs were made in, as their rows name them
        gone = sorted({"/".join(Path(d).parts[:2]) for d in runs.loc[runs["kept_from"].notna(), "run_dir"]})
        where = f"`{roots}` (the kept runs: `{'`, `'.join(gone)}`)"
    else:
        where = f"`{roots}`"
    runs[[c for c in COLUMNS if c in runs.columns]].sort_values(["split", "detector", "seed"]).to_csv(
        args.out / "runs.csv", index=False
    )
    shown = table(runs, paper_numbers(args.paper))
    failed = runs[runs["status"] != "ok"][["split", "detector", "seed"]]
    kept = f" --keep {args.keep}" if args.keep else ""
    kept += f" --drop-kept {' '.join(args.drop_kept)}" if args.drop_kept else ""
    (args.out / "table.md").write_text(
        "AUROC (%) on MNIST, normal = the scenario's digits, every other digit an anomaly; mean ± std over seeds "
        "(n = successful runs), the paper's single-seed number in brackets. Made by "
        f"`python -m benchmarks.table1_mnist {roots}{kept}` (see README.md here for the runs).\n\n"
        + shown.to_markdown(index=False)
        + "\n\n"
        + (f"Failed runs: {failed.to_dict('records')}\n" if len(failed) else "No failed runs.\n")
    )
    starts = [line.split()[1] for line in timing.splitlines() if line.startswith("start")]
    first = min(starts) if starts else None
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, cwd=ROOT).stdout.strip()  # noqa: E731
    head = git("rev-parse", "--short", "HEAD")
    at_start = git("rev-list", "-1", f"--before={first}", "HEAD")[:7] if first else "?"
    # only changes a job can have run: from each set of roots' first start to its last end (the kept runs' list as it was)
    new_timing = "\n".join(line for line in timing.splitlines() if line not in before["timing"].splitlines())
    new_starts = [line.split()[1] for line in new_timing.splitlines() if line.startswith("start")]
    last = [line.split()[1] for line in new_timing.splitlines() if line.startswith("end")]
    until = [f"--until={max(last)}"] if last else []
    since = (
        git("log", f"--since={min(new_starts)}", *until, "--format=%h %s", "--", "clad", "baselines", "conf", "run.py")
        if new_starts
        else ""
    )
    changes = list(dict.fromkeys([*before["changes"].splitlines(), *("  - " + line for line in since.splitlines())]))
    note = (
        before["machine"]
        if args.note and args.note in before["machine"]
        else " ".join(n for n in (before["machine"], args.note) if n)
    )
    kept_line = (
        f"\n- {int(runs['kept_from'].notna().sum())} runs are kept from `{args.keep}` (`--keep`): their folders are "
        "not in this checkout; the timing, code changes and machine notes above include theirs, from the earlier README."
        + (
            f" The kept runs of {', '.join(args.drop_kept)} are left out (`--drop-kept`): the runs under the roots "
            "supersede them."
            if args.drop_kept
            else ""
        )
        if args.keep
        else ""
    )
    fit = runs[runs["status"] == "ok"].groupby("detector")["fit_seconds"].agg(["mean", "max"]).round(0)
    (args.out / "README.md").write_text(f"""# Table 1, MNIST: CLAD and the one-class baselines

- Runs: `bash benchmarks/table1_mnist.sh` (its header states the budgets), into {where}; one folder per
  (detector, split, seed) holding `metrics.json`, `diagnostics.json` (CLAD), `scores.npz` and `.hydra/`.
- Tables: `python -m benchmarks.table1_mnist {roots}{kept} --out {args.out.resolve().relative_to(ROOT) if args.out.resolve().is_relative_to(ROOT) else args.out}`
  -> `runs.csv` (one row per run), `table.md` (mean ± std beside the paper's numbers).
- Data: `$CLAD_DATA` = `../shared/data` (MNIST, byte-identical to the official files); all 10,000 test images.
- Budget: `budget=cpu` (conf/budget/cpu.yaml); CLAD, deepsvdd, ocsvm, svdd on every normal training image
  (90%; 10% held out as validation), ae_recon, latent_kmeans, ocnn, occnn on 1,000 a class (see the script).
- Seeds: {" ".join(map(str, sorted(set(runs["seed"]))))}. Defaults frozen before these runs: results/selection_log.md.
- Code: commit {at_start} when the first run started; HEAD {head} when the table was made. Changes to
  clad/, baselines/, conf/ or run.py between the first run's start and the last run's end (a job runs the code of its start):
{chr(10).join(changes) or "  - none"}
- Machine: {platform.node()} ({platform.platform()}, {platform.machine()}), 2 CPU cores, two jobs side by side
  with one torch thread each; no GPU. {note}
- Wall time of the whole sweep (UTC):
```
{timing.strip()}
```{kept_line}
- Fit seconds per run (mean, max), one thread beside another job:

{fit.to_markdown()}
""")
    print(shown.to_markdown(index=False))


if __name__ == "__main__":
    main()
