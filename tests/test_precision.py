"""`precision` (issue 11): every neural detector passes its setting to each of its training stages, so
`precision=bfloat16` trains under bf16 autocast on the CPU too (2-3.6x faster on CPUs with AMX:
results/bench_bf16_cpu.md) and `auto` keeps the CPU in float32. A bf16 CLAD still beats chance."""

import numpy as np
import pytest
import torch

import clad.training
from baselines.ae_recon import AEReconstruction
from baselines.deepsvdd import DeepSVDD
from baselines.latent_kmeans import LatentKMeans
from baselines.occnn import OCCNN
from baselines.ocnn import OCNN
from clad.clustering import DEC
from clad.detector import CLAD
from clad.metrics import auroc
from tests.helpers.config import compose
from tests.helpers.synthetic import latent_multiclass, uniform_images

pytestmark = pytest.mark.usefixtures("one_thread")

X = uniform_images(40, (1, 8, 8), seed=0)
TINY = dict(batch_size=20, device="cpu")
# Each neural detector at a tiny budget, and the number of training stages it runs.
CASES = [
    (CLAD, dict(n_clusters=2, ae_epochs=1, train_epochs=1, dec=DEC(max_epochs=1)), 3),  # ae, DEC, classifier
    (AEReconstruction, dict(ae_epochs=1), 1),
    (LatentKMeans, dict(n_clusters=2, ae_epochs=1), 1),
    (DeepSVDD, dict(ae_epochs=1, epochs=1), 2),
    (OCNN, dict(ae_epochs=1, ae_min_steps=0, epochs=1, min_steps=0), 2),
    (OCCNN, dict(ae_epochs=1, ae_min_steps=0, epochs=1, min_steps=0), 2),
]


@pytest.fixture
def stage_precisions(monkeypatch):
    """The precision each training stage asked fit_epochs for (a spy on clad.training.autocast_dtype)."""
    seen = []
    real = clad.training.autocast_dtype

    def spy(device, precision):
        seen.append(precision)
        return real(device, precision)

    monkeypatch.setattr(clad.training, "autocast_dtype", spy)
    return seen


@pytest.mark.parametrize("cls, settings, stages", CASES, ids=[c.__name__ for c, _, _ in CASES])
@pytest.mark.parametrize("precision", ["bfloat16", "float32"])
def test_every_training_stage_gets_the_detectors_precision(stage_precisions, cls, settings, stages, precision):
    scores = cls(precision=precision, **settings, **TINY).fit(X).anomaly_score(X)
    assert stage_precisions == [precision] * stages
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("cls", [c for c, _, _ in CASES], ids=[c.__name__ for c, _, _ in CASES])
def test_an_unknown_precision_fails_before_training(cls):
    with pytest.raises(
        ValueError, match=rf"{cls.__name__}: precision must be one of \['auto', 'float32', 'bfloat16'\]; got 'fp16'"
    ):
        cls(precision="fp16", **TINY).fit(X)


@pytest.mark.parametrize("name", ["clad", "clad_plus", "ae_recon", "latent_kmeans", "deepsvdd", "ocnn", "occnn"])
def test_the_config_passes_one_precision_to_every_neural_detector(name):
    assert compose(f"detector={name}").detector.precision == "auto"
    assert compose(f"detector={name}", "precision=bfloat16").detector.precision == "bfloat16"


def test_clad_trained_in_bfloat16_on_the_cpu_beats_chance_and_differs_from_float32():
    train_x, test_x, test_y, _ = latent_multiclass(n_per_class=100, size=16, seed=0)
    settings = dict(n_clusters=3, ae_epochs=15, train_epochs=10, batch_size=64, device="cpu", random_state=0)
    bf16 = CLAD(precision="bfloat16", **settings).fit(train_x).anomaly_score(test_x)
    fp32 = CLAD(precision="float32", **settings).fit(train_x).anomaly_score(test_x)
    assert auroc(test_y, bf16) >= 0.9 and auroc(test_y, fp32) >= 0.9
    assert not np.allclose(bf16, fp32)  # the setting took effect


@pytest.mark.parametrize(
    "device, precision, channels_last, nhwc",
    [
        ("cpu", "auto", True, False),  # float32 on the CPU: NCHW (the committed float32 tables' layout)
        ("cpu", "float32", True, False),
        ("cpu", "bfloat16", True, True),  # oneDNN's bf16 kernels: NHWC
        ("cuda", "auto", True, True),  # the tensor cores' layout, whatever the precision
        ("cuda", "float32", True, True),
        ("cpu", "bfloat16", False, False),  # channels_last=False is the plain path everywhere
        ("cuda", "auto", False, False),
    ],
)
def test_the_classifiers_layout_follows_device_precision_and_the_flag(device, precision, channels_last, nhwc):
    layout = clad.training.classifier_layout(torch.device(device), precision, channels_last)
    assert layout == (torch.channels_last if nhwc else torch.contiguous_format)


def test_clad_trains_its_classifier_in_the_layout_of_its_precision():
    train_x = uniform_images(60, seed=0)
    settings = dict(n_clusters=2, ae_epochs=1, train_epochs=1, batch_size=32, device="cpu", random_state=0)
    for precision, nhwc in (("float32", False), ("bfloat16", True)):
        model = CLAD(precision=precision, **settings).fit(train_x).model_
        conv = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][1]  # 1 input channel: both layouts
        assert conv.weight.is_contiguous(memory_format=torch.channels_last) == nhwc
