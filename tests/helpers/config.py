"""The one way the tests compose the real configs: conf/config.yaml with command-line overrides, as
`python run.py OVERRIDES` composes it (lightning-hydra-template's idea: tests compose the real
configs and shrink them), and a detector built from it."""

from __future__ import annotations

from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from clad.record import register_resolvers
from tests.helpers.paths import CONF

UNUSED_OUTPUT_DIR = "/tmp/clad-tests-unused"  # for configs that are composed, never run


def compose(*overrides: str, output_dir: str | Path = UNUSED_OUTPUT_DIR) -> DictConfig:
    """conf/config.yaml composed with `overrides`, Hydra's own config included (`cfg.hydra`) and
    registered as the current one, so that run(cfg) sees the chosen option names exactly as on the
    command line. `output_dir` is `paths.output_dir`: where run(cfg) writes."""
    register_resolvers()  # as run.py does: conf/hydra's folder names use ${uid:}
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = hydra_compose(
            "config", overrides=[f"paths.output_dir={output_dir}", *overrides], return_hydra_config=True
        )
    HydraConfig().set_config(cfg)
    return cfg


def build_detector(name: str, *overrides: str, seed: int = 0):
    """`conf/detector/<name>.yaml` at budget=smoke on the CPU, instantiated, unfitted."""
    cfg = compose(f"detector={name}", "budget=smoke", "device=cpu", f"seed={seed}", *overrides)
    return instantiate(cfg.detector, _convert_="all")
