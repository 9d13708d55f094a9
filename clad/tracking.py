"""Experiment trackers for run.py (none, or Weights & Biases, offline by default so it never needs
an account or a network), and progress bars. Both listen to the training loop's epoch events
(`clad.training.listen`), so losses reach W&B and the terminal as they happen."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

log = logging.getLogger(__name__)

MODES = ("offline", "disabled", "online")


class NullLogger:
    """Keeps nothing: metrics.json and scores.npz are the record."""

    def start(
        self,
        config: dict[str, Any],
        name: str,
        group: str | None = None,
        job_type: str | None = None,
        tags: list[str] | None = None,
    ) -> None:
        pass

    def log_epoch(self, event: dict[str, Any]) -> None:
        pass

    def log(self, metrics: dict[str, Any]) -> None:
        pass

    def finish(self, failed: bool) -> None:
        pass


class WandbLogger:
    """One W&B run per job: the resolved config, each stage's loss per epoch as it happens
    (`<stage>/loss` against `<stage>/epoch`), the final metrics as the summary; `group` = the
    scenario, `job_type` = the detector, `tags` from the config."""

    def __init__(
        self, project: str = "clad-bench", mode: str = "offline", dir: str | None = None, entity: str | None = None
    ):
        self.project = project
        self.mode = mode
        self.dir = dir
        self.entity = entity

    def start(
        self,
        config: dict[str, Any],
        name: str,
        group: str | None = None,
        job_type: str | None = None,
        tags: list[str] | None = None,
    ) -> None:
        if self.mode not in MODES:
            raise ValueError(f"logger.mode must be one of {list(MODES)}; got {self.mode!r}")
        import wandb

        self.run_ = wandb.init(
            project=self.project,
            entity=self.entity,
            mode=self.mode,
            dir=self.dir,
            config=config,
            name=name,
            group=group,
            job_type=job_type,
            tags=list(tags or []) or None,
            reinit="finish_previous",
        )
        self.stages_: set[str] = set()

    def log_epoch(self, event: dict[str, Any]) -> None:
        if getattr(self, "run_", None) is None:
            return
        stage = event["stage"]
        if stage not in self.stages_:  # each stage's curve has its own x axis
            self.run_.define_metric(f"{stage}/epoch")
            self.run_.define_metric(f"{stage}/*", step_metric=f"{stage}/epoch")
            self.stages_.add(stage)
        self.run_.log({f"{stage}/{k}": v for k, v in event.items() if k not in ("stage", "epochs") and v is not None})

    def log(self, metrics: dict[str, Any]) -> None:
        if getattr(self, "run_", None) is not None:  # start() may have failed: never hide its error
            self.run_.summary.update(metrics)

    def finish(self, failed: bool) -> None:
        if getattr(self, "run_", None) is not None:
            self.run_.finish(exit_code=1 if failed else 0)
            self.run_ = None


def progress_enabled(setting: Any, multirun: bool) -> bool:
    """`progress: auto` shows bars only on a terminal, outside multiruns and CI; true/false force it."""
    if setting in (True, False):
        return setting
    if setting != "auto":
        raise ValueError(f"progress must be auto, true or false; got {setting!r}")
    return sys.stderr.isatty() and not multirun and not os.environ.get("CI")


class ProgressBars:
    """A tqdm bar per training stage (epochs, with the running loss), fed by epoch events."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm.auto import tqdm

        stage = event["stage"]
        if stage not in self.bars:
            self.bars[stage] = tqdm(total=event["epochs"], desc=stage, unit="epoch", leave=True)
        bar = self.bars[stage]
        bar.update(1)
        bar.set_postfix(loss=f"{event['loss']:.4g}")
        if event["epoch"] >= event["epochs"]:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
