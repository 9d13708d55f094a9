"""Figures from run records, each saved as PNG and PDF with its provenance printed under the axes:
an ablation curve (the paper's Figure 3: AUROC against k or the latent size, one line per
scenario, a baseline's mean as a dashed line), ROC curves of every method on one scenario (from
the runs' scores.npz) and a 2-D t-SNE of CLAD's latent codes coloured by pseudo-label and by
hidden class (from the codes.npz of a run with detector.save_codes=true).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no global backend or figure state
from sklearn.metrics import roc_curve


def _save(fig: Figure, path: Path, caption: str) -> list[Path]:
    if caption:
        wrapped = "\n".join(textwrap.fill(line, 150, subsequent_indent="    ") for line in caption.splitlines())
        fig.text(0.01, 0.01, wrapped, fontsize=5.5, family="monospace", va="bottom")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    for target in written:
        fig.savefig(target, dpi=120)
    return written


def plot_ablation(
    runs: pd.DataFrame, x: str, metric: str, hue: list[str], path: Path, caption: str = "", baseline: str | None = None
) -> list[Path]:
    """metric (mean ± std over seeds) against a config column, one line per `hue` cell; with
    `baseline` (a detector in the same runs, e.g. deepsvdd), its mean per `hue` cell as a dashed line
    (see `draw_ablation`). Writes `path` (and a PDF beside it); returns the files written."""
    fig = Figure(figsize=(7, 5.2))
    draw_ablation(fig.subplots(), runs, x, metric, hue, baseline)
    fig.tight_layout(rect=(0, 0.16 if caption else 0, 1, 1))
    return _save(fig, path, caption)


def draw_ablation(ax, runs: pd.DataFrame, x: str, metric: str, hue: list[str], baseline: str | None = None) -> None:
    """Draw `plot_ablation`'s figure on the matplotlib Axes `ax`. A column of names (e.g. score._target_)
    is drawn as categories, one tick each, labelled by the last dotted part."""
    ok = runs[runs["status"] == "ok"]
    base = ok[ok["detector"] == baseline]
    ok = ok[ok[x].notna() & (ok["detector"] != baseline)]
    numeric = pd.api.types.is_numeric_dtype(ok[x])
    categories = [] if numeric else sorted(ok[x].astype(str).unique())
    for key, group in ok.groupby(hue, dropna=False):
        stats = group.groupby(x)[metric].agg(["mean", "std"]).sort_index()
        label = " / ".join(map(str, key if isinstance(key, tuple) else (key,)))
        where = stats.index.astype(float) if numeric else [categories.index(str(v)) for v in stats.index]
        line = ax.errorbar(where, stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=3, label=label)
        if baseline and "split" in group:  # the baseline's mean over its runs of the same scenario(s)
            ref = base[base["split"].isin(set(group["split"]))][metric]
            if len(ref):
                ax.axhline(ref.mean(), ls="--", color=line.lines[0].get_color(), lw=1, label=f"{baseline} ({label})")
    seeds = sorted(set(ok["seed"]))
    if categories:
        ax.set_xticks(range(len(categories)), [c.rsplit(".", 1)[-1] for c in categories], rotation=30)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean ± std over seeds {' '.join(map(str, seeds))})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_roc(runs: pd.DataFrame, path: Path, caption: str = "") -> list[Path]:
    """ROC curves of every method of one scenario: each method's lowest seed, its mean AUROC over
    seeds in the legend."""
    ok = runs[runs["status"] == "ok"]
    ok = ok[[(Path(d) / "scores.npz").exists() for d in ok["run_dir"]]]  # a copied record without its scores is skipped
    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.subplots()
    for detector, group in ok.groupby("detector"):
        first = group.sort_values("seed", key=lambda s: pd.to_numeric(s, errors="coerce")).iloc[0]
        with np.load(Path(first["run_dir"]) / "scores.npz") as f:
            fpr, tpr, _ = roc_curve(f["label"], f["score"])
        ax.plot(
            fpr,
            tpr,
            label=f"{detector}: AUROC {100 * group['auroc'].mean():.1f} (seed {first['seed']} shown, {len(group)} seeds)",
        )
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set_xlabel("false positive rate (normal images flagged)")
    ax.set_ylabel("true positive rate (anomalies flagged)")
    ax.set_title(" / ".join(sorted(set(ok["dataset"].astype(str) + "/" + ok["split"].astype(str)))))
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout(rect=(0, 0.14 if caption else 0, 1, 1))
    return _save(fig, path, caption)


def plot_tsne(codes_file: Path, path: Path, caption: str = "", max_points: int = 3000, seed: int = 0) -> list[Path]:
    """t-SNE (scikit-learn) of up to `max_points` latent codes, coloured by pseudo-label (left) and
    by the hidden class the detector never saw (right)."""
    from sklearn.manifold import TSNE

    with np.load(codes_file) as f:
        codes, pseudo, hidden = f["codes"], f["pseudo_label"], f["hidden_class"]
    pick = np.random.default_rng(seed).permutation(len(codes))[:max_points]
    xy = TSNE(n_components=2, init="pca", random_state=seed, perplexity=min(30.0, (len(pick) - 1) / 3)).fit_transform(
        codes[pick]
    )
    fig = Figure(figsize=(11, 5.4))
    for ax, colour, title in zip(fig.subplots(1, 2), (pseudo[pick], hidden[pick]), ("pseudo-label", "hidden class")):
        points = ax.scatter(xy[:, 0], xy[:, 1], c=colour, cmap="tab20", s=3)
        ax.set_title(f"latent codes coloured by {title}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(*points.legend_elements(), fontsize=6, markerscale=0.7, loc="best", title=title, title_fontsize=7)
    fig.tight_layout(rect=(0, 0.12 if caption else 0, 1, 1))
    return _save(fig, path, caption)
