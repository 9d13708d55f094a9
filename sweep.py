"""Multirun folders -> one tidy table (clad/report.py) -> Markdown, CSV, an ablation plot, W&B.

    python sweep.py multirun/2026-11-28/10-00-00                       # AUROC by dataset/split/detector
    python sweep.py multirun/... --by split detector --metric auroc fpr95 --out results/table
    python sweep.py multirun/... --x detector.n_clusters --plot results/ablation_k.png

`--out DIR` writes DIR/runs.csv (one row per run), DIR/summary.csv (numbers, one row per cell),
DIR/table.md and DIR/table.tex (the paper's layout: methods as rows, scenarios as columns, headed
in the Markdown by the commands, data, commits and machine; `--paper` adds the paper's numbers) and
DIR/per_class.csv (AUROC per anomaly class and per hidden normal class, from scores.npz), and
the statistics of `--reference` (default clad) against the others: DeLong per cell and seed
(DIR/delong.csv), average ranks, Friedman, Wilcoxon-Holm and a critical-difference diagram
(DIR/cd_diagram.png/.pdf). `--keep DIR/runs.csv` extends an earlier report whose run folders are gone (its rows
that are not runs under the roots are kept; README, "Sweeps, tables and plots"); `--drop-kept ocnn` leaves a
detector's kept rows out when the roots re-run it (e.g. at a new default). Cells are split on every config value that differs between their runs (listed in the log and in a `variant` column); failed, killed,
running, stale and missing jobs, repeated seeds and result warnings are reported, never dropped.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from clad.plots import plot_ablation, plot_roc, plot_tsne
from clad.report import (
    drop_kept,
    has_runs,
    keep_runs,
    kept_lines,
    load_runs,
    log_to_wandb,
    missing_jobs,
    provenance,
    relative_path,
    render,
    summarize,
)
from clad.tables import (
    compare_methods,
    failures,
    paper_numbers,
    per_class_auroc,
    render_latex,
    render_markdown,
    significant_cells,
    wide_table,
)

log = logging.getLogger("sweep")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "roots", nargs="*", help="multirun folders (searched recursively for metrics.json); none: --keep alone"
    )
    p.add_argument("--by", nargs="+", default=["dataset", "split", "detector"], help="columns that define a table cell")
    p.add_argument("--metric", nargs="+", default=["auroc"], help="metrics to aggregate")
    p.add_argument("--out", type=Path, help="folder for runs.csv, summary.csv, table.md, table.tex and per_class.csv")
    p.add_argument(
        "--paper", action="store_true", help="put the paper's number (clad/paper_auroc.csv) beside each cell"
    )
    p.add_argument(
        "--reference", default="clad", help="the method the statistics compare the others with (default clad)"
    )
    p.add_argument("--x", help="config column for an ablation plot, e.g. detector.n_clusters")
    p.add_argument("--plot", type=Path, help="PNG path for the ablation plot (needs --x); a PDF is written beside it")
    p.add_argument(
        "--baseline", help="a detector whose mean per scenario the ablation plot draws dashed (e.g. deepsvdd)"
    )
    p.add_argument(
        "--keep",
        type=Path,
        nargs="+",
        default=[],
        help="runs.csv of earlier reports: their rows that no run under the roots replaces are kept (for folders gone)",
    )
    p.add_argument(
        "--drop-kept",
        nargs="+",
        default=[],
        metavar="DETECTOR",
        help="with --keep: leave out the kept runs of these detectors, which the roots supersede, their DeLong rows "
        "(as the method or the reference) and the ROC figures that drew them and cannot be redrawn",
    )
    p.add_argument("--wandb", choices=["offline", "online"], help="also log the table to W&B")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if not args.roots and not args.keep:
        p.error("name the multirun folders, or --keep DIR/runs.csv to remake a report whose run folders are all gone")
    if args.drop_kept and not args.keep:
        p.error("--drop-kept needs --keep (it leaves out kept runs)")
    if args.plot and not args.x:
        p.error("--plot needs --x, the config column on the x axis")
    if args.plot and args.plot.suffix.lower() != ".png":
        p.error(f"--plot must name a .png file; got {args.plot}")
    if args.out and args.out.suffix:
        p.error(
            f"--out is a folder (it gets runs.csv, summary.csv, table.md, table.tex, per_class.csv); got {args.out}"
        )

    runs = load_runs(*args.roots) if args.roots else pd.DataFrame()
    if args.keep:
        runs = drop_kept(keep_runs(runs, *args.keep), args.drop_kept)

    def earlier(name: str) -> pd.DataFrame | None:
        """The file `name` beside the kept runs.csv files (their DeLong rows, per-class AUROCs), or None."""
        found = [pd.read_csv(k.with_name(name)) for k in args.keep if k.with_name(name).exists()]
        if not found:
            return None
        rows = pd.concat(found, ignore_index=True).drop_duplicates()
        # A dropped detector's rows go, and so do DeLong rows whose *reference* it was: they compare its old runs.
        dropped = pd.Series(False, index=rows.index)
        for column in ("detector", "reference"):
            if column in rows:
                dropped |= rows[column].isin(args.drop_kept)
        return rows[~dropped]

    if args.x and args.x not in runs:
        p.error(f"--x {args.x!r} is not a column of the runs; config columns: {runs.attrs.get('config_columns')}")
    # No path only this machine has (run_dir, dataset.root, ...); relative_path leaves other text as it is.
    for col in runs.select_dtypes(exclude="number").columns:
        runs[col] = runs[col].map(lambda v: relative_path(v) if isinstance(v, str) else v)
    missing = missing_jobs(args.roots)
    table = summarize(runs, args.by, args.metric)
    caption, figures = provenance(args.roots, runs, args.keep), []
    shown = render(table, args.by, args.metric)
    print(shown.to_markdown(index=False, disable_numparse=True))
    gone = "".join(  # the sweeps under the roots, and the kept reports' own lines
        dict.fromkeys(
            [f"jobs that never started in {relative_path(k)}: {' '.join(v)}\n" for k, v in missing.items()]
            + [
                f"jobs that never started in {line}\n"
                for line in kept_lines(args.keep, "jobs that never started in ")
                # with --drop-kept, not a sweep whose runs were all dropped
                if not args.drop_kept or "run_dir" not in runs or has_runs(line.split(": ")[0], runs)
            ]
        )
    )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        runs.to_csv(args.out / "runs.csv", index=False)
        table.to_csv(args.out / "summary.csv", index=False)
        sections = []
        if {"dataset", "split", "detector"} <= set(args.by):  # the paper's layout needs all three
            paper = paper_numbers() if args.paper else None
            stats_text, significant = "", set()
            if args.reference in set(runs["detector"]):
                scenario_by = [c for c in args.by if c != "detector"]
                stats_text, delong = compare_methods(
                    runs, args.reference, args.out, caption, by=scenario_by, earlier_delong=earlier("delong.csv")
                )
                significant = significant_cells(delong, scenario_by)
                figures += [f for f in (args.out / "cd_diagram.png",) if f.exists()]
            for metric in args.metric:
                cells = wide_table(table, metric, paper, significant=significant if metric == "auroc" else set())
                sections.append(f"## {metric}\n\n{render_markdown(cells, paper=args.paper)}")
                tex = "table.tex" if metric == args.metric[0] else f"table_{metric}.tex"
                (args.out / tex).write_text(render_latex(cells, paper=args.paper))
            sections.append(stats_text)
        sections.append(failures(runs))
        sections.append(f"## Every cell\n\n{shown.to_markdown(index=False, disable_numparse=True)}\n")
        (args.out / "table.md").write_text(f"```\n{caption}{gone}```\n\n" + "\n".join(sections))
        paper_layout = {"dataset", "split", "detector"} <= set(
            args.by
        )  # one method per row: ROC and t-SNE per scenario
        removed = []
        for (dataset, split), group in runs.groupby(["dataset", "split"]) if paper_layout else ():
            ok = group[group["status"] == "ok"]
            roc = args.out / f"roc_{dataset}_{split}.png"
            if roc.exists() and not all((Path(d) / "scores.npz").exists() for d in ok["run_dir"]):
                if set(args.drop_kept) & set(group["detector"]):  # it draws the dropped runs' curves
                    for figure in (roc, roc.with_suffix(".pdf")):
                        figure.unlink(missing_ok=True)
                    removed.append(roc.name)
                    log.warning("%s removed: it drew the dropped runs, and some runs have no scores.npz here", roc)
                else:
                    log.info("%s kept as it is: some of its runs have no scores.npz here (--keep)", roc)
            elif len(ok):
                figures += plot_roc(group, roc, caption)
            codes = [
                Path(d) / "codes.npz"
                for d in group.sort_values("seed", key=lambda s: pd.to_numeric(s, errors="coerce"))["run_dir"]
                if (Path(d) / "codes.npz").exists()
            ]
            if codes:
                figures += plot_tsne(
                    codes[0], args.out / f"tsne_{dataset}_{split}.png", f"codes: {codes[0]}\n{caption}"
                )
        if removed:
            with open(args.out / "table.md", "a") as f:
                f.write(
                    f"\nROC figures removed ({', '.join(removed)}): they drew the runs that --drop-kept "
                    f"{' '.join(args.drop_kept)} left out, and some of the scenario's runs have no scores.npz here.\n"
                )
        per_class = per_class_auroc(runs)
        old_rows = earlier("per_class.csv")
        if old_rows is not None:  # rows of runs whose scores are gone, computed when they were there
            no_scores = {d for d in runs["run_dir"] if not (Path(d) / "scores.npz").exists()}
            per_class = pd.concat([per_class, old_rows[old_rows["run_dir"].isin(no_scores)]], ignore_index=True)
        if len(per_class):
            per_class.to_csv(args.out / "per_class.csv", index=False)
    if args.plot:
        hue = [c for c in args.by if c != args.x]
        figures += plot_ablation(runs, args.x, args.metric[0], hue, args.plot, caption, baseline=args.baseline)
    if args.wandb:
        wandb_dir = args.roots[0] if args.roots else str(args.keep[0].parent)  # the first sweep, or the kept report
        log_to_wandb(table, "clad-bench", args.wandb, wandb_dir, [f for f in figures if f.suffix == ".png"])
    return table


if __name__ == "__main__":
    main()
