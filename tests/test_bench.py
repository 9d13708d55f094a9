"""benchmarks/bench.py's pure parts: the growth slope and the Markdown report (the timings themselves are
measured by the script, never in tests)."""

import json

import numpy as np
import pytest

import clad.nets
import clad.training
from benchmarks import bench
from benchmarks.bench import fastest, loglog_slope, main, markdown, speedups


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


def test_render_rewrites_the_markdown_from_the_json_and_keeps_the_note(tmp_path):
    """--render measures nothing: the Markdown comes from the JSON, and --note is kept in both."""
    record = {
        "provenance": {"command": "python -m benchmarks.bench", "git_commit": "abc"},
        "odin": {
            "images": 64,
            "batched_s": 0.3,
            "forward_s": 0.1,
            "batch1_s_extrapolated": 0.9,
            "odin_overhead": 3.0,
            "odin_speedup": 3.0,
        },
    }
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(record))
    main(["--render", str(path), "--note", "idle machine"])
    assert json.loads(path.read_text())["provenance"]["note"] == "idle machine"
    text = path.with_suffix(".md").read_text()
    assert "- note: idle machine" in text and "- git_commit: abc" in text
    assert "ODIN on 64 images: batched 0.30 s, one forward 0.10 s (odin_overhead 3.00" in text


def test_fastest_keeps_each_loops_best_measurement():
    slow = {"autoencoder": {"images_per_s": 900.0}, "classifier": {"images_per_s": 3100.0}}
    fast = {"autoencoder": {"images_per_s": 1300.0}, "classifier": {"images_per_s": 1900.0}}
    assert fastest([slow, fast]) == {"autoencoder": fast["autoencoder"], "classifier": slow["classifier"]}


def _loops(ae: float, clf: float) -> dict:
    row = {"gflop_per_step": 1.0, "gflops": 10.0, "mfu": 0.1}
    return {"autoencoder": {"images_per_s": ae, **row}, "classifier": {"images_per_s": clf, **row}}


def test_markdown_shows_the_bf16_path_and_its_speedup():
    result = {"peak_gflops": 350.0, "peak_matmul": "2048^3 float32 matmul", "peak_gflops_bf16": 2200.0}
    result |= {"peak_matmul_bf16": "2048^3 bfloat16 matmul", "train_before": _loops(1000, 2000)}
    result |= {"train": _loops(1500, 2000), "train_bf16": _loops(3000, 4000)}
    result |= {"train_speedup": speedups(result["train"], result["train_before"])}
    result |= {"train_speedup_bf16": speedups(result["train_bf16"], result["train_before"])}
    text = markdown("python -m benchmarks.bench", {}, result)
    assert "| autoencoder | fast + bf16 autocast (`precision=bfloat16`; MFU against the bf16 peak) | 3000 |" in text
    assert "train_speedup (fast over plain images/s): autoencoder 1.50x, classifier 1.00x" in text
    assert (
        "train_speedup_bf16 (fast + bf16 autocast over plain float32 images/s): autoencoder 3.00x, classifier 2.00x"
        in text
    )


def test_e2e_refuses_an_unknown_path_before_running_anything(monkeypatch):
    ran = []
    monkeypatch.setattr(bench, "run_job", lambda *a: ran.append(a) or {})
    monkeypatch.setattr(bench, "log_line", lambda row: None)
    with pytest.raises(ValueError, match=r"--e2e clad:fp16: the path after ':' must be one of \['', 'bf16', 'plain'\]"):
        bench.e2e(["clad", "clad:fp16"])
    assert ran == []
    bench.e2e(["clad:bf16"])
    assert ran[0][-2:] == ("detector=clad", "precision=bfloat16")


def test_train_throughput_trains_in_the_precision_asked_for(monkeypatch):
    seen = []
    real = clad.training.autocast_dtype
    monkeypatch.setattr(clad.training, "autocast_dtype", lambda d, p: seen.append(p) or real(d, p))
    out = bench.train_throughput(1, 100.0, precision="bfloat16")
    assert len(seen) == 4 and set(seen) == {"bfloat16"}  # each loop's warm-up epoch and timed epoch
    assert set(out) == {"autoencoder", "classifier"} and all(r["images_per_s"] > 0 for r in out.values())


def test_the_measured_classifier_is_the_configured_one_and_a_bad_name_is_refused_first(monkeypatch):
    assert isinstance(bench.classifier("by_shape"), clad.nets.ResNet)  # CLAD's default at 1x28x28
    assert isinstance(bench.classifier("cnn"), clad.nets.SmallCNN)
    resnet = bench.train_throughput(1, 100.0, network="by_shape")["classifier"]["gflop_per_step"]
    cnn = bench.train_throughput(1, 100.0, network="cnn")["classifier"]["gflop_per_step"]
    assert resnet != cnn
    monkeypatch.setattr(bench, "peak_gflops", lambda *a, **k: pytest.fail("measured before the name was checked"))
    with pytest.raises(
        ValueError, match=r"--classifier 'resnet18': no conf/classifier/resnet18.yaml; accepted: \[.*'by_shape'"
    ):
        main(["--quick", "--classifier", "resnet18", "--out", "unused"])


def _run(name: str, seed: int, auroc: float, fit: float, status: str = "ok") -> dict:
    row = {"name": name, "command": f"python run.py {name}", "seed": seed, "n_train": 100, "wall_s": fit + 10}
    return row | {"fit_seconds": fit, "peak_rss_gib": 1.0 + seed, "auroc": auroc, "status": status}


def test_e2e_runs_every_name_at_each_seed_and_saves_after_each_run(monkeypatch):
    monkeypatch.setattr(bench, "run_job", lambda name, *o: {"name": name, "overrides": o})
    monkeypatch.setattr(bench, "log_line", lambda row: None)
    saved = []
    rows = bench.e2e(["clad", "clad:bf16"], ("dataset=mnist",), seeds=[0, 1], on_row=lambda r: saved.append(len(r)))
    assert [(r["name"], r["seed"]) for r in rows] == [("clad", 0), ("clad:bf16", 0), ("clad", 1), ("clad:bf16", 1)]
    assert rows[3]["overrides"] == ("dataset=mnist", "detector=clad", "precision=bfloat16", "seed=1")
    assert saved == [1, 2, 3, 4]


def test_e2e_summary_averages_the_finished_runs_of_each_name():
    rows = [_run("clad", 0, 0.90, 400.0), _run("clad:bf16", 0, 0.89, 200.0), _run("clad", 1, 0.94, 600.0)]
    rows += [_run("clad:bf16", 1, 0.93, 300.0), _run("clad:bf16", 2, 0.0, 0.0, status="failed")]
    summary = bench.e2e_summary(rows)
    assert summary["clad"]["runs"] == 2 and summary["clad:bf16"]["runs"] == 2  # the failed run is left out
    assert summary["clad"]["auroc_mean"] == pytest.approx(0.92)
    assert summary["clad"]["auroc_std"] == pytest.approx(np.std([0.90, 0.94], ddof=1))
    assert summary["clad:bf16"]["fit_over_first"] == pytest.approx(250.0 / 500.0)
    assert summary["clad"]["peak_rss_gib_max"] == 2.0
    text = markdown(
        "python -m benchmarks.bench --e2e clad clad:bf16 --seeds 0 1", {}, {"e2e": rows, "e2e_summary": summary}
    )
    assert "| clad:bf16 | 2 | 91.0 ± 2.8 | 260 | 250 | 0.50 | 2.00 |" in text
    assert "| clad seed 1 | `python run.py clad` |" in text
