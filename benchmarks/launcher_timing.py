"""Wall time of one experiment under Hydra's basic launcher and under the joblib one (issue 10).

    python -m benchmarks.launcher_timing                        # experiment=table1_mnist budget=smoke, 36 runs
    python -m benchmarks.launcher_timing --experiment digits_scenarios --budget smoke

Runs the experiment twice into a temporary folder (so nothing under multirun/ is touched or resumed): first with
the basic launcher (one job at a time, every core to it), then with `hydra/launcher=parallel` (joblib: jobs side by
side, threads per job = cores // jobs). Writes results/launcher_timing.{md,json}: each launcher's wall time, the
sum of its runs' fit and score seconds, and its runs' statuses. Measure on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from clad.record import provenance

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {"basic": [], "parallel": ["hydra/launcher=parallel"]}


def time_launcher(extra: list[str], overrides: list[str], sweep_dir: Path) -> dict:
    cmd = [sys.executable, "run.py", *overrides, *extra, f"hydra.sweep.dir={sweep_dir}"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    runs = [json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/metrics.json"))]
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "command": "python run.py " + " ".join([*overrides, *extra]),
        "returncode": done.returncode,
        "stderr_tail": done.stderr[-2000:] if done.returncode else "",
        "wall_s": wall,
        "runs": len(runs),
        "statuses": statuses,
        "fit_s_sum": sum(r.get("fit_seconds") or 0.0 for r in runs),
        "score_s_sum": sum(r.get("score_seconds") or 0.0 for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", default="table1_mnist")
    parser.add_argument("--budget", default="smoke")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "results" / "launcher_timing", help="writes OUT.json, OUT.md"
    )
    args = parser.parse_args()
    overrides = [f"experiment={args.experiment}", f"budget={args.budget}"]
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp:
        result = {name: time_launcher(extra, overrides, Path(tmp) / name) for name, extra in LAUNCHERS.items()}
    command = f"python -m benchmarks.launcher_timing --experiment {args.experiment} --budget {args.budget}"
    info = {
        "command": command,
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({platform.platform()}), {os.cpu_count()} CPUs, cuda: {torch.cuda.is_available()}",
        "data": "$CLAD_DATA ("
        + os.path.relpath(os.environ.get("CLAD_DATA", ROOT.parent / "shared" / "data"), ROOT)
        + ")",
        **{k: v for k, v in provenance().items() if k in ("git_commit", "git_dirty", "torch_version")},
    }
    record = {"provenance": info, **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    basic = result["basic"]["wall_s"]
    lines = [
        f"# `experiment={args.experiment} budget={args.budget}` under each launcher ({command})",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        "",
        "| launcher | command | runs (statuses) | wall s | vs basic | sum of fit s | sum of score s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | `{r['command']}` | {r['runs']} ({r['statuses']}) | {r['wall_s']:.1f} | "
        f"{r['wall_s'] / basic:.2f} | {r['fit_s_sum']:.1f} | {r['score_s_sum']:.1f} |"
        for name, r in result.items()
    ]
    lines += [
        "",
        "The wall time includes each run's start-up, data loading and writing, which the fit and score sums leave out;",
        "`parallel` runs two jobs at a time at one thread each, `basic` one job at a time on every core.",
    ]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
