"""Statistics that can find a difference: is detector A better than B, on one test set and over many?

One test set: DeLong, DeLong and Clarke-Pearson (Biometrics 1988) compare two AUROCs measured on
the same images through their structural components (placement values), computed from midranks in
O(n log n) (Sun and Xu, IEEE SPL 2014). Labels use 1 = anomaly = positive; higher score = more
anomalous; ties count 1/2.
Many blocks (scenario x seed cells), as in ADBench and Demšar (JMLR 2006): average ranks, the
Friedman test, pairwise Wilcoxon signed-rank tests against a reference with Holm's correction,
and the Nemenyi critical difference with its diagram. A `scores` table has one row per block,
one column per method, AUROC values.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)


def _components(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Placement values of k score vectors: V10 (k, m) per positive, V01 (k, n) per negative.

    V10[i] = P(score of positive i > a negative's) and V01[j] = P(a positive's > negative j), ties 1/2.
    A positive's midrank among all scores minus its midrank among the positives counts the negatives
    below it (ties 1/2); likewise for a negative (Sun and Xu 2014)."""
    y = np.asarray(y_true).ravel()
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold 0 (normal) and 1 (anomaly) only")
    if s.shape[1] != y.size:
        raise ValueError(f"scores have {s.shape[1]} samples, y_true has {y.size}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2:  # the variance estimates divide by m - 1 and n - 1
        raise ValueError(f"DeLong needs at least 2 anomalies and 2 normal samples, got {m} and {n}")
    all_ranks = stats.rankdata(s, axis=1)
    v10 = (all_ranks[:, pos] - stats.rankdata(s[:, pos], axis=1)) / n
    v01 = 1.0 - (all_ranks[:, neg] - stats.rankdata(s[:, neg], axis=1)) / m
    return v10, v01


def delong_variance(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs (k,) of k score vectors (an array (k, n_samples) or one vector) and their covariance (k, k):
    S10 / m + S01 / n, with S10, S01 the sample covariances of the placement values."""
    v10, v01 = _components(y_true, scores)
    cov = np.atleast_2d(np.cov(v10)) / v10.shape[1] + np.atleast_2d(np.cov(v01)) / v01.shape[1]
    return v10.mean(axis=1), cov


def delong_test(y_true, score_a, score_b) -> dict:
    """Two-sided DeLong test of AUROC(a) = AUROC(b) on the same samples; diff = auroc_a - auroc_b.

    The variance of the difference is taken from the differences of the placement values (the
    contrast [1, -1] of the covariance, exactly 0 for identical scores). se = 0 gives p = 1 when
    diff = 0 and p = 0 (z = +-inf) otherwise, never a division by zero."""
    v10, v01 = _components(y_true, np.vstack([np.ravel(score_a), np.ravel(score_b)]))
    auc_a, auc_b = v10.mean(axis=1)
    diff = float(auc_a - auc_b)
    var = np.var(v10[0] - v10[1], ddof=1) / v10.shape[1] + np.var(v01[0] - v01[1], ddof=1) / v01.shape[1]
    se = math.sqrt(max(float(var), 0.0))
    if se > 0:
        z = diff / se
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z, p = (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    return {"auroc_a": float(auc_a), "auroc_b": float(auc_b), "diff": diff, "se": se, "z": z, "p": p}


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order: the i-th smallest (from 0) of m is
    multiplied by m - i, made non-decreasing along the sorted order, and capped at 1."""
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p-values must lie in [0, 1], got {p}")
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(np.maximum.accumulate(p[order] * (p.size - np.arange(p.size))), 1.0)
    out = np.empty_like(p)
    out[order] = adjusted
    return out


def _complete_blocks(scores: pd.DataFrame) -> pd.DataFrame:
    """The blocks (rows) with a value for every method; says how many were dropped."""
    complete = scores.dropna(axis=0, how="any")
    if len(complete) < len(scores):
        log.warning(
            "dropped %d of %d blocks with a missing value (a method failed or was not run there)",
            len(scores) - len(complete),
            len(scores),
        )
    if complete.empty:
        raise ValueError("no block has a value for every method")
    return complete


def average_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Mean rank of each method over the complete blocks (1 = best in a block, ties averaged),
    sorted best first."""
    ranks = _complete_blocks(scores).rank(axis=1, ascending=not higher_is_better, method="average")
    return ranks.mean(axis=0).sort_values().rename("average_rank")


def friedman(scores: pd.DataFrame) -> dict:
    """Friedman's test that all methods rank alike over the complete blocks (scipy's
    friedmanchisquare, tie-corrected). Blocks in which every method ties carry no information; if
    all do, the statistic is 0 and p = 1 (scipy would divide 0 by 0)."""
    if scores.shape[1] < 3:
        raise ValueError(f"the Friedman test needs at least 3 methods, got {scores.shape[1]}: {list(scores.columns)}")
    complete = _complete_blocks(scores)
    n_blocks, n_methods = complete.shape
    if n_blocks < 2:
        raise ValueError(f"the Friedman test needs at least 2 blocks, got {n_blocks}")
    if (complete.nunique(axis=1) == 1).all():
        return {"statistic": 0.0, "p": 1.0, "n_blocks": n_blocks, "n_methods": n_methods}
    result = stats.friedmanchisquare(*(complete[c].to_numpy(dtype=float) for c in complete.columns))
    return {
        "statistic": float(result.statistic),
        "p": float(result.pvalue),
        "n_blocks": n_blocks,
        "n_methods": n_methods,
    }


def wilcoxon_holm(scores: pd.DataFrame, reference: str, alpha: float = 0.05) -> pd.DataFrame:
    """Two-sided Wilcoxon signed-rank test of reference - other over the complete blocks, for each
    other method, with Holm's correction over the comparisons (the ADBench recipe).

    zero_method="wilcox" (scipy's default): blocks where the two tie are left out. When every
    difference is 0 the two methods are indistinguishable: statistic 0, p = 1. median_diff > 0
    means the reference scores higher. Index: the other method."""
    if reference not in scores.columns:
        raise ValueError(f"reference '{reference}' is not a column; columns are {list(scores.columns)}")
    others = [c for c in scores.columns if c != reference]
    if not others:
        raise ValueError("wilcoxon_holm needs at least one method besides the reference")
    complete = _complete_blocks(scores)
    rows = []
    for other in others:
        d = (complete[reference] - complete[other]).to_numpy(dtype=float)
        if np.all(d == 0):
            statistic, p = 0.0, 1.0
        else:
            result = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
            statistic, p = float(result.statistic), float(result.pvalue)
        rows.append(
            {"method": other, "n_blocks": d.size, "median_diff": float(np.median(d)), "statistic": statistic, "p": p}
        )
    table = pd.DataFrame(rows).set_index("method")
    table["p_holm"] = holm(table["p"].to_numpy())
    table["significant"] = table["p_holm"] < alpha
    return table


def critical_difference(n_methods: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks (Demšar 2006, eq. 2): q_alpha sqrt(k (k+1) / (6 N)),
    q_alpha = the studentized range quantile for k groups and infinite df, divided by sqrt(2)."""
    if n_methods < 2 or n_blocks < 1:
        raise ValueError(f"need at least 2 methods and 1 block, got {n_methods} and {n_blocks}")
    q = stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(n_methods * (n_methods + 1) / (6 * n_blocks)))


def cd_groups(ranks: pd.Series, cd: float) -> list[list[str]]:
    """Maximal runs of methods (sorted by rank) whose ranks differ by less than cd, as in Demšar's
    diagram: each run is joined by one bar; runs of one method and runs inside another are left out."""
    r = ranks.sort_values()
    values, groups, last_end = r.to_numpy(), [], 0
    for i in range(len(r)):
        end = int(np.searchsorted(values, values[i] + cd, side="left")) - 1  # last j with r_j - r_i < cd
        if end > i and end > last_end:
            groups.append(list(r.index[i : end + 1]))
            last_end = end
    return groups


def plot_cd_diagram(ranks: pd.Series, cd: float, path, caption: str = "") -> list[Path]:
    """Demšar's critical-difference diagram: the rank axis (1 = best, left), each method at its average
    rank with its name, a bar under each group of methods closer than cd, the cd interval on top, the
    caption (provenance) small at the bottom. Writes `path` and, for a .png, a .pdf beside it.
    Drawn on a bare Figure (Agg canvas), so no pyplot state or backend switch is touched."""
    from matplotlib.figure import Figure

    if len(ranks) < 2 or not (math.isfinite(cd) and cd > 0):
        raise ValueError(f"need at least 2 methods and a positive cd, got {len(ranks)} and {cd}")
    r, k = ranks.sort_values(), len(ranks)
    groups = cd_groups(r, cd)
    n_left = math.ceil(k / 2)

    def x(rank):
        return 0.25 + 0.5 * (rank - 1) / (k - 1)  # rank -> figure-width fraction

    y_axis, y_rows = 0.8, 1.0 + 0.1 * len(groups)  # in inches from the top
    height = y_rows + 0.25 * n_left + 0.3 + (0.2 if caption else 0)
    fig = Figure(figsize=(7, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(height, 0)
    ax.axis("off")
    line = dict(color="black", linewidth=0.8)
    ax.plot([x(1), x(k)], [y_axis, y_axis], **line)
    for t in np.arange(1, k + 0.01, 0.5):
        ax.plot([x(t), x(t)], [y_axis, y_axis - (0.08 if t == int(t) else 0.04)], **line)
        if t == int(t):
            ax.text(x(t), y_axis - 0.12, str(int(t)), ha="center", va="bottom", fontsize=8)
    ax.plot([x(1), x(1 + cd)], [0.3, 0.3], **line)  # the critical difference, on the rank scale
    for end in (1, 1 + cd):
        ax.plot([x(end), x(end)], [0.25, 0.35], **line)
    ax.text(x(1 + cd / 2), 0.22, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    for g, members in enumerate(groups):  # a bar joins methods the test cannot tell apart
        y = y_axis + 0.15 + 0.1 * g
        ax.plot([x(r[members[0]]) - 0.005, x(r[members[-1]]) + 0.005], [y, y], color="black", linewidth=2.5)
    for i, (name, rank) in enumerate(r.items()):
        left = i < n_left
        y = y_rows + 0.25 * (i if left else k - 1 - i)
        x_text = 0.2 if left else 0.8
        ax.plot([x(rank), x(rank), x_text], [y_axis, y, y], **line)
        ax.text(
            x_text + (-0.01 if left else 0.01),
            y,
            f"{name} ({rank:.2f})",
            ha="right" if left else "left",
            va="center",
            fontsize=8,
        )
    if caption:
        fig.text(0.01, 0.01, caption, ha="left", va="bottom", fontsize=5, color="dimgray", wrap=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path] + ([path.with_suffix(".pdf")] if path.suffix.lower() == ".png" else [])
    for target in written:
        fig.savefig(target, dpi=200)
    return written


def _load_scores(run_dir) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    path = Path(run_dir) / "scores.npz"
    if not path.exists():
        log.warning("%s is missing; its comparisons are skipped", path)
        return None
    with np.load(path) as f:
        index, label, score = f["index"], f["label"], f["score"]
    if len(np.unique(index)) != len(index):
        raise ValueError(f"{path}: the index repeats")
    return index, label, score


def delong_against(runs: pd.DataFrame, reference: str, by: list[str]) -> pd.DataFrame:
    """DeLong tests of `reference` against every other detector, per cell (`by` + seed), on the test
    images both runs scored (aligned on `index`; their labels must agree).

    `runs`: one row per run with `detector`, `seed`, `status`, `run_dir` and the `by` columns; only
    status ok runs count. A run without scores.npz is skipped with a warning, so is a detector with
    several ok runs in one cell (which one is meant?). One row per (cell, other detector):
    by..., seed, reference, detector, n, auroc_ref, auroc_other, diff (ref - other), se, z, p."""
    keys = list(dict.fromkeys([*by, "seed"]))
    ok = runs[runs["status"] == "ok"]
    rows = []
    for cell, group in ok.groupby(keys, dropna=False, sort=True):
        cell = dict(zip(keys, cell if isinstance(cell, tuple) else (cell,)))
        counts = group["detector"].value_counts()
        for detector in counts.index[counts > 1]:
            log.warning("cell %s has %d ok runs of %s; its comparisons are skipped", cell, counts[detector], detector)
        if counts.get(reference, 0) != 1:
            continue
        ref = _load_scores(group.loc[group["detector"] == reference, "run_dir"].iloc[0])
        if ref is None:
            continue
        for _, run in group[group["detector"] != reference].sort_values("detector").iterrows():
            if counts[run["detector"]] > 1:
                continue
            other = _load_scores(run["run_dir"])
            if other is None:
                continue
            common, i_ref, i_other = np.intersect1d(ref[0], other[0], return_indices=True)
            if len(common) < max(len(ref[0]), len(other[0])):
                log.warning(
                    "cell %s: %s and %s share %d of %d and %d test images; comparing those",
                    cell,
                    reference,
                    run["detector"],
                    len(common),
                    len(ref[0]),
                    len(other[0]),
                )
            if not np.array_equal(ref[1][i_ref], other[1][i_other]):
                raise ValueError(
                    f"cell {cell}: {reference} ({ref[0].size} images) and {run['detector']} disagree on the labels of the same test images"
                )
            result = delong_test(ref[1][i_ref], ref[2][i_ref], other[2][i_other])
            rows.append(
                {
                    **cell,
                    "reference": reference,
                    "detector": run["detector"],
                    "n": len(common),
                    "auroc_ref": result["auroc_a"],
                    "auroc_other": result["auroc_b"],
                    **{k: result[k] for k in ("diff", "se", "z", "p")},
                }
            )
    columns = [*keys, "reference", "detector", "n", "auroc_ref", "auroc_other", "diff", "se", "z", "p"]
    return pd.DataFrame(rows, columns=columns)
