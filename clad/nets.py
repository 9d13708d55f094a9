"""Pure nn.Modules, each sized from the input shape: a standardizing layer, the convolutional
autoencoder of CLAD's stage 1, and the classifiers of stage 3 (a small CNN and a CIFAR-style ResNet, and
`by_shape`, which picks one of two by the input shape).
`pooled_blocks` and `mirrored_blocks` build an encoder body and the decoder that mirrors it; Deep
SVDD's networks (baselines/deepsvdd_nets.py) are built with them too."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class Standardize(nn.Module):
    """(x - mean) / std per channel, with statistics computed from the normal training images.

    Keeping it inside the network lets every detector take [0, 1] pixels, so an ODIN perturbation
    of size eps is eps in pixel units whatever the dataset's statistics."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1, 1).float().clamp_min(1e-6))

    @classmethod
    def fit(cls, x: torch.Tensor) -> Standardize:
        return cls(x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def n_pools(size: int, max_pools: int = 3) -> int:
    """As many 2x poolings as the image allows (8x8 -> 1x1, 28x28 -> 3x3, 32x32 -> 4x4)."""
    n = 0
    while n < max_pools and size // 2 >= 1:
        size //= 2
        n += 1
    return n


def pooled_blocks(in_shape: tuple[int, int, int], channels, block: Callable[[int, int], list[nn.Module]]):
    """An encoder body: `block(c_in, c_out)` (ending in a 2x pooling) for each width of `channels`, as
    many as the image allows. Returns the layers, the spatial size before each pooling (the sizes a
    mirrored decoder upsamples back to, so odd sizes such as 28 -> 3 round-trip) and the output shape."""
    c, h, w = in_shape
    layers, sizes = [], [(h, w)]
    for out in channels[: n_pools(min(h, w), len(channels))]:
        layers += block(c, out)
        c, h, w = out, h // 2, w // 2
        sizes.append((h, w))
    return layers, sizes, (c, h, w)


def mirrored_blocks(
    encoder: nn.Module,
    out_channels: int,
    conv: Callable[[int, int], nn.Module],
    between: Callable[[int], list[nn.Module]],
) -> list[nn.Module]:
    """The decoder body that undoes `encoder`'s (its `features` and `sizes`, from `pooled_blocks`):
    from its last block to its first, upsample to the size that block pooled from, then `conv(c_in,
    c_out)` back to that block's input width (`out_channels` at the end); `between(c_out)` follows
    every block but the last."""
    chans = [m.out_channels for m in encoder.features if isinstance(m, nn.Conv2d)][::-1]
    outs = chans[1:] + [out_channels]
    layers = []
    for i, (size, cin, cout) in enumerate(zip(encoder.sizes[::-1][1:], chans, outs)):
        layers += [nn.Upsample(size=size, mode="nearest"), conv(cin, cout)]
        if i < len(chans) - 1:
            layers += between(cout)
    return layers


class ConvEncoder(nn.Module):
    """conv3x3-ELU-maxpool blocks, then a dense layer and the latent code (as in CLAD's code)."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        latent_dim: int = 10,
        channels: tuple[int, ...] = (32, 64, 128),
        hidden: int = 512,
    ):
        super().__init__()
        layers, self.sizes, self.feature_shape = pooled_blocks(
            in_shape, channels, lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1), nn.ELU(), nn.MaxPool2d(2)]
        )
        self.features = nn.Sequential(*layers)
        c, h, w = self.feature_shape
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ELU(), nn.Linear(hidden, latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder (`mirrored_blocks`): a dense head back to its feature map, then upsampling convolutions."""

    def __init__(self, encoder: ConvEncoder, out_channels: int, latent_dim: int, hidden: int = 512):
        super().__init__()
        self.feature_shape = encoder.feature_shape
        c, h, w = encoder.feature_shape
        self.head = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ELU(), nn.Linear(hidden, c * h * w), nn.ELU())
        self.features = nn.Sequential(
            *mirrored_blocks(
                encoder, out_channels, lambda cin, cout: nn.Conv2d(cin, cout, 3, padding=1), lambda cout: [nn.ELU()]
            )
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.features(self.head(z).view(-1, *self.feature_shape))


class ConvAutoencoder(nn.Module):
    """Stage 1 of CLAD: learns latent codes of normal images by reconstructing them (MSE)."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        latent_dim: int = 10,
        channels: tuple[int, ...] = (32, 64, 128),
        hidden: int = 512,
    ):
        super().__init__()
        self.encoder = ConvEncoder(in_shape, latent_dim, tuple(channels), hidden)
        self.decoder = ConvDecoder(self.encoder, in_shape[0], latent_dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class SmallCNN(nn.Module):
    """A small conv classifier: conv-BN-ReLU blocks (2x max-pool after the first two), then
    `head="avg"` global average pooling and a linear layer, or `head="flatten"` a linear layer on
    the whole feature map, which keeps where strokes are (global shape) instead of averaging it away."""

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int, width: int = 32, head: str = "flatten"):
        super().__init__()
        if head not in ("avg", "flatten"):
            raise ValueError(f"head must be 'avg' or 'flatten'; got {head!r}")
        c, h, w = in_shape
        layers, chans = [], [width, 2 * width, 4 * width]
        for i, out in enumerate(chans):
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            if min(h, w) // 2 >= 1 and i < len(chans) - 1:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c = out
        pool = [nn.AdaptiveAvgPool2d(1)] if head == "avg" else []
        self.features = nn.Sequential(*layers, *pool, nn.Flatten())
        self.fc = nn.Linear(c if head == "avg" else c * h * w, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet (3x3 stem, no stem pooling); blocks=(2, 2, 2, 2), width=64 is ResNet-18."""

    def __init__(
        self, in_shape: tuple[int, int, int], n_classes: int, blocks: tuple[int, ...] = (2, 2, 2, 2), width: int = 64
    ):
        super().__init__()
        c, h, _ = in_shape
        self.stem = nn.Sequential(nn.Conv2d(c, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for i, n in enumerate(blocks):
            cout = width * 2**i
            # Downsample only while the feature map is larger than 1x1 (8x8 digits allow three halvings).
            stride = 2 if i > 0 and h // 2 >= 1 else 1
            h = h // stride
            for j in range(n):
                layers.append(BasicBlock(cin, cout, stride if j == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def by_shape(
    in_shape: tuple[int, int, int],
    n_classes: int,
    grey28: Callable[..., nn.Module],
    other: Callable[..., nn.Module],
) -> nn.Module:
    """The classifier `grey28(in_shape, n_classes)` for grey 28x28 images (MNIST's shape), `other(...)` for any other
    shape: a default that depends on the image shape, chosen per shape on the development set
    (results/selection_log.md, session 24)."""
    make = grey28 if tuple(in_shape) == (1, 28, 28) else other
    return make(in_shape, n_classes)
