"""Render the JSON lines of benchmarks/clad_diagnosis.py as a Markdown table: one row per variant
(and split), mean ± std over seeds of the stage diagnostics and the AUROC of each score.

    python -m benchmarks.clad_report results/clad_selection/dev_digits.jsonl > results/clad_selection/dev_digits.md
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

COLUMNS = [
    "auroc_odin",
    "auroc_msp",
    "auroc_energy",
    "auroc_mahalanobis",
    "auroc_knn_k1",
    "clf_holdout_accuracy",
    "clf_train_accuracy",
    "cluster_min_share",
    "cluster_max_share",
    "pseudo_label_nmi",
    "fit_seconds",
    "peak_rss_gib",
]


def load(path: str) -> pd.DataFrame:
    df = pd.DataFrame([json.loads(line) for line in open(path) if line.strip()])
    opt = lambda o, key: next((x.split("=", 1)[1] for x in o if x.startswith(f"{key}=")), "")  # noqa: E731
    df["split"] = df["overrides"].map(lambda o: opt(o, "split"))
    df["seed"] = df["overrides"].map(lambda o: opt(o, "seed") or "0")
    df["options"] = df["overrides"].map(lambda o: " ".join(x for x in o if not x.startswith(("split=", "seed="))))
    return df


def render(df: pd.DataFrame, by: list[str]) -> str:
    cols = [c for c in COLUMNS if c in df.columns]
    g = df.groupby(by, sort=False)
    mean, std = g[cols].mean(), g[cols].std()
    table = pd.DataFrame(index=mean.index)
    for c in cols:
        scale, digits = (1, 0) if c == "fit_seconds" else ((1, 2) if c == "peak_rss_gib" else (100, 1))
        table[c] = [
            f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}" if pd.notna(s) else f"{m * scale:.{digits}f}"
            for m, s in zip(mean[c], std[c])
        ]
    table["seeds"] = g["seed"].apply(lambda s: " ".join(sorted(set(s))))
    table["options"] = g["options"].first()
    return table.reset_index().to_markdown(index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl")
    args = parser.parse_args()
    df = load(args.jsonl)
    out = [
        f"Rendered by `python -m benchmarks.clad_report {args.jsonl}` from {len(df)} fits "
        f"(commit(s) {', '.join(sorted(df['commit'].unique()))}; machine(s) {'; '.join(df['machine'].unique())}; "
        f"{int(df['threads'].iloc[0])} torch thread(s) a job). AUROC, accuracies and shares in %, "
        "mean ± std over seeds; fit_seconds in s; peak_rss_gib in GiB.",
        "",
    ]
    out += ["## By variant and split", "", render(df, ["name", "split"]), ""]
    if df["split"].nunique() > 1:
        out += ["## By variant (all splits)", "", render(df, ["name"]), ""]
    grid = sorted(c for c in df.columns if c.startswith("auroc_odin_T"))
    if grid:  # benchmarks/clad_diagnosis.py --odin-grid: one fit scored with ODIN over T x eps
        rows = df.dropna(subset=grid)
        out += ["## ODIN over temperature T and input perturbation eps (AUROC %, one fit each)", ""]
        for _, r in rows.iterrows():
            t = pd.DataFrame(
                [(float(c.split("_T")[1].split("_eps")[0]), float(c.split("_eps")[1]), 100 * r[c]) for c in grid],
                columns=["T", "eps", "auroc"],
            )
            out += [
                f"`{r['name']}` ({r['options']} seed={r['seed']}):",
                "",
                t.pivot(index="T", columns="eps", values="auroc").round(1).to_markdown(),
                "",
            ]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
