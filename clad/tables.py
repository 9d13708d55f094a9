"""The paper's table layout from a runs table (clad/report.py): methods as rows, scenarios as
columns, mean ± std AUROC over seeds, the best of each column in bold, a mean column, seeds per
cell, failed runs counted; as Markdown and LaTeX, optionally beside the paper's numbers
(`paper_auroc.csv`, Park et al. 2021, Tables 1-4). Also AUROC per anomaly class and per hidden
normal class, recomputed from each run's scores.npz.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

log = logging.getLogger(__name__)

PAPER_CSV = Path(__file__).with_name("paper_auroc.csv")
PAPER_METHODS = {
    "clad": "CLAD",
    "deepsvdd": "DeepSVDD",
    "ocsvm": "OCSVM",
    "svdd": "SVDD",
    "ocnn": "OCNN",
    "occnn": "OCCNN",
}


def scenario(row: pd.Series) -> str:
    """The paper's name of a run's scenario: CUR for mnist_cur, one_class_3 for digit 3, ..."""
    split, dataset = str(row["split"]), str(row["dataset"])
    if split == "one_class":
        return f"one_class_{row.get('split.normal_class')}"
    return split[len(dataset) + 1 :].upper() if split.startswith(f"{dataset}_") else split


def paper_numbers(path: Path = PAPER_CSV) -> dict[tuple[str, str, str], float]:
    """(dataset, scenario, method) -> the paper's AUROC in %; one-class scenarios keyed by class id."""
    df = pd.read_csv(path, comment="#", dtype={"normal_classes": str})
    out = {}
    for r in df.itertuples():
        name = f"one_class_{r.normal_classes}" if str(r.scenario).startswith("one_class") else r.scenario
        out[(r.dataset, name, r.method)] = float(r.auroc)
    return out


def method_label(row: pd.Series) -> str:
    variant = row.get("variant")
    return f"{row['detector']} ({variant})" if isinstance(variant, str) and variant else str(row["detector"])


def wide_table(
    summary: pd.DataFrame,
    metric: str = "auroc",
    paper: dict | None = None,
    scale: float = 100.0,
    significant: set[tuple[str, str]] = frozenset(),
) -> pd.DataFrame:
    """One row per method, one column per (dataset, scenario), each cell a dict of the numbers
    (mean, std, n, failed, paper, and whether the reference differs from it significantly: the
    (column, detector) pairs of `significant`); `render_markdown`/`render_latex` turn it into text."""
    summary = summary.copy()
    summary["method"] = [method_label(r) for _, r in summary.iterrows()]
    summary["column"] = [f"{r['dataset']}/{scenario(r)}" for _, r in summary.iterrows()]
    order = {f"{d}/{name}": i for i, (d, name, _) in enumerate(paper_numbers())}  # the paper's column order
    columns = sorted(dict.fromkeys(summary["column"]), key=lambda c: order.get(c, len(order)))
    methods = list(dict.fromkeys(summary["method"]))
    found = {}
    for _, r in summary.iterrows():
        dataset, name = r["column"].split("/", 1)
        not_ok = int(sum(r.get(s, 0) for s in ("failed", "killed", "stale", "corrupt")))
        ref = (paper or {}).get((dataset, name, PAPER_METHODS.get(str(r["detector"]), "")))
        found[(r["method"], r["column"])] = {
            "mean": scale * r[f"{metric}_mean"],
            "std": scale * r[f"{metric}_std"],
            "n": int(r[f"{metric}_count"]),
            "failed": not_ok,
            "paper": ref,
            "significant": (r["column"], r["detector"]) in significant,
        }
    return pd.DataFrame(
        [[found.get((m, c)) for c in columns] for m in methods], index=methods, columns=columns, dtype=object
    )


