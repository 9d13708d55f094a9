"""Small, explicit training and inference loops over in-memory tensors, shared by CLAD and the
neural baselines (no DataLoader: the data already sit in memory, and a seeded randperm is enough).

Every finished epoch of any stage is announced to the listeners of `listen(...)` as an event
{"stage", "epoch", "epochs", "loss"}: run.py logs them to W&B and draws progress bars with it,
while the detectors know nothing of either."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

import numpy as np
import torch
from torch import nn

from clad.base import check_finite, check_param
from clad.nets import ConvAutoencoder, Standardize

log = logging.getLogger(__name__)


# The listeners of the current context (a ContextVar, like torch's autocast state: scoped, thread-safe).
_LISTENERS: ContextVar[tuple[Callable[[dict[str, Any]], None], ...]] = ContextVar("clad_training_listeners", default=())


@contextmanager
def listen(*listeners: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """Call each listener with every epoch event of the training inside the `with` block."""
    token = _LISTENERS.set(_LISTENERS.get() + listeners)
    try:
        yield
    finally:
        _LISTENERS.reset(token)


def announce(stage: str, epoch: int, epochs: int, loss: float, **extra: Any) -> None:
    """Tell the listeners that `stage` finished `epoch` (1-based) of `epochs` with mean `loss`."""
    for listener in _LISTENERS.get():
        listener({"stage": stage, "epoch": epoch, "epochs": epochs, "loss": loss, **extra})


def minibatches(
    n: int, batch_size: int, generator: torch.Generator | None = None, shuffle: bool = True
) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def as_tensor(X: np.ndarray | torch.Tensor) -> torch.Tensor:
    return X if isinstance(X, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(X))


def to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """One transfer of a batch: from pinned memory and asynchronous when a CPU batch goes to a GPU."""
    if torch.device(device).type == "cuda" and not batch.is_cuda:
        return batch.pin_memory().to(device, non_blocking=True)
    return batch.to(device)


@torch.inference_mode()
def predict(fn: Callable[[torch.Tensor], torch.Tensor], X, batch_size: int, device: torch.device) -> torch.Tensor:
    """Apply `fn` (a module in eval mode, or any batched function) chunk by chunk; result on the CPU."""
    X = as_tensor(X)
    return torch.cat([fn(to_device(X[i : i + batch_size], device)).float().cpu() for i in range(0, len(X), batch_size)])


PRECISIONS = ("auto", "float32", "bfloat16")


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast dtype of training on `device`: "auto" is bfloat16 on a GPU and plain float32 on the CPU;
    None means no autocast. "bfloat16" asks for it on the CPU too: not faster on AVX2-only CPUs, but on CPUs with
    AMX CLAD's mnist_cur fit took 0.49x the plain path's time at 94.1 ± 0.7 AUROC against 93.0 ± 1.4 for float32
    (results/benchmarks_e2e_precision.md). "auto" stays float32 on the CPU so that one command gives the same
    numbers on every CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    if precision == "bfloat16" or (precision == "auto" and torch.device(device).type == "cuda"):
        return torch.bfloat16
    return None


def classifier_layout(device: torch.device, precision: str, channels_last: bool = True) -> torch.memory_format:
    """The memory layout CLAD trains its stage-3 classifier in. NHWC (`channels_last`) where it pays: on CUDA (the
    tensor cores' layout) and under bf16 autocast on the CPU (oneDNN's bf16 kernels; the SmallCNN on an idle 2-core
    AMX Xeon: 1.62x NCHW bf16's images/s, 3.25x plain float32's, results/bench_bf16_cpu.md).
    Plain float32 on the CPU stays NCHW, so that the committed float32 tables and the per-platform pins of
    tests/test_pinned_scores.py stay what the code produces, although NHWC is now the faster float32 layout too: on a
    2-core AMD EPYC (no AMX) the SmallCNN trains at 1.38x NCHW's images/s (results/bench_bf16_cpu_epyc.md, row
    "float32 fast, classifier NHWC"; 0.94x on an Intel Xeon at commit 9b13265). Switching means re-pinning on each
    platform and re-running the float32 tables."""
    if channels_last and (torch.device(device).type == "cuda" or precision == "bfloat16"):
        return torch.channels_last
    return torch.contiguous_format


def check_precision(who: str, precision: str) -> None:
    """A detector's `precision` setting, checked before any training."""
    if precision not in PRECISIONS:
        raise ValueError(f"{who}: precision must be one of {list(PRECISIONS)}; got {precision!r}")


SCHEDULES = ("constant", "cosine")


def plan_epochs(n: int, batch_size: int, epochs: int, min_steps: int = 0) -> int:
    """`epochs`, raised until the run takes at least `min_steps` gradient steps on `n` samples."""
    if epochs > 0 and min_steps > 0:
        epochs = max(epochs, math.ceil(min_steps / math.ceil(n / batch_size)))
    return epochs


