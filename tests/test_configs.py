"""Every option of every config group composes; the default config instantiates; unknown names
fail with Hydra's list of options."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from hydra.utils import instantiate

from tests.conftest import CONF

GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir())
OPTIONS = [(g, f.stem) for g in GROUPS for f in sorted((CONF / g).glob("*.yaml"))]


def _compose(overrides=()):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=False)


@pytest.mark.parametrize("group, option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes(group, option):
    cfg = _compose([f"{group}={option}", "paths.output_dir=/tmp/unused"])
    assert cfg.seed is not None and cfg.device == "auto"


def test_default_run_instantiates():
    cfg = _compose(["paths.output_dir=/tmp/unused"])
    detector = instantiate(cfg.detector, _convert_="all")
    assert type(detector).__name__ == "CLAD"
    assert detector.random_state == cfg.seed and detector.device == "auto"
    assert type(detector.kmeans(n_clusters=3, random_state=0)).__name__ == "FaissKMeans"
    assert type(detector.dec).__name__ == "DEC"
    assert instantiate(cfg.logger) is not None


@pytest.mark.parametrize("group", ["dataset", "split", "detector"])
def test_unknown_option_lists_the_available_ones(group):
    with pytest.raises(MissingConfigException) as err:
        _compose([f"{group}=no_such_option"])
    message = str(err.value)
    assert "no_such_option" in message and f"Available options in '{group}'" in message
    first_option = next(o for g, o in OPTIONS if g == group)
    assert first_option in message