def _means(cells: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    mean = cells.map(lambda c: c["mean"] if isinstance(c, dict) else np.nan).astype(float)
    best = mean.max(axis=0)
    return mean, best, mean.mean(axis=1, skipna=False)


def mean_std(mean: float, std: float) -> str:
    """'mean ± std' to one decimal; a std that is NaN (one seed: no spread) leaves the mean alone."""
    return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"


def _cell(c, best: float, bold: tuple[str, str], paper: bool) -> str:
    if not isinstance(c, dict):
        return "–"
    if c["n"] == 0:
        return f"failed ({c['failed']})" if c["failed"] else "–"
    text = mean_std(c["mean"], c["std"])
    if np.isclose(c["mean"], best):
        text = f"{bold[0]}{text}{bold[1]}"
    text += f" ({c['n']})" + ("†" if c.get("significant") else "")
    if c["failed"]:
        text += f" +{c['failed']} failed"
    if paper and c["paper"] is not None:
        text += f" [{c['paper']:.1f}, {c['mean'] - c['paper']:+.1f}]"
    return text


def render_markdown(cells: pd.DataFrame, paper: bool = False) -> str:
    """Markdown: cells 'mean ± std (seeds)', the best of each column in bold, a mean column (only
    over methods with every scenario), and with `paper` the paper's number and our difference."""
    mean, best, row_mean = _means(cells)
    head = ["method", *cells.columns, "mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in cells.index:
        row = [_cell(cells.loc[method, c], best[c], ("**", "**"), paper) for c in cells.columns]
        lines.append(
            f"| {method} | "
            + " | ".join(row)
            + f" | {'–' if pd.isna(row_mean[method]) else f'{row_mean[method]:.1f}'} |"
        )
    note = (
        "\n\nCells: mean ± std over seeds (number of successful seeds; one seed: its number alone);"
        " best of each column in bold."
    )
    if any(isinstance(c, dict) and c.get("significant") for c in cells.to_numpy().ravel()):
        note += " †: the reference method's AUROC differs from this one's in every seed (DeLong, p < 0.05)."
    if paper:
        note += " In brackets: the paper's number and ours minus it."
    return "\n".join(lines) + note + "\n"


def _tex(text: str) -> str:
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("&", r"\&"),
        ("#", r"\#"),
        ("±", r"$\pm$"),
        ("†", r"$^\dagger$"),
    ):
        text = text.replace(a, b)
    return text


def render_latex(cells: pd.DataFrame, paper: bool = False) -> str:
    """A booktabs tabular with the same cells as the Markdown (escaped for LaTeX)."""
    mean, best, row_mean = _means(cells)
    head = ["method", *cells.columns, "mean"]
    lines = [
        r"\begin{tabular}{l" + "c" * (len(head) - 1) + "}",
        r"\toprule",
        " & ".join(_tex(h) for h in head) + r" \\",
        r"\midrule",
    ]
    for method in cells.index:
        row = [
            _tex(_cell(cells.loc[method, c], best[c], ("\0", "\1"), paper))
            .replace("\0", r"\textbf{")
            .replace("\1", "}")
            for c in cells.columns
        ]
        lines.append(
            " & ".join([_tex(method), *row, "–" if pd.isna(row_mean[method]) else f"{row_mean[method]:.1f}"]) + r" \\"
        )
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def per_class_auroc(runs: pd.DataFrame) -> pd.DataFrame:
    """AUROC of each successful run per anomaly class (normal test images against that class's) and
    per hidden normal class (that class's test images against every anomaly), from scores.npz."""
    rows = []
    for _, r in runs[runs["status"] == "ok"].iterrows():
        path = Path(r["run_dir"]) / "scores.npz"
        if not path.exists():
            log.warning("%s has no scores.npz; skipped in the per-class table", r["run_dir"])
            continue
        with np.load(path) as f:
            label, score, cls = f["label"], f["score"], f["test_class"]
        base = {k: r[k] for k in ("dataset", "split", "detector", "seed", "run_dir")}
        for kind, own, other in (("anomaly_class", label == 1, label == 0), ("normal_class", label == 0, label == 1)):
            for c in np.unique(cls[own]):
                pick = (own & (cls == c)) | other
                auroc = roc_auc_score(label[pick], score[pick])
                rows.append(
                    {
                        **base,
                        "kind": kind,
                        "class": int(c),
                        "n_class": int((own & (cls == c)).sum()),
                        "auroc": float(auroc),
                    }
                )
    return pd.DataFrame(rows)


def compare_methods(
    runs: pd.DataFrame,
    reference: str,
    out_dir: Path,
    caption: str = "",
    alpha: float = 0.05,
    by: tuple[str, ...] = ("dataset", "split"),
    earlier_delong: pd.DataFrame | None = None,
) -> tuple[str, pd.DataFrame]:
    """The statistics beside a table. Per cell and seed: DeLong's test of `reference` against each
    other method on the same test images (out_dir/delong.csv). Pooling every scenario x seed block:
    average ranks, Friedman's test, Wilcoxon signed-rank tests of `reference` against each method
    with Holm's correction, and a critical-difference diagram (out_dir/cd_diagram.png/.pdf), over the
    blocks every method has; a method with results in fewer than half of the blocks is left out of
    these (and named) rather than cutting them down to its blocks. When a method in at least half of
    the blocks still cuts some out, a second view pools every block without it.
    `earlier_delong`: DeLong rows of an earlier report (sweep.py --keep) for runs whose scores are not here;
    a comparison computed now replaces the earlier row of the same cell, seed and method.
    Returns the Markdown section and the DeLong table (for marking cells)."""
    from clad import stats

    ok = runs[runs["status"] == "ok"].copy()
    ok["method"] = [method_label(r) for _, r in ok.iterrows()] if "variant" in ok else ok["detector"]
    by = list(by)  # the columns of a scenario (a block is a scenario and a seed)
    delong = stats.delong_against(ok, reference, by)
    if earlier_delong is not None and len(earlier_delong):
        keys = [*by, "seed", "reference", "detector"]
        done = set(map(tuple, delong[keys].astype(str).itertuples(index=False))) if len(delong) else set()
        again = [tuple(k) in done for k in earlier_delong[keys].astype(str).itertuples(index=False)]
        delong = pd.concat([delong, earlier_delong[~pd.Series(again, index=earlier_delong.index)]], ignore_index=True)
        delong = delong.sort_values(keys, kind="stable").reset_index(drop=True)
    if len(delong):
        delong.to_csv(out_dir / "delong.csv", index=False)
    else:
        (out_dir / "delong.csv").unlink(missing_ok=True)  # an earlier report's file would describe other runs
    lines = [f"## Statistics: {reference} against the other methods\n"]
    if not len(delong):
        lines.append(
            f"No DeLong test: no scenario and seed has the test scores (scores.npz) of {reference} and of another "
            "method in this checkout, nor a kept DeLong row of these runs.\n"
        )
    else:
        delong["significant"] = delong["p"] < alpha
        per_method = delong.groupby("detector").agg(
            cells=("p", "size"), significant=("significant", "sum"), mean_diff=("diff", "mean")
        )
        lines.append(f"DeLong's test per scenario and seed (p < {alpha}; delong.csv), {reference} minus the method:\n")
        lines.append(per_method.assign(mean_diff=lambda d: (100 * d["mean_diff"]).round(2)).to_markdown() + "\n")
    blocks = ok.pivot_table(index=[*by, "seed"], columns="method", values="auroc", aggfunc="mean")
    # A method run in fewer than half of the blocks (a row being filled in) would cut the pooled
    # statistics down to its few blocks: it is left out of them, and named, instead.
    sparse = [m for m in blocks if m != reference and 2 * blocks[m].notna().sum() < len(blocks)]
    blocks = blocks.drop(columns=sparse)
    complete = blocks.dropna()
    left_out = (
        f"; methods left out, with results in fewer than half of the blocks: {', '.join(sparse)}" if sparse else ""
    )
    if blocks.shape[1] >= 3 and len(complete) >= 2 and reference in blocks:
        ranks, fried, wil = _rank_tests(blocks, reference, alpha)
        cd = stats.critical_difference(fried["n_methods"], fried["n_blocks"], alpha)
        stats.plot_cd_diagram(ranks, cd, out_dir / "cd_diagram.png", caption)
        lines += [
            f"Pooled over {fried['n_blocks']} blocks (scenario x seed with every method; {len(blocks) - len(complete)} incomplete blocks left out{left_out}):",
            f"Friedman chi2 = {fried['statistic']:.2f}, p = {fried['p']:.3g}; Nemenyi critical difference {cd:.2f} ranks (cd_diagram.png).\n",
            "Average rank (1 = best):\n",
            ranks.round(2).to_frame().to_markdown() + "\n",
            f"Wilcoxon signed-rank of {reference} against each method over the blocks, Holm-corrected (significant: p_holm < {alpha}):\n",
            wil.round(4).to_markdown() + "\n",
        ]
        lines += _without_partial_methods(blocks, complete, reference, alpha)
    else:
        lines.append(
            f"Rank tests need >= 3 methods including {reference} and >= 2 complete blocks; found {blocks.shape[1]} methods, {len(complete)} complete blocks{left_out}.\n"
        )
    return "\n".join(lines), delong


def _rank_tests(blocks: pd.DataFrame, reference: str, alpha: float) -> tuple[pd.Series, dict, pd.DataFrame]:
    """Average ranks, Friedman's test and Wilcoxon-Holm of `reference` over the blocks (rows) x methods."""
    from clad import stats

    return stats.average_ranks(blocks), stats.friedman(blocks), stats.wilcoxon_holm(blocks, reference, alpha)


def _without_partial_methods(blocks: pd.DataFrame, complete: pd.DataFrame, reference: str, alpha: float) -> list[str]:
    """The second view when a partly run method cut the pooled blocks down: the same ranks and
    Wilcoxon-Holm tests over every block the other methods have, without the partly run ones."""
    partial = [m for m in blocks if m != reference and blocks[m].isna().any()]
    rest = blocks.drop(columns=partial).dropna()
    if not partial or len(rest) <= len(complete) or rest.shape[1] < 3:
        return []
    ranks, fried, wil = _rank_tests(rest, reference, alpha)
    return [
        f"The same over {fried['n_blocks']} blocks without the partly run methods ({', '.join(partial)}), "
        f"so that no block is left out for them: Friedman chi2 = {fried['statistic']:.2f}, p = {fried['p']:.3g}.\n",
        "Average rank (1 = best):\n",
        ranks.round(2).to_frame().to_markdown() + "\n",
        f"Wilcoxon signed-rank of {reference}, Holm-corrected, over these blocks:\n",
        wil.round(4).to_markdown() + "\n",
    ]


def significant_cells(delong: pd.DataFrame, by: list[str], alpha: float = 0.05) -> set[tuple[str, str]]:
    """(table column, detector) cells whose every seed's DeLong test against the reference has p < alpha."""
    if not len(delong):
        return set()
    every = delong.assign(sig=delong["p"] < alpha).groupby([*by, "detector"])[["sig"]].all().reset_index()
    return {(f"{r['dataset']}/{scenario(r)}", r["detector"]) for _, r in every[every["sig"]].iterrows()}


def failures(runs: pd.DataFrame) -> str:
    """The runs that did not end ok, each with its folder and error, as a Markdown list."""
    bad = runs[runs["status"] != "ok"]
    lines = [
        f"- {r.get('detector')} on {r.get('dataset')}/{r.get('split')} seed {r.get('seed')}: **{r['status']}** "
        f"({r.get('error', '') if isinstance(r.get('error'), str) else 'no error recorded'}) in `{r['run_dir']}`"
        for _, r in bad.iterrows()
    ]
    return ("## Runs that did not end ok\n\n" + "\n".join(lines) + "\n") if lines else ""
