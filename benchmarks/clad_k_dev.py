"""The number of clusters k and the classifier network on the development set (issue 7): one table from the
`benchmarks.clad_plus_dev` runs of `benchmarks/clad_k_dev.sh` (every score of one CLAD fit, at each k and network, on
the embedded digits at 8x8 and at 28x28).

    python -m benchmarks.clad_k_dev results/clad_k_dev/*.json > results/clad_k_dev/README.md

Rows: image size, classifier network, k and seeds; columns: AUROC x 100 of the faithful CLAD's ODIN and of energy,
multi-class (digits_cur, digits_str, digits_mix) and one-class (the ten digits), mean over scenarios and seeds ± the
std over seeds averaged over scenarios, and the classifier's held-out pseudo-label accuracy (a signal of the normal
images alone). No MNIST, CIFAR-10 or GTSRB image is read.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

SCORES = ("odin", "energy")


def setting(command: str, key: str, default: str) -> str:
    """The value of a Hydra override `key=value` in a clad_plus_dev command, or `default`."""
    match = re.search(rf"(?:^|\s){re.escape(key)}=(\S+)", command)
    return match.group(1) if match else default


def network(command: str) -> str:
    """The classifier a clad_plus_dev command overrides: `cnn` (named, or the default of the rows that ran before
    `by_shape` became the default), e.g. `resnet w16`, or with its blocks a stage, e.g. `resnet w16 b1111`."""
    name = setting(command, "classifier", "cnn")
    width = setting(command, "classifier.width", "")
    blocks = re.sub(r"\D", "", setting(command, "classifier.blocks", ""))
    return " ".join([name] + [f"w{width}"] * bool(width) + [f"b{blocks}"] * bool(blocks))


def table(paths: list[Path]) -> tuple[pd.DataFrame, list[dict], list[int]]:
    """One row per file (image side in pixels, classifier, k, seeds): mean ± std of each score and kind, held-out
    accuracy, fit seconds; with each file's provenance and the seeds the rows hold."""
    rows, provenance, seeds = [], [], set()
    for path in paths:
        run = json.loads(path.read_text())
        command = run["provenance"]["command"]
        provenance.append({"file": path.as_posix(), **run["provenance"]})
        size = setting(command, "dataset.image_size", "null").replace("null", "8")
        k = int(setting(command, "detector.n_clusters", "10"))
        frame = pd.DataFrame(run["rows"])
        own_seeds = sorted(int(s) for s in frame.seed.unique())
        seeds.update(own_seeds)
        row = {
            "pixels": int(size),
            "classifier": network(command),
            "k": k,
            "seeds": ", ".join(map(str, own_seeds)),
            "fits": len(frame),
        }
        for kind, part in frame.groupby("kind"):
            std = part.groupby("scenario")[list(SCORES)].std(ddof=0).mean()
            for score in SCORES:
                row[f"{kind} {score}"] = f"{100 * part[score].mean():.1f} ± {100 * std[score]:.1f}"
            row[f"{kind} held-out acc."] = f"{100 * part.holdout_accuracy.mean():.1f}"
        row["fit s"] = round(frame.fit_seconds.mean(), 1)
        rows.append(row)
    return (
        pd.DataFrame(rows).sort_values(["pixels", "classifier", "k", "seeds"]).reset_index(drop=True),
        provenance,
        sorted(seeds),
    )


def main(argv: list[str] | None = None) -> None:
    paths = sorted(Path(p) for p in (sys.argv[1:] if argv is None else argv))
    frame, provenance, seeds = table(paths)
    lines = [
        "# CLAD's k and classifier network on the development set (the embedded digits)",
        "",
        "Made by `bash benchmarks/clad_k_dev.sh` (one `python -m benchmarks.clad_plus_dev` run per row, its command "
        "below), table by `python -m benchmarks.clad_k_dev results/clad_k_dev/*.json`. "
        f"Seeds {', '.join(map(str, seeds))}; budget=cpu; "
        "CLAD's defaults but k, the classifier (`cnn`, the default, or a ResNet of the width given) and the image size; "
        "one torch thread a fit. AUROC x 100, mean over "
        "scenarios and seeds ± the std over seeds averaged over scenarios; held-out acc.: the classifier's accuracy on "
        "the 10% of its training images held out from it, against their pseudo-labels (no test label). Multi-class: "
        "digits_cur, digits_str, digits_mix; one-class: each digit normal, the nine others anomalies. The decisions "
        "these rows served, each rule written before its rows ran: `results/selection_log.md`, sessions 22 (k) and "
        "23 (the classifier).",
        "",
        frame.to_markdown(index=False),
        "",
        "Runs:",
        "",
        *(
            f"- `{p['file']}`: `{p['command']}` (commit {p['git_commit'][:7]}{', dirty' if p['git_dirty'] else ''}; "
            f"{p['started']} to {p['finished']}; {p['machine']})"
            for p in provenance
        ),
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
