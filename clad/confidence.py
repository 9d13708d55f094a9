"""The confidence math under clad/scores.py's MSP and ODIN, as pure batched functions (the score
objects, their parameters and their registry are clad/scores.py):
- `max_softmax_anomaly`: 1 - max softmax(logits / T) (Hendrycks and Gimpel 2017, with temperature).
- `odin_score`: that after an input perturbation x - eps * eps_scale * sign(grad_x CE(logits / T, argmax))
  (Liang, Li and Srikant 2018). CLAD uses T = 1000 and eps of 1e-4 to 1e-3.

How eps is scaled: `model` takes [0, 1] pixels and standardizes internally, so with
`eps_scale=None` eps is in pixel units, which is what ODIN's own code does when it divides the
gradient's sign by the normalization std. The CLAD reference code perturbs the already
normalized image by eps; pass `eps_scale = std` (per channel) to reproduce that.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def max_softmax_anomaly(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    return 1.0 - F.softmax(logits / temperature, dim=1).max(dim=1).values


def odin_perturb(
    model: nn.Module, x: torch.Tensor, temperature: float, epsilon: float, eps_scale: torch.Tensor | None = None
) -> torch.Tensor:
    """Move each input against the gradient of the loss of its own predicted label.

    The loss is summed over the batch, so each sample's input gradient is its own: batching
    changes nothing (tests/test_confidence.py checks this against a per-sample loop)."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x) / temperature
        loss = F.cross_entropy(logits, logits.argmax(dim=1), reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    step = grad.sign() if eps_scale is None else grad.sign() * eps_scale.reshape(1, -1, 1, 1)
    return (x - epsilon * step).detach()


def odin_score(
    model: nn.Module,
    x: torch.Tensor,
    temperature: float = 1000.0,
    epsilon: float = 0.001,
    eps_scale: torch.Tensor | None = None,
) -> torch.Tensor:
    x_tilde = odin_perturb(model, x, temperature, epsilon, eps_scale) if epsilon > 0 else x
    with torch.no_grad():
        return max_softmax_anomaly(model(x_tilde), temperature)
