"""Settings are checked before any training (issue 9, item 4): every bad value raises ValueError
naming the setting and the accepted range, and `_fit` is never entered (a spy replaces it).
Cases that used to pass silently are marked: temperature=-1 ran to AUROC 0.42, epsilon=-1 meant
no perturbation, train_epochs=0 and ae_epochs=-1 skipped training, split.normal=[1.5]
became class 1 and [0.9, true] became [0, 1]."""

from __future__ import annotations

import copy
import logging
import re

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from baselines.ae_recon import AEReconstruction
from baselines.deepsvdd import DeepSVDD
from baselines.latent_kmeans import LatentKMeans
from baselines.occnn import OCCNN
from baselines.ocnn import OCNN
from baselines.ocsvm import OCSVM
from baselines.svdd import SVDD
from clad.base import check_param
from clad.clustering import DEC
from clad.data import ImageDataset, make_split
from clad.detector import CLAD
from clad.scores import ODIN
from clad.training import fit_epochs
from tests.helpers.synthetic import uniform_images

pytestmark = pytest.mark.usefixtures("one_thread")

X = uniform_images(40, (1, 8, 8), seed=0)
DETECTORS = [CLAD, AEReconstruction, DeepSVDD, LatentKMeans, OCNN, OCCNN, OCSVM, SVDD]

BAD = [
    # CLAD
    (CLAD, "train_epochs", 0),
    (CLAD, "ae_epochs", -1),
    (CLAD, "min_steps", -1),
    (CLAD, "batch_size", 0),
    (CLAD, "eval_batch_size", 0),
    (CLAD, "latent_dim", 0),
    (CLAD, "ae_hidden", 0),
    (CLAD, "n_clusters", 2.5),
    (CLAD, "lr", 0.0),
    (CLAD, "weight_decay", -1.0),
    (CLAD, "holdout", 0.5),
    (CLAD, "batch_size", 64.0),
    (CLAD, "train_epochs", True),
    # kernel methods
    (OCSVM, "nu", 0.0),
    (OCSVM, "nu", 1.5),
    (OCSVM, "gamma", 0.0),
    (OCSVM, "gamma", "wide"),
    (OCSVM, "pca_components", 0),
    (OCSVM, "max_train", 0),
    (OCSVM, "cache_size", 0.0),
    (OCSVM, "eval_batch_size", 0),
    (SVDD, "nu", 0.0),
    (SVDD, "gamma", -1.0),
    (SVDD, "max_train", 0),
    (SVDD, "eval_batch_size", 0),
    # neural baselines
    (DeepSVDD, "epochs", 0),
    (DeepSVDD, "ae_epochs", -1),
    (DeepSVDD, "warmup_epochs", -1),
    (DeepSVDD, "batch_size", 0),
    (DeepSVDD, "eval_batch_size", 0),
    (DeepSVDD, "latent_dim", 0),
    (DeepSVDD, "nu", 0.0),
    (DeepSVDD, "lr", 0.0),
    (DeepSVDD, "eps", -0.1),
    (DeepSVDD, "ae_weight_decay", -1.0),
    (OCNN, "nu", 1.0),
    (OCNN, "epochs", 0),
    (OCNN, "ae_epochs", -1),
    (OCNN, "hidden", 0),
    (OCNN, "latent_dim", 0),
    (OCNN, "batch_size", 0),
    (OCNN, "eval_batch_size", 0),
    (OCNN, "ae_lr", 0.0),
    (OCNN, "recon_weight", -1.0),
    (OCCNN, "sigma", 0.0),
    (OCCNN, "epochs", 0),
    (OCCNN, "ae_epochs", -1),
    (OCCNN, "latent_dim", 0),
    (OCCNN, "batch_size", 0),
    (OCCNN, "eval_batch_size", 0),
    (OCCNN, "lr", -1.0),
    (AEReconstruction, "ae_epochs", 0),
    (AEReconstruction, "min_steps", -1),
    (AEReconstruction, "ae_hidden", 0),
    (AEReconstruction, "latent_dim", 0),
    (AEReconstruction, "batch_size", 0),
    (AEReconstruction, "eval_batch_size", 0),
    (AEReconstruction, "lr", 0.0),
    (LatentKMeans, "n_clusters", 0),
    (LatentKMeans, "n_clusters", 1.5),
    (LatentKMeans, "latent_dim", 0),
    (LatentKMeans, "ae_epochs", -1),
    (LatentKMeans, "min_steps", -1),
    (LatentKMeans, "ae_hidden", 0),
    (LatentKMeans, "weight_decay", -1.0),
    (LatentKMeans, "batch_size", 0),
    (LatentKMeans, "eval_batch_size", 0),
] + [(cls, "random_state", bad) for cls in DETECTORS for bad in (-1, 1.5, True)]


