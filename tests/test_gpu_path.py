"""The GPU path (issue 11): bf16 autocast in training on a GPU only, pinned transfers, the same results on the
CPU. The CUDA tests skip on a machine without a GPU (this project's CI); the precision logic is checked on the CPU."""

import numpy as np
import pytest
import torch
from torch import nn

from clad.detector import CLAD
from clad.metrics import auroc
from clad.training import autocast_dtype, fit_epochs, predict, to_device
from tests.helpers.synthetic import latent_multiclass, seeded

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _fit_recording(precision: str, device: str = "cpu") -> list[tuple[bool, torch.dtype]]:
    """Two steps of fit_epochs; what autocast state and output dtype each step's forward pass saw."""
    with seeded(0):
        model = nn.Linear(4, 2).to(device)
    x = torch.rand(8, 4, device=device)
    seen = []

    def loss_fn(idx):
        out = model(x[idx])
        seen.append((torch.is_autocast_enabled(torch.device(device).type), out.dtype))
        return out.float().pow(2).mean()

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit_epochs(model, loss_fn, 8, 1, 4, opt, torch.Generator().manual_seed(0), "test", precision=precision)
    return seen


def test_training_on_the_cpu_stays_float32_by_default():
    assert _fit_recording("auto") == [(False, torch.float32)] * 2
    assert autocast_dtype(torch.device("cpu"), "auto") is None
    assert autocast_dtype(torch.device("cuda"), "auto") is torch.bfloat16


def test_bfloat16_precision_autocasts_the_forward_pass():
    assert _fit_recording("bfloat16") == [(True, torch.bfloat16)] * 2


def test_an_unknown_precision_is_refused_naming_the_accepted_ones():
    with pytest.raises(ValueError, match=r"precision must be one of \('auto', 'float32', 'bfloat16'\); got 'fp8'"):
        _fit_recording("fp8")


def test_to_device_on_the_cpu_is_the_tensor_itself():
    x = torch.rand(3, 2)
    assert to_device(x, torch.device("cpu")) is x


@cuda
def test_training_on_a_gpu_autocasts_to_bfloat16():
    assert _fit_recording("auto", "cuda") == [(True, torch.bfloat16)] * 2


@cuda
def test_pinned_predict_on_a_gpu_equals_the_cpu():
    with seeded(0):
        model = nn.Linear(16, 3)
    x = torch.rand(1000, 16)
    cpu = predict(model, x, 128, torch.device("cpu"))
    gpu = predict(model.cuda(), x, 128, torch.device("cuda"))
    torch.testing.assert_close(gpu, cpu, rtol=1e-4, atol=1e-4)


@cuda
def test_clad_on_a_gpu_beats_chance_like_on_the_cpu():
    train_x, test_x, test_y, _ = latent_multiclass(n_per_class=100, size=16, seed=0)
    det = CLAD(n_clusters=3, ae_epochs=15, train_epochs=10, batch_size=64, device="cuda", random_state=0)
    scores = det.fit(train_x).anomaly_score(test_x)
    assert np.isfinite(scores).all() and auroc(test_y, scores) >= 0.9
