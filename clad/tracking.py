"""Experiment trackers for run.py: none, or Weights & Biases (offline by default, so it never
needs an account or a network)."""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class NullLogger:
    """Keeps nothing: metrics.json and scores.npz are the record."""

    def start(self, config: dict[str, Any], name: str) -> None:
        pass

    def log(self, metrics: dict[str, Any]) -> None:
        pass

    def finish(self, failed: bool) -> None:
        pass


class WandbLogger:
    def __init__(self, project: str = "clad-bench", mode: str = "offline", dir: str | None = None, entity: str | None = None):
        self.project = project
        self.mode = mode
        self.dir = dir
        self.entity = entity

    def start(self, config: dict[str, Any], name: str) -> None:
        if self.mode not in ("offline", "disabled", "online"):
            raise ValueError(f"logger.mode must be offline, disabled or online; got {self.mode!r}")
        import wandb

        self.run_ = wandb.init(project=self.project, entity=self.entity, mode=self.mode, dir=self.dir, config=config, name=name, reinit="finish_previous")

    def log(self, metrics: dict[str, Any]) -> None:
        if getattr(self, "run_", None) is not None:  # start() may have failed: never hide its error
            self.run_.summary.update(metrics)

    def finish(self, failed: bool) -> None:
        if getattr(self, "run_", None) is not None:
            self.run_.finish(exit_code=1 if failed else 0)
            self.run_ = None