@pytest.fixture
def no_training(monkeypatch):
    """Replace every detector's `_fit` with a spy that fails the test if training starts."""
    started = []

    def spy(self, X):
        started.append(type(self).__name__)
        raise AssertionError(f"{type(self).__name__} started training")

    for cls in DETECTORS:
        monkeypatch.setattr(cls, "_fit", spy)
    return started


@pytest.mark.parametrize("cls, name, bad", BAD, ids=[f"{c.__name__}-{n}={b!r}" for c, n, b in BAD])
def test_bad_setting_fails_before_training_and_names_itself(no_training, cls, name, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {re.escape(name)} must be") as err:
        cls(**{name: bad, "device": "cpu"}).fit(X)
    assert repr(bad) in str(err.value) and no_training == []


def test_ocnn_reconstruction_term_needs_a_trained_encoder(no_training):
    with pytest.raises(ValueError, match=r"OCNN: recon_weight must be 0 when train_encoder=False.*got 0.5"):
        OCNN(recon_weight=0.5, train_encoder=False, device="cpu").fit(X)
    assert no_training == []


@pytest.mark.parametrize("cls", DETECTORS)
def test_default_settings_pass_the_checks(cls):
    det = cls(device="cpu")
    det._check_params(len(X))  # the defaults are valid (n_clusters 10 <= 40 images)


@pytest.mark.parametrize("cls", [CLAD, AEReconstruction, LatentKMeans])
@pytest.mark.parametrize(
    "setting, message",
    [
        (dict(ae_channels=[32, 0]), r"ae_channels\[1\] must be an integer >= 1; got 0"),
        (dict(ae_channels=[]), "ae_channels must list at least one"),
        (dict(schedule="step"), r"schedule must be one of \['constant', 'cosine'\]; got 'step'"),
    ],
)
def test_clads_autoencoder_settings_fail_before_training(no_training, cls, setting, message):
    """CLAD and the two detectors that share its autoencoder check its settings alike."""
    with pytest.raises(ValueError, match=f"{cls.__name__}: {message}"):
        cls(device="cpu", **setting).fit(X)
    assert no_training == []


@pytest.mark.parametrize(
    "setting, message",
    [
        (dict(dec=DEC(batch_size=0)), "DEC: batch_size must be an integer >= 1; got 0"),
        (dict(dec=DEC(lr=-0.1)), r"DEC: lr must be > 0; got -0.1"),
        (dict(dec=DEC(momentum=1.0)), r"DEC: momentum must be in \[0, 1\); got 1.0"),
        (dict(n_clusters=41), "n_clusters must be between 2 and the 40 training images"),
    ],
)
def test_clad_parts_fail_before_training(no_training, setting, message):
    with pytest.raises(ValueError, match=message):
        CLAD(device="cpu", **setting).fit(X)
    assert no_training == []


def test_deepsvdd_channels_are_checked(no_training):
    with pytest.raises(ValueError, match=r"DeepSVDD: channels\[1\] must be an integer >= 1; got 0"):
        DeepSVDD(channels=[8, 0], device="cpu").fit(X)
    assert no_training == []


@pytest.fixture(scope="module")
def fitted_clad():
    return CLAD(n_clusters=2, ae_epochs=1, train_epochs=1, batch_size=20, device="cpu", score=ODIN()).fit(X)


@pytest.mark.parametrize(
    "name, bad",
    [
        ("score__temperature", 0.0),
        ("score__temperature", -1.0),
        ("score__epsilon", -0.001),
        ("eval_batch_size", 0),
        ("score", "maha"),
    ],
)
def test_scoring_settings_are_checked_again_at_scoring(fitted_clad, name, bad):
    """ODIN's temperature <= 0 used to run (T=-1: AUROC 0.42) and epsilon < 0 meant no perturbation."""
    det = copy.deepcopy(fitted_clad)  # the shared fit keeps its settings
    good = det.get_params()[name]
    det.set_params(**{name: bad})
    with pytest.raises(ValueError, match=name.rsplit("__", 1)[-1] if name != "score" else "unknown score 'maha'"):
        det.anomaly_score(X)
    assert np.isfinite(det.set_params(**{name: good}).anomaly_score(X)).all()  # a good value scores again


def test_zero_ae_epochs_means_skip_and_says_so(caplog):
    """CLAD's choice: ae_epochs=0 skips stage 1 (k-means on an untrained encoder's codes), with a
    warning; train_epochs=0 is refused (see BAD)."""
    with caplog.at_level(logging.WARNING):
        det = CLAD(n_clusters=2, ae_epochs=0, train_epochs=1, batch_size=20, device="cpu").fit(X)
    assert det.diagnostics_["ae_epochs"] == 0 and det.diagnostics_["clf_epochs"] == 1
    assert "0 epochs: the autoencoder is not trained" in caplog.text


def test_deepsvdd_without_pretraining_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        DeepSVDD(ae_epochs=0, epochs=1, batch_size=20, device="cpu").fit(X)
    assert "ae_epochs=0: no autoencoder pretraining" in caplog.text


def test_random_state_none_and_numpy_integers_are_accepted(no_training):
    for seed in (None, 0, np.int64(7)):
        with pytest.raises(AssertionError, match="started training"):  # the checks passed
            OCSVM(random_state=seed, device="cpu").fit(X)


def test_check_param_ranges_and_types():
    check_param("D", "n", 3, low=1, integer=True)
    check_param("D", "n", None, low=1, integer=True, optional=True)
    check_param("D", "nu", 1.0, low=0, high=1, low_open=True)
    check_param("D", "n", np.int32(2), low=1, integer=True)
    for value, rule in [
        (0, "an integer >= 1"),
        (1.5, "an integer >= 1"),
        (2.0, "an integer >= 1"),
        (True, "an integer >= 1"),
        ("3", "an integer >= 1"),
    ]:
        with pytest.raises(ValueError, match=re.escape(f"D: n must be {rule}; got {value!r}")):
            check_param("D", "n", value, low=1, integer=True)
    with pytest.raises(ValueError, match=re.escape("D: nu must be in (0, 1]; got 0")):
        check_param("D", "nu", 0, low=0, high=1, low_open=True)
    with pytest.raises(ValueError, match=re.escape("D: lr must be > 0; got nan")):
        check_param("D", "lr", float("nan"), low=0, low_open=True)
    with pytest.raises(ValueError, match=re.escape("D: seed must be an integer >= 0 or None; got -1")):
        check_param("D", "seed", -1, low=0, integer=True, optional=True)


def test_the_training_loop_refuses_bad_sizes():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="stage x: batch_size must be an integer >= 1; got 0"):
        fit_epochs(
            torch.nn.Identity(), lambda idx: (w**2).sum(), 10, 1, 0, opt, torch.Generator().manual_seed(0), "stage x"
        )
    with pytest.raises(ValueError, match="stage x: epochs must be an integer >= 0; got -1"):
        fit_epochs(
            torch.nn.Identity(), lambda idx: (w**2).sum(), 10, -1, 5, opt, torch.Generator().manual_seed(0), "stage x"
        )


