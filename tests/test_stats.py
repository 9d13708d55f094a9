"""clad.stats against hand-computed values, scipy and scikit-learn: DeLong's placement values and
variance (DeLong, DeLong and Clarke-Pearson 1988) against a plain loop, Holm's adjustment, average
ranks, Friedman, Wilcoxon + Holm and the Nemenyi critical difference (Demšar 2006, Table 5)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from clad.stats import (
    average_ranks,
    cd_groups,
    critical_difference,
    delong_against,
    delong_test,
    delong_variance,
    friedman,
    holm,
    plot_cd_diagram,
    wilcoxon_holm,
)


def loop_components(y, s):
    """Placement values by definition, one pair at a time: psi(x, y) = 1 if x > y, 1/2 if equal."""
    pos, neg = s[y == 1], s[y == 0]

    def psi(a, b):
        return 1.0 if a > b else 0.5 if a == b else 0.0

    v10 = np.array([sum(psi(x, yy) for yy in neg) / len(neg) for x in pos])
    v01 = np.array([sum(psi(x, yy) for x in pos) / len(pos) for yy in neg])
    return v10, v01


def tied_data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    y[:2], y[2:4] = 1, 0
    a = np.round(rng.normal(size=n) + y, 1)  # rounded: many ties
    b = np.round(rng.normal(size=n) + 0.5 * y, 1)
    return y, a, b


def test_delong_auroc_equals_sklearn():
    y, a, b = tied_data()
    aucs, cov = delong_variance(y, np.vstack([a, b]))
    assert aucs == pytest.approx([roc_auc_score(y, a), roc_auc_score(y, b)], abs=1e-12)
    assert cov.shape == (2, 2) and np.allclose(cov, cov.T)
    result = delong_test(y, a, b)
    assert result["diff"] == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)


def test_delong_variance_by_hand():
    # positives x = (3, 1), negatives y = (2, 1); ties count 1/2.
    # V10(3) = (1 + 1) / 2 = 1,     V10(1) = (0 + 1/2) / 2 = 1/4  -> AUROC = 5/8
    # V01(2) = (1 + 0) / 2 = 1/2,   V01(1) = (1 + 1/2) / 2 = 3/4
    # S10 = var(1, 1/4; ddof 1) = (3/4)^2 / 2 = 9/32,  S01 = var(1/2, 3/4) = (1/4)^2 / 2 = 1/32
    # Var = S10 / m + S01 / n = 9/64 + 1/64 = 10/64 = 0.15625
    y = np.array([1, 1, 0, 0])
    s = np.array([3.0, 1.0, 2.0, 1.0])
    aucs, cov = delong_variance(y, s)
    assert aucs[0] == pytest.approx(0.625)
    assert cov[0, 0] == pytest.approx(0.15625)


def test_delong_against_itself_is_no_difference():
    y, a, _ = tied_data(1)
    result = delong_test(y, a, a)
    assert result["diff"] == 0 and result["se"] == 0 and result["z"] == 0 and result["p"] == 1.0
    same = np.zeros_like(a)  # constant scores: zero variance everywhere, still no division
    assert delong_test(y, same, same)["p"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_components_equal_a_loop(seed):
    y, a, b = tied_data(seed)
    aucs, cov = delong_variance(y, np.vstack([a, b]))
    comps = [loop_components(y, s) for s in (a, b)]
    v10, v01 = np.vstack([c[0] for c in comps]), np.vstack([c[1] for c in comps])
    assert aucs == pytest.approx(v10.mean(axis=1), abs=1e-12)
    expected = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    assert np.allclose(cov, expected, atol=1e-14)
    # the test's se is the contrast [1, -1] of that covariance
    result = delong_test(y, a, b)
    se = np.sqrt(expected[0, 0] + expected[1, 1] - 2 * expected[0, 1])
    assert result["se"] == pytest.approx(se, rel=1e-9)
    assert result["p"] == pytest.approx(2 * sps.norm.sf(abs(result["diff"]) / se), rel=1e-9)


def test_delong_finds_a_clear_difference_and_refuses_one_class():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 200)
    good, bad = rng.normal(size=400) + 2 * y, rng.normal(size=400) + 0.2 * y
    result = delong_test(y, good, bad)
    assert result["diff"] > 0 and result["z"] > 0 and result["p"] < 1e-6
    with pytest.raises(ValueError, match="at least 2 anomalies"):
        delong_test(np.array([1, 0, 0, 0]), good[:4], bad[:4])


def test_holm_example():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def scores_3x3():
    return pd.DataFrame({"A": [0.9, 0.6, 0.8], "B": [0.8, 0.6, 0.7], "C": [0.7, 0.9, 0.75]})


def test_average_ranks_by_hand(caplog):
    # block 1: A 1, B 2, C 3;  block 2: C 1, A and B tie -> 2.5 each;  block 3: A 1, C 2, B 3
    # A = (1 + 2.5 + 1) / 3 = 1.5,  B = (2 + 2.5 + 3) / 3 = 2.5,  C = (3 + 1 + 2) / 3 = 2
    ranks = average_ranks(scores_3x3())
    assert list(ranks.index) == ["A", "C", "B"]
    assert ranks.to_dict() == pytest.approx({"A": 1.5, "B": 2.5, "C": 2.0})
    # lower is better: A = (3 + 1.5 + 3) / 3, B = (2 + 1.5 + 1) / 3, C = (1 + 3 + 2) / 3
    assert average_ranks(scores_3x3(), higher_is_better=False).to_dict() == pytest.approx(
        {"A": 2.5, "B": 1.5, "C": 2.0}
    )
    with_gap = pd.concat([scores_3x3(), pd.DataFrame({"A": [0.1], "B": [np.nan], "C": [0.2]})], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="clad.stats"):
        assert average_ranks(with_gap).to_dict() == pytest.approx(ranks.to_dict())
    assert "dropped 1 of 4 blocks" in caplog.text


def test_friedman_equals_scipy():
    table = pd.DataFrame(
        {"A": [0.9, 0.6, 0.8, 0.7, 0.95], "B": [0.8, 0.6, 0.7, 0.6, 0.9], "C": [0.7, 0.9, 0.75, 0.5, 0.85]}
    )
    expected = sps.friedmanchisquare(table["A"], table["B"], table["C"])
    result = friedman(table)
    assert result["statistic"] == pytest.approx(expected.statistic)
    assert result["p"] == pytest.approx(expected.pvalue)
    assert (result["n_blocks"], result["n_methods"]) == (5, 3)
    assert friedman(pd.DataFrame({"A": [1.0, 2.0], "B": [1.0, 2.0], "C": [1.0, 2.0]}))["p"] == 1.0
    with pytest.raises(ValueError, match="at least 3 methods"):
        friedman(table[["A", "B"]])


def test_wilcoxon_holm_flags_the_clearly_better_reference_only():
    base = np.linspace(0.6, 0.9, 8)
    table = pd.DataFrame(
        {
            "ref": base,
            "worse": base - np.linspace(0.10, 0.17, 8),  # every difference > 0, distinct: exact p = 2 / 2^8
            "same": base,  # every difference 0: p = 1, no exception
            "noise": base + np.array([0.01, -0.02, 0.03, -0.04, 0.05, -0.06, 0.07, -0.08]),
        }
    )
    result = wilcoxon_holm(table, "ref")
    assert list(result.index) == ["worse", "same", "noise"]
    assert result.loc["worse", "p"] == pytest.approx(2 / 2**8)
    assert result.loc["worse", "p_holm"] == pytest.approx(3 * 2 / 2**8)
    assert result.loc["same", "p"] == 1.0 and result.loc["same", "median_diff"] == 0
    assert result["significant"].to_dict() == {"worse": True, "same": False, "noise": False}
    assert (result["n_blocks"] == 8).all()
    with pytest.raises(ValueError, match="reference 'nope'"):
        wilcoxon_holm(table, "nope")


def test_critical_difference_matches_demsar():
    demsar_q = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]  # alpha = 0.05, k = 2..10
    for k, q in zip(range(2, 11), demsar_q):
        assert critical_difference(k, 6) / np.sqrt(k * (k + 1) / 36) == pytest.approx(q, abs=1e-3)
    assert critical_difference(4, 20) == pytest.approx(2.569 * np.sqrt(4 * 5 / (6 * 20)), abs=1e-3)  # ~1.049


def test_cd_groups_and_diagram(tmp_path):
    ranks = pd.Series({"A": 1.0, "B": 1.5, "C": 2.9, "D": 3.2})
    # cd 1.049: A-B (0.5) and C-D (0.3) closer than cd; B-C (1.4) not
    assert cd_groups(ranks, 1.049) == [["A", "B"], ["C", "D"]]
    written = plot_cd_diagram(ranks, 1.049, tmp_path / "cd.png", caption="test: 4 methods, 20 blocks")
    assert [p.name for p in written] == ["cd.png", "cd.pdf"]
    assert all(p.stat().st_size > 0 for p in written)


def write_run(folder, index, label, score):
    folder.mkdir(parents=True)
    np.savez(folder / "scores.npz", index=index, label=label, score=score)
    return str(folder)


def test_delong_against_two_runs(tmp_path, caplog):
    y, a, b = tied_data(4, n=40)
    index = np.arange(100, 140)
    perm = np.random.default_rng(0).permutation(40)  # the other run stored its images in another order
    runs = pd.DataFrame(
        [
            {
                "dataset": "mnist",
                "detector": "clad",
                "seed": 0,
                "status": "ok",
                "run_dir": write_run(tmp_path / "r1", index, y, a),
            },
            {
                "dataset": "mnist",
                "detector": "ocsvm",
                "seed": 0,
                "status": "ok",
                "run_dir": write_run(tmp_path / "r2", index[perm], y[perm], b[perm]),
            },
            {"dataset": "mnist", "detector": "dsvdd", "seed": 0, "status": "failed", "run_dir": str(tmp_path / "r3")},
            {
                "dataset": "mnist",
                "detector": "clad",
                "seed": 1,
                "status": "ok",
                "run_dir": write_run(tmp_path / "r4", index, y, a),
            },
            {
                "dataset": "mnist",
                "detector": "ocsvm",
                "seed": 1,
                "status": "ok",
                "run_dir": str(tmp_path / "r5"),
            },  # no scores.npz
        ]
    )
    with caplog.at_level(logging.WARNING, logger="clad.stats"):
        result = delong_against(runs, "clad", by=["dataset"])
    assert "r5/scores.npz is missing" in caplog.text
    assert len(result) == 1
    row = result.iloc[0]
    assert (row["dataset"], row["seed"], row["reference"], row["detector"], row["n"]) == (
        "mnist",
        0,
        "clad",
        "ocsvm",
        40,
    )
    assert row["auroc_ref"] == pytest.approx(roc_auc_score(y, a))
    assert row["auroc_other"] == pytest.approx(roc_auc_score(y, b))
    assert row["p"] == pytest.approx(delong_test(y, a, b)["p"])
    runs.loc[1, "run_dir"] = write_run(tmp_path / "r6", index, 1 - y, b)
    with pytest.raises(ValueError, match="disagree on the labels"):
        delong_against(runs, "clad", by=["dataset"])
