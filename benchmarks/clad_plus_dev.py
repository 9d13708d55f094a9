"""The development-set study behind CLAD+ (issue 12): on the embedded digits scenarios only (the
three multi-class splits digits_cur/str/mix and the ten one-class splits), seeds 0, 1, 2, fit CLAD
once per (scenario, seed) from the real configs and score the test set with every stage-4 score of
clad.scores plus three rank fusions (each score ranked against the normal validation images, the
ranks added). Writes `--out`.json (one row per fit) and `--out`.md (means over scenarios and seeds).

    python -m benchmarks.clad_plus_dev --out results/clad_plus_dev            # CLAD's fit (k-means + DEC)
    python -m benchmarks.clad_plus_dev --out results/clad_plus_dev_nodec -- cluster=faiss
    python -m benchmarks.clad_plus_dev --out results/clad_plus_dev_28px --kind multi-class -- dataset.image_size=28

No MNIST, CIFAR-10 or GTSRB image is read: the choice of CLAD+'s score rests on this table alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from clad.data import to_float
from clad.experiment import build_data
from clad.metrics import auroc
from clad.record import provenance
from clad.scores import make_score

ROOT = Path(__file__).resolve().parents[1]
SCORES = {  # column: (score name, parameters)
    "odin": ("odin", {}),
    "msp": ("msp", {}),
    "energy": ("energy", {}),
    "maxlogit": ("maxlogit", {}),
    "knn_k1": ("knn", {"k": 1}),
    "knn_k5": ("knn", {"k": 5}),
    "knn_k50": ("knn", {"k": 50}),
    "mahalanobis": ("mahalanobis", {}),
    "react": ("react", {}),
}
FUSIONS = [("odin", "knn_k5"), ("odin", "mahalanobis"), ("energy", "knn_k5")]
SCENARIOS = [["split=digits_cur"], ["split=digits_str"], ["split=digits_mix"]] + [
    ["split=one_class", f"split.normal_class={d}"] for d in range(10)
]


def validation_rank(val: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The share of normal validation scores below each test score (0..1)."""
    return np.searchsorted(np.sort(val), test) / len(val)


def fit_and_score(overrides: list[str]) -> dict:
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["dataset=digits", "device=cpu", *overrides])
    _, split = build_data(cfg)
    det = instantiate(cfg.detector, _convert_="all")
    t0 = time.perf_counter()
    det.fit(to_float(split.train_x))
    row = {"fit_seconds": time.perf_counter() - t0, "holdout_accuracy": det.diagnostics_["clf_holdout_accuracy"]}
    keep = det.classifier_index_
    train = torch.from_numpy(to_float(split.train_x)[keep])
    labels = torch.from_numpy(det.pseudo_labels_[keep].astype(np.int64))
    test, val = {}, {}
    for column, (name, params) in SCORES.items():
        score = make_score(name, **params).setup(det.model_, train, labels, 512, torch.device("cpu"))
        test[column], val[column] = (
            torch.cat([score(det.model_, x) for x in torch.from_numpy(to_float(images)).split(512)]).numpy()
            for images in (split.test_x, split.val_x)
        )
        row[column] = auroc(split.test_y, test[column])
    for a, b in FUSIONS:
        fused = validation_rank(val[a], test[a]) + validation_rank(val[b], test[b])
        row[f"{a}+{b}"] = auroc(split.test_y, fused)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output prefix: writes OUT.json and OUT.md")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--kind", choices=["all", "multi-class", "one-class"], default="all", help="which scenarios")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every fit, as for run.py")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = []
    for scenario in SCENARIOS:
        kind = "one-class" if "one_class" in scenario[0] else "multi-class"
        if args.kind not in ("all", kind):
            continue
        for seed in args.seeds:
            row = {"scenario": scenario[-1].split("=")[-1], "seed": seed}
            row["kind"] = kind
            row.update(fit_and_score([*scenario, f"seed={seed}", *args.overrides]))
            rows.append(row)
            print(json.dumps(row), flush=True)
    options = ["--out", str(args.out), "--seeds", *map(str, args.seeds), "--kind", args.kind, "--", *args.overrides]
    info = {
        "command": "python -m benchmarks.clad_plus_dev " + " ".join(options),
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({platform.platform()}), {torch.get_num_threads()} torch thread",
        **provenance(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"provenance": info, "rows": rows}, indent=1))
    frame = pd.DataFrame(rows)
    columns = [*SCORES, *(f"{a}+{b}" for a, b in FUSIONS)]
    per_scenario_std = frame.groupby(["kind", "scenario"])[columns].std(ddof=0).groupby("kind").mean()
    mean = frame.groupby("kind")[columns].mean()
    table = pd.DataFrame(
        {
            kind: [f"{100 * mean.loc[kind, c]:.1f} ± {100 * per_scenario_std.loc[kind, c]:.1f}" for c in columns]
            for kind in mean.index
        },
        index=columns,
    )
    lines = [
        f"# CLAD+ development set: every stage-4 score on one CLAD fit ({' '.join(args.overrides) or 'defaults'})",
        "",
        *(
            f"- {k}: {v}"
            for k, v in info.items()
            if k in ("command", "started", "finished", "machine", "git_commit", "git_dirty", "torch_version")
        ),
        f"- Data: the embedded scikit-learn digits (8x8 unless dataset.image_size); seeds {args.seeds}; budget=cpu unless overridden; "
        f"mean fit {frame.fit_seconds.mean():.1f} s; mean held-out pseudo-label accuracy {frame.holdout_accuracy.mean():.3f}.",
        "- AUROC x 100, mean over scenarios and seeds ± the std over seeds (averaged over scenarios). Multi-class: "
        "digits_cur, digits_str, digits_mix; one-class: the ten digits. Fusions: ranks against normal validation images, added.",
        "",
        table.to_markdown(),
        "",
        "Per scenario (mean over seeds):",
        "",
        (100 * frame.groupby("scenario", sort=False)[columns].mean()).round(1).to_markdown(),
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
