"""Deep SVDD's networks and preprocessing (Ruff et al., "Deep One-Class Classification", ICML 2018,
after the authors' Deep-SVDD-PyTorch): global contrast normalization, the bias-free LeNet-type
encoder and the decoder that mirrors it for autoencoder pretraining. Pure nn.Modules, used by
baselines/deepsvdd.py."""

from __future__ import annotations

import torch
from torch import nn

from clad.nets import mirrored_blocks, pooled_blocks


class GlobalContrastNorm(nn.Module):
    """Deep SVDD's preprocessing: per-image global contrast normalization with the L1 norm, then
    min-max scaling to [0, 1] with the min and max of the normal training images.
    A constant image (no contrast to normalize) is left at 0 after centring."""

    def __init__(self, low: float = 0.0, high: float = 1.0):
        super().__init__()
        self.register_buffer("low", torch.tensor(float(low)))
        self.register_buffer("high", torch.tensor(float(high)))

    @staticmethod
    def gcn(x: torch.Tensor) -> torch.Tensor:
        dims = (1, 2, 3)
        centred = x - x.mean(dim=dims, keepdim=True)
        contrast = centred.abs().mean(dim=dims, keepdim=True)
        # A constant image has no contrast to normalize: centring leaves only the float rounding of
        # its mean (~1e-7 of its value), which dividing by the contrast blew up to unit scale. Such
        # an image (all pixels equal) stays at 0; every other image is divided exactly as before.
        flat = x.amax(dim=dims, keepdim=True) == x.amin(dim=dims, keepdim=True)
        return centred.masked_fill(flat, 0.0) / contrast.masked_fill(flat, 1.0).clamp_min(1e-8)

    @classmethod
    def fit(cls, x: torch.Tensor) -> GlobalContrastNorm:
        g = cls.gcn(x)
        low, high = g.min().item(), g.max().item()
        if high <= low:
            # Only constant training images (all 0 after gcn): a zero range divided every later
            # image by 1e-8 (Deep SVDD scores of 1e16); a unit range keeps gcn's scale instead.
            high = low + 1.0
        return cls(low, high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.gcn(x) - self.low) / (self.high - self.low).clamp_min(1e-8)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-4, affine=False)


class LeNetEncoder(nn.Module):
    """The bias-free LeNet-type network: conv5x5-BN-LeakyReLU-maxpool blocks and a linear map to
    `latent_dim`, with no bias terms anywhere (a bias would let the network map every input to the
    centre) and BatchNorm without affine parameters. channels=(8, 4), latent_dim=32 is the MNIST network
    for 28x28 inputs; channels=(32, 64, 128), latent_dim=128 the CIFAR-10 one for 32x32."""

    def __init__(
        self, in_shape: tuple[int, int, int], channels: tuple[int, ...] = (8, 4), latent_dim: int = 32, kernel: int = 5
    ):
        super().__init__()
        layers, self.sizes, self.feature_shape = pooled_blocks(
            in_shape,
            channels,
            lambda cin, cout: [
                nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
                _bn(cout),
                nn.LeakyReLU(0.01),
                nn.MaxPool2d(2),
            ],
        )
        self.features = nn.Sequential(*layers)
        c, h, w = self.feature_shape
        self.fc = nn.Linear(c * h * w, latent_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(x), 1))


class LeNetDecoder(nn.Module):
    """Bias-free mirror of LeNetEncoder (clad.nets.mirrored_blocks) for the autoencoder pretraining;
    a sigmoid output, since its targets are min-max scaled to [0, 1]."""

    def __init__(self, encoder: LeNetEncoder, out_channels: int, latent_dim: int, kernel: int = 5):
        super().__init__()
        self.feature_shape = encoder.feature_shape
        c, h, w = encoder.feature_shape
        self.fc = nn.Linear(latent_dim, c * h * w, bias=False)
        body = mirrored_blocks(
            encoder,
            out_channels,
            lambda cin, cout: nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False),
            lambda cout: [_bn(cout), nn.LeakyReLU(0.01)],
        )
        self.features = nn.Sequential(_bn(c), nn.LeakyReLU(0.01), *body, nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.features(self.fc(z).view(-1, *self.feature_shape))
