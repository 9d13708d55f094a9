"""Training throughput under bfloat16 autocast on the CPU, beside float32 (issue 11's 2x, on CPUs with AMX).

    python -m benchmarks.bench_bf16_cpu [--steps 20] [--out results/bench_bf16_cpu]

The same two training loops, networks and batch as `benchmarks.bench`'s train_mfu (clad.training's autoencoder
and classifier loops), five ways (six with --compile): float32 on the plain NCHW path and on the fast path (CLAD's
default layouts), then both again under bf16 autocast (clad.training's `precision="bfloat16"`), and last float32 with the classifier
NHWC too (the layout CLAD's float32 CPU path does not take: is NCHW still the faster one?), and with --compile the
float32 fast path through torch.compile (its first, compiling epoch timed apart). Also the float32 and bfloat16 peaks (a
2048^3 matmul each). clad.training's precision "auto" stays float32 on the CPU: this script measures what
`precision=bfloat16` buys there; whether it keeps the AUROC: results/benchmarks_e2e_precision.md. Writes OUT.json and
OUT.md and prints the JSON. `--classifier` names the classifier (conf/classifier; default `by_shape`, CLAD's default,
the one-block ResNet-16 at 1x28x28); the committed results/bench_bf16_cpu*.md predate session 25 and measured the
`cnn` (`--classifier cnn`).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from benchmarks.bench import classifier, cpu_facts, peak_gflops, train_throughput


def measure(steps: int, repeats: int = 3, compile: bool = False, network: str = "by_shape") -> dict:
    """Images/s of both loops, float32 and bf16 autocast, plain and fast layouts, and the speedups over float32 plain."""
    peak = peak_gflops(repeats)
    result = {
        "peak_float32_gflops": peak,
        "peak_bfloat16_gflops": peak_gflops(repeats, dtype=torch.bfloat16),
        "paths": {},
    }
    for name, channels_last in (("plain", False), ("fast", True)):
        result["paths"][f"float32 {name}"] = train_throughput(steps, peak, channels_last=channels_last, network=network)
        result["paths"][f"bfloat16 {name}"] = train_throughput(
            steps, peak, channels_last=channels_last, precision="bfloat16", network=network
        )
    # The layout clad.training.classifier_layout does not take: the classifier NHWC in float32 on the CPU.
    result["paths"]["float32 fast, classifier NHWC"] = train_throughput(
        steps, peak, classifier_nhwc=True, network=network
    )
    if compile:  # torch.compile (inductor's C++ kernels) on the default float32 fast path
        result["paths"]["float32 fast, torch.compile"] = train_throughput(steps, peak, compile=True, network=network)
    base = result["paths"]["float32 plain"]
    result["speedup_over_float32_plain"] = {
        path: {loop: r["images_per_s"] / base[loop]["images_per_s"] for loop, r in loops.items()}
        for path, loops in result["paths"].items()
    }
    return result


def markdown(info: dict, result: dict) -> str:
    lines = [f"# CPU training throughput, float32 against bfloat16 autocast ({info['command']})", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [
        "",
        f"Peaks (2048^3 matmul): float32 {result['peak_float32_gflops']:.0f} GFLOP/s, "
        f"bfloat16 {result['peak_bfloat16_gflops']:.0f} GFLOP/s.",
        "",
        "| path | autoencoder images/s | classifier images/s | autoencoder x | classifier x |",
        "|---|---|---|---|---|",
    ]
    for path, loops in result["paths"].items():
        x = result["speedup_over_float32_plain"][path]
        lines.append(
            f"| {path} | {loops['autoencoder']['images_per_s']:.0f} | {loops['classifier']['images_per_s']:.0f} | "
            f"{x['autoencoder']:.2f} | {x['classifier']:.2f} |"
        )
    lines += ["", "x: images/s over the float32 plain path's, same networks, batch and steps, same process."]
    compiled = result["paths"].get("float32 fast, torch.compile")
    if compiled:
        lines.append(
            f"torch.compile's first (compiling) epoch, left out of its rate: autoencoder "
            f"{compiled['autoencoder']['first_epoch_s']:.1f} s, classifier {compiled['classifier']['first_epoch_s']:.1f} s."
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per measurement")
    parser.add_argument("--out", default="results/bench_bf16_cpu")
    parser.add_argument(
        "--compile", action="store_true", help="add the float32 fast path under torch.compile (needs a C++ compiler)"
    )
    parser.add_argument("--classifier", default="by_shape", help="a conf/classifier name (default by_shape)")
    args = parser.parse_args(argv)
    classifier(args.classifier)  # a bad name fails here, before any measurement
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    info = {
        "command": " ".join(["python -m benchmarks.bench_bf16_cpu", *(sys.argv[1:] if argv is None else argv)]),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({platform.platform()}), {torch.get_num_threads()} torch threads",
        **cpu_facts(),
        "git_commit": commit,
        "torch_version": torch.__version__,
        "classifier": args.classifier,
    }
    result = measure(args.steps, compile=args.compile, network=args.classifier)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({**info, **result}, indent=1))
    out.with_suffix(".md").write_text(markdown(info, result))
    print(json.dumps({**info, **result}))


if __name__ == "__main__":
    main()