def fit_epochs(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    stage: str,
    min_steps: int = 0,
    schedule: str = "constant",
    on_epoch: Callable[[int], bool | None] | None = None,
    precision: str = "auto",
) -> list[float]:
    """Run `epochs` passes of minibatch SGD; `loss_fn(idx)` returns the mean loss of the batch `idx`.

    `min_steps` raises the number of epochs until at least that many gradient steps are taken, so
    a small dataset (the 240 images of digits_cur make 2 batches) is not left undertrained by an
    epoch count meant for larger ones. `schedule="cosine"` anneals the learning rate to zero over
    all the steps (a run that ends at lr 0 ends converged for its budget); "constant" keeps it.
    `on_epoch(epoch)` is called after each epoch (e.g. to evaluate held-out data, or to update a
    quantity the loss reads); when it returns True, training stops there (early stopping). Per-step
    work belongs in `loss_fn`, which sees every batch. Returns the mean loss of each epoch; a
    non-finite loss raises with the stage's name. `precision` ("auto": bf16 autocast on a GPU, float32 on
    the CPU; see `autocast_dtype`) sets the forward passes' precision; the weights and optimizer stay
    float32. The one training loop of CLAD and every neural baseline."""
    check_param(stage, "epochs", epochs, low=0, integer=True)
    check_param(stage, "batch_size", batch_size, low=1, integer=True)
    check_param(stage, "min_steps", min_steps, low=0, integer=True)
    if schedule not in SCHEDULES:
        raise ValueError(f"{stage}: schedule must be one of {SCHEDULES}; got {schedule!r}")
    device = optimizer.param_groups[0]["params"][0].device  # where the trained weights are
    dtype = autocast_dtype(device, precision)
    epochs = plan_epochs(n, batch_size, epochs, min_steps)
    steps = epochs * math.ceil(n / batch_size)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1)) if schedule == "cosine" else None
    )
    history = []
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for idx in minibatches(n, batch_size, generator):
            with torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext():
                loss = loss_fn(idx)
            check_finite(loss.detach(), f"{stage} (epoch {epoch + 1})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(idx)
            count += len(idx)
        history.append(total / max(count, 1))
        stop = on_epoch(epoch) if on_epoch is not None else None
        announce(stage, epoch + 1, epochs, history[-1])
        log.debug("%s epoch %d/%d loss %.5f", stage, epoch + 1, epochs, history[-1])
        if stop:
            break
    if history:
        log.info("%s: %d epochs, final loss %.5f", stage, len(history), history[-1])
    model.eval()
    return history


def train_autoencoder(
    ae: nn.Module,
    X: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    generator: torch.Generator,
    stage: str = "autoencoder",
    min_steps: int = 0,
    schedule: str = "constant",
    precision: str = "auto",
) -> list[float]:
    """Mean squared reconstruction error with Adam. `X` is the (already standardized) input on `device`."""
    opt = torch.optim.Adam(ae.parameters(), lr=lr, weight_decay=weight_decay)
    return fit_epochs(
        ae,
        lambda idx: ((ae(X[idx]) - X[idx]) ** 2).mean(),
        len(X),
        epochs,
        batch_size,
        opt,
        generator,
        stage,
        min_steps,
        schedule,
        precision=precision,
    )


def train_classifier(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    generator: torch.Generator,
    stage: str = "classifier",
    min_steps: int = 0,
    schedule: str = "constant",
    on_epoch: Callable[[int], bool | None] | None = None,
    precision: str = "auto",
) -> list[float]:
    """Cross-entropy with Adam on (image, label) pairs held on `device`."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    ce = nn.CrossEntropyLoss()
    return fit_epochs(
        model,
        lambda idx: ce(model(X[idx]), y[idx]),
        len(X),
        epochs,
        batch_size,
        opt,
        generator,
        stage,
        min_steps,
        schedule,
        on_epoch,
        precision,
    )


def pretrain_autoencoder(
    X: np.ndarray,
    latent_dim: int,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    device: torch.device,
    generator: torch.Generator,
    stage: str = "autoencoder",
    min_steps: int = 0,
    channels: tuple[int, ...] = (32, 64, 128),
    hidden: int = 512,
    schedule: str = "constant",
    channels_last: bool = False,
    precision: str = "auto",
) -> tuple[Standardize, ConvAutoencoder]:
    """CLAD's stage 1, shared with the baselines that build on it: a ConvAutoencoder trained with MSE
    on the normal images standardized with their own statistics. Returns the fitted standardizer
    and the autoencoder in eval mode (its per-epoch losses in `ae.loss_history`).
    `channels_last` stores the weights NHWC, which oneDNN's CPU convolutions run 1.3-1.5x faster.
    `precision` is the training's autocast (see `autocast_dtype`).
    `epochs=0` skips the training (the encoder keeps its random initialisation), with a warning."""
    if epochs == 0:
        log.warning(
            "%s: 0 epochs: the autoencoder is not trained, its codes come from a randomly initialised encoder", stage
        )
    x = torch.from_numpy(X).to(device)
    norm = Standardize.fit(x).to(device)
    ae = ConvAutoencoder(tuple(X.shape[1:]), latent_dim, tuple(channels), hidden).to(device)
    if channels_last:
        ae = ae.to(memory_format=torch.channels_last)
    ae.loss_history = train_autoencoder(
        ae, norm(x), epochs, batch_size, lr, weight_decay, generator, stage, min_steps, schedule, precision
    )
    return norm, ae.eval()


def check_autoencoder_params(det, min_epochs: int) -> None:
    """CLAD's checks of its stage-1 settings, on a detector that has them (CLAD, ae_recon,
    latent_kmeans): `ae_epochs` >= `min_epochs`, the rest as `pretrain_autoencoder` needs them."""
    det._check("ae_epochs", low=min_epochs, integer=True)
    det._check("min_steps", low=0, integer=True)
    for name in ("latent_dim", "ae_hidden", "batch_size"):
        det._check(name, low=1, integer=True)
    who = type(det).__name__
    if len(det.ae_channels) == 0:
        raise ValueError(f"{who}: ae_channels must list at least one convolution width; got []")
    for i, width in enumerate(det.ae_channels):
        check_param(who, f"ae_channels[{i}]", width, low=1, integer=True)
    if det.schedule not in SCHEDULES:
        raise ValueError(f"{who}: schedule must be one of {list(SCHEDULES)}; got {det.schedule!r}")
    det._check("lr", low=0, low_open=True)
    det._check("weight_decay", low=0)
    check_precision(who, det.precision)
