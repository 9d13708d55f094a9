"""One experiment: fit a detector on a split's normal training images, score the test images,
write metrics.json, config.yaml and scores.npz into the run's own folder (clad/experiment.py).

    python run.py                                   # CLAD on the embedded digits, normal {0, 3, 8}
    python run.py -m detector=clad seed=0,1,2       # a sweep; see sweep.py for the tables

A failed job of a multirun leaves its record and the sweep goes on; the multirun exits non-zero
at the end when any job failed. Re-running a sweep into its folder resumes it.
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from clad.experiment import run
from clad.record import register_resolvers

logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # its INFO lines list CPU features it did not find


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    return run(cfg).get("auroc")


if __name__ == "__main__":
    register_resolvers()
    main()
