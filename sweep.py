"""Multirun folders -> one tidy DataFrame -> tables, ablation plots and (optionally) W&B.

    python sweep.py multirun/2026-11-28/10-00-00                      # table of AUROC by dataset/split/detector
    python sweep.py multirun/... --by split detector --metric auroc fpr95 --out results/table
    python sweep.py multirun/... --x detector.n_clusters --plot results/ablation_k.png

Each job folder holds metrics.json (written by run.py) and .hydra/config.yaml; configs are joined
as dotted columns (`detector.n_clusters`), so nothing is parsed from folder names. Numbers stay
numeric in the CSV; "mean ± std" exists only in the printed/markdown rendering.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import sys
import textwrap
from pathlib import Path

import pandas as pd
import yaml

log = logging.getLogger("sweep")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value if not isinstance(value, list) else str(value)
    return out


def load_runs(*roots: str | Path) -> pd.DataFrame:
    """One row per job: the metrics of its metrics.json plus its composed config as dotted columns."""
    rows = []
    for root in roots:
        for path in sorted(Path(root).rglob("metrics.json")):
            row = json.loads(path.read_text())
            config = path.parent / ".hydra" / "config.yaml"
            if config.exists():
                cfg = yaml.safe_load(config.read_text()) or {}
                row.update({k: v for k, v in _flatten(cfg).items() if k not in row})
            row["run_dir"] = str(path.parent)
            rows.append(row)
    if not rows:
        raise FileNotFoundError(f"no metrics.json under {[str(r) for r in roots]}; pass the folder of a `python run.py -m` sweep")
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, by: list[str], metrics: list[str]) -> pd.DataFrame:
    """mean, std and count of each metric per cell over the successful runs, plus failed counts.

    Every cell should hold the same seeds; a cell missing some is logged, never silently averaged."""
    missing_cols = [c for c in by + metrics if c not in runs.columns]
    if missing_cols:
        raise KeyError(f"columns {missing_cols} are not in the runs; available: {sorted(runs.columns)}")
    ok = runs[runs["status"] == "ok"]
    table = ok.groupby(by, dropna=False)[metrics].agg(["mean", "std", "count"])
    table.columns = [f"{m}_{stat}" for m, stat in table.columns]
    seeds = ok.groupby(by, dropna=False)["seed"].agg(lambda s: tuple(sorted(set(s))))
    table["seeds"] = seeds.map(lambda s: " ".join(map(str, s)))
    failed = runs[runs["status"] != "ok"].groupby(by, dropna=False).size()
    table["failed"] = failed.reindex(table.index).fillna(0).astype(int)
    all_seeds = set(ok["seed"])
    for cell, have in seeds.items():
        if set(have) != all_seeds:
            log.warning("cell %s has seeds %s, missing %s", cell, list(have), sorted(all_seeds - set(have)))
    for cell in failed.index.difference(table.index):
        log.warning("cell %s has only failed runs", cell)
    return table.reset_index()


def render(table: pd.DataFrame, by: list[str], metrics: list[str], scale: float = 100.0) -> pd.DataFrame:
    """A copy with 'mean ± std' strings for printing only: rates times `scale` (AUROC in %),
    timings (`*_seconds`) as they are."""
    out = table[by].copy()
    for m in metrics:
        k = 1.0 if m.endswith("_seconds") else scale
        out[m] = [f"{k * mu:.1f} ± {k * (0 if pd.isna(sd) else sd):.1f}" for mu, sd in zip(table[f"{m}_mean"], table[f"{m}_std"])]
    out["n"] = table[f"{metrics[0]}_count"].astype(int)
    out["seeds"] = table["seeds"]
    out["failed"] = table["failed"]
    return out


def plot_ablation(runs: pd.DataFrame, x: str, metric: str, hue: list[str], path: Path, caption: str = "") -> None:
    """metric (mean ± std over seeds) against a config column, one line per `hue` cell; `caption`
    (the provenance) is printed under the axes so the figure names its own command."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = runs[runs["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for key, group in ok.groupby(hue, dropna=False):
        stats = group.groupby(x)[metric].agg(["mean", "std"]).sort_index()
        label = " / ".join(map(str, key if isinstance(key, tuple) else (key,)))
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=3, label=label)
    seeds = sorted(set(ok["seed"]))
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean ± std over seeds {' '.join(map(str, seeds))})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.16 if caption else 0, 1, 1))
    if caption:
        wrapped = "\n".join(textwrap.fill(line, 150, subsequent_indent="    ") for line in caption.splitlines())
        fig.text(0.01, 0.01, wrapped, fontsize=5.5, family="monospace", va="bottom")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def log_to_wandb(table: pd.DataFrame, project: str, mode: str, dir: str) -> None:
    """The summary table as a W&B Table; its files go into `dir` (the first sweep folder), not the cwd."""
    import wandb

    run = wandb.init(project=project, mode=mode, dir=dir, job_type="sweep-summary")
    try:
        run.log({"summary": wandb.Table(dataframe=table)})
    finally:
        run.finish()


