"""benchmarks/bench.py's pure parts: the growth slope and the Markdown report (the timings themselves are
measured by the script, never in tests)."""

import pytest

from benchmarks.bench import loglog_slope, markdown


def test_loglog_slope_is_the_exponent_of_the_growth():
    linear = [{"n_train": n, "fit_seconds": 0.01 * n} for n in (2000, 4000, 8000, 16000)]
    quadratic = [{"n_train": n, "fit_seconds": 1e-6 * n**2} for n in (2000, 4000, 8000)]
    assert loglog_slope(linear) == pytest.approx(1.0)
    assert loglog_slope(quadratic) == pytest.approx(2.0)
    failed = {"n_train": 16000, "fit_seconds": None}  # a run that failed is left out
    assert loglog_slope(linear[:2] + [failed]) == pytest.approx(1.0)
    assert loglog_slope(linear[:1]) is None


def test_markdown_lists_every_run_and_the_slope():
    run = {"name": "clad", "command": "python run.py detector=clad", "n_train": 2000, "wall_s": 70.2}
    run |= {"fit_seconds": 61.0, "peak_rss_gib": 1.25, "auroc": 0.9123, "status": "ok"}
    text = markdown(
        "python -m benchmarks.bench --growth clad",
        {"git_commit": "abc"},
        {"growth": {"clad": {"runs": [run], "slope": 0.91}}},
    )
    assert "| clad | `python run.py detector=clad` | 2000 | 70 | 61 | 1.25 | 91.2 | ok |" in text
    assert "clad: log-log slope of fit time against training images 0.91 (target <= 1.1)." in text
    assert "- git_commit: abc" in text and "Peak" not in text  # sections that did not run are absent
