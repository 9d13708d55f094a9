"""benchmarks/bench_bf16_cpu.py: the five training paths are measured in one process and the speedups are
images/s over the float32 plain path's."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import bench_bf16_cpu


def test_five_paths_and_speedups_relative_to_float32_plain(tmp_path):
    out = tmp_path / "b"
    bench_bf16_cpu.main(["--steps", "1", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    assert set(result["paths"]) == {
        "float32 plain",
        "float32 fast",
        "bfloat16 plain",
        "bfloat16 fast",
        "float32 fast, classifier NHWC",  # the layout clad.training.classifier_layout does not take in float32
    }
    speedup = result["speedup_over_float32_plain"]
    assert speedup["float32 plain"] == {"autoencoder": 1.0, "classifier": 1.0}
    fast, plain = result["paths"]["bfloat16 fast"], result["paths"]["float32 plain"]
    assert speedup["bfloat16 fast"]["classifier"] == pytest.approx(
        fast["classifier"]["images_per_s"] / plain["classifier"]["images_per_s"]
    )
    assert result["git_commit"] and "flags" in result
    assert out.with_suffix(".md").read_text().count("| bfloat16 ") == 2


def test_compile_adds_a_path_and_times_its_compiling_epoch_apart(monkeypatch):
    """--compile measures the float32 fast path through torch.compile; torch.compile itself is replaced by the
    identity here (a CI machine may have no C++ compiler), so this checks the wiring, not inductor."""
    monkeypatch.setattr(torch, "compile", lambda model: model)
    monkeypatch.setattr(bench_bf16_cpu, "peak_gflops", lambda *args, **kwargs: 1.0)  # the peaks are not under test
    result = bench_bf16_cpu.measure(1, repeats=1, compile=True)
    compiled = result["paths"]["float32 fast, torch.compile"]
    assert compiled["classifier"]["first_epoch_s"] > 0 and compiled["autoencoder"]["images_per_s"] > 0
    assert "first_epoch_s" not in result["paths"]["float32 fast"]["classifier"]
    assert "compiling" in bench_bf16_cpu.markdown({"command": "c"}, result)