# Split class ids: integers or class names only.


def _digits_like() -> ImageDataset:
    y = np.repeat(np.arange(3), 10)
    x = np.zeros((len(y), 1, 2, 2), np.uint8)
    return ImageDataset("toy", x, y, x, y, ("0", "1", "2"))


@pytest.mark.parametrize(
    "normal, universe, setting, shown",
    [
        ([1.5], None, "normal", "1.5 (float)"),  # used to become class 1
        ([0.9, True], None, "normal", "0.9 (float)"),  # used to become [0, 1]
        ([True], None, "normal", "True (bool)"),
        (True, None, "normal", "True (bool)"),  # split.normal=true on the command line
        ([1.0], None, "normal", "1.0 (float)"),
        ([0], [0, 1.5], "universe", "1.5 (float)"),
        (OmegaConf.create([1.5]), None, "normal", "1.5 (float)"),  # as Hydra passes it
    ],
)
def test_split_classes_must_be_integers_or_names(normal, universe, setting, shown):
    with pytest.raises(
        ValueError,
        match=re.escape(f"split 'bad': split.{setting} holds {shown}") + ".*integer class id or a class name",
    ):
        make_split(_digits_like(), "bad", normal, universe)


def test_split_integers_and_names_still_work():
    assert make_split(_digits_like(), "ok", [1], val_fraction=0.0).normal == (1,)
    assert make_split(_digits_like(), "ok", np.int64(2), val_fraction=0.0).normal == (2,)
    assert make_split(_digits_like(), "ok", ["1"], universe=OmegaConf.create([0, 1]), val_fraction=0.0).normal == (1,)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(max_train_per_class=1.5), "max_train_per_class must be an integer >= 1 or None; got 1.5"),
        (dict(max_train_per_class=0), "max_train_per_class must be an integer >= 1 or None; got 0"),
        (dict(val_fraction=1.0), r"val_fraction must be in \[0, 1\); got 1.0"),
        (dict(seed=-1), "seed must be an integer >= 0; got -1"),
    ],
)
def test_split_settings_are_checked(kw, message):
    with pytest.raises(ValueError, match=rf"split 'bad': {message}"):
        make_split(_digits_like(), "bad", [1], **kw)