def sweep_commands(roots: list[str]) -> list[str]:
    """The `python run.py -m ...` lines that made the runs, read from Hydra's multirun.yaml files."""
    lines = []
    for root in roots:
        for path in sorted(Path(root).rglob("multirun.yaml")):
            overrides = (yaml.safe_load(path.read_text()) or {}).get("hydra", {}).get("overrides", {})
            args = [a for a in overrides.get("task", []) + overrides.get("hydra", []) if a != "hydra.mode=MULTIRUN"]
            lines.append("python run.py -m " + " ".join(shlex.quote(a) for a in args))
    return lines


def relative_path(path: str) -> str:
    """A path as seen from the working directory (the repository when run from it), so result files
    never name a folder only this machine has."""
    return os.path.relpath(path) if os.path.isabs(str(path)) else str(path)


def provenance(roots: list[str], runs: pd.DataFrame | None = None) -> str:
    """Who made a figure: the commands that made the runs and the table, the data, the runs and the machine."""
    made = "".join(f"runs made by: {line}\n" for line in sweep_commands(roots))
    if runs is not None and "data_dir" in runs:
        made += f"data: {', '.join(sorted(set(map(relative_path, runs['data_dir'].dropna()))))} (datasets: {', '.join(sorted(set(runs['dataset'])))})\n"
    return (
        f"{made}"
        f"table made by: python {' '.join(shlex.quote(a) for a in sys.argv)}\n"
        f"runs: {', '.join(roots)}\n"
        f"machine: {platform.node()} ({platform.platform()}, {platform.processor() or platform.machine()}, python {platform.python_version()})\n"
    )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("roots", nargs="+", help="multirun folders (searched recursively for metrics.json)")
    p.add_argument("--by", nargs="+", default=["dataset", "split", "detector"], help="columns that define a table cell")
    p.add_argument("--metric", nargs="+", default=["auroc"], help="metrics to aggregate")
    p.add_argument("--out", type=Path, help="write <out>.csv (numbers), <out>.md (rendered) and <out>_runs.csv (every run)")
    p.add_argument("--x", help="config column for an ablation plot, e.g. detector.n_clusters")
    p.add_argument("--plot", type=Path, help="PNG path for the ablation plot (needs --x)")
    p.add_argument("--wandb", choices=["offline", "online"], help="also log the table to W&B")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    runs = load_runs(*args.roots)
    if "data_dir" in runs:
        runs["data_dir"] = runs["data_dir"].map(lambda p: relative_path(p) if isinstance(p, str) else p)
    table = summarize(runs, args.by, args.metric)
    shown = render(table, args.by, args.metric)
    print(shown.to_markdown(index=False))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out.with_suffix(".csv"), index=False)
        runs.to_csv(args.out.parent / f"{args.out.name}_runs.csv", index=False)
        args.out.with_suffix(".md").write_text(f"```\n{provenance(args.roots, runs)}```\n\n{shown.to_markdown(index=False)}\n")
    if args.plot:
        if not args.x:
            p.error("--plot needs --x, the config column on the x axis")
        plot_ablation(runs, args.x, args.metric[0], [c for c in args.by if c != args.x], args.plot, provenance(args.roots, runs))
    if args.wandb:
        log_to_wandb(table, "clad-bench", args.wandb, args.roots[0])
    return table


if __name__ == "__main__":
    main()
