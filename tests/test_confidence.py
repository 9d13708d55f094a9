"""Confidence scores: batched ODIN equals the per-sample definition, and the eps scaling does what
clad/confidence.py says."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clad.confidence import max_softmax_anomaly, odin_perturb, odin_score
from clad.nets import SmallCNN, Standardize
from tests.helpers.synthetic import seeded


def _model(seed=0):
    with seeded(seed):
        x = torch.rand(64, 3, 8, 8)
        model = nn.Sequential(
            Standardize(torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])), SmallCNN((3, 8, 8), 5)
        )
        model.train()
        model(x)  # move BatchNorm statistics away from their initial values
        return model.eval(), torch.rand(16, 3, 8, 8)


@pytest.mark.parametrize("eps_scale", [None, torch.tensor([0.2, 0.25, 0.3])])
def test_batched_odin_equals_per_sample_loop(eps_scale):
    model, x = _model()
    batched = odin_score(model, x, temperature=1000.0, epsilon=0.002, eps_scale=eps_scale)
    looped = torch.cat([odin_score(model, x[i : i + 1], 1000.0, 0.002, eps_scale) for i in range(len(x))])
    assert torch.allclose(batched, looped, atol=1e-5)


def test_odin_perturbation_lowers_each_samples_loss():
    model, x = _model(1)
    temperature = 10.0
    x_tilde = odin_perturb(model, x, temperature, 0.01)
    with torch.no_grad():
        logits = model(x) / temperature
        pred = logits.argmax(1)
        before = F.cross_entropy(logits, pred, reduction="none")
        after = F.cross_entropy(model(x_tilde) / temperature, pred, reduction="none")
    assert (after < before).all()
    assert torch.allclose((x_tilde - x).abs(), torch.full_like(x, 0.01), atol=1e-6)


def test_normalized_eps_space_equals_perturbing_the_standardized_input():
    model, x = _model(2)
    norm, clf = model[0], model[1]
    std = norm.std.flatten()
    # The reference code's scaling: eps applied to the already normalized image.
    z = norm(x).detach().requires_grad_(True)
    logits = clf(z) / 1000.0
    F.cross_entropy(logits, logits.argmax(1), reduction="sum").backward()
    expected = z.detach() - 0.001 * z.grad.sign()
    got = norm(odin_perturb(model, x, 1000.0, 0.001, eps_scale=std))
    assert torch.allclose(got, expected, atol=1e-5)


def test_odin_without_perturbation_is_msp_with_temperature():
    model, x = _model(3)
    with torch.no_grad():
        logits = model(x)
    assert torch.allclose(max_softmax_anomaly(logits, 3.0), 1 - F.softmax(logits / 3.0, 1).max(1).values)
    assert torch.allclose(odin_score(model, x, 3.0, 0.0), max_softmax_anomaly(logits, 3.0))
