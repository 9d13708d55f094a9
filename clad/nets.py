"""Pure nn.Modules, each sized from the input shape: a standardizing layer, the convolutional
autoencoder of CLAD's stage 1, and the classifiers of stage 3 (a small CNN and a CIFAR-style ResNet)."""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class Standardize(nn.Module):
    """(x - mean) / std per channel, with statistics computed from the normal training images.

    Keeping it inside the network lets every detector take [0, 1] pixels, so an ODIN perturbation
    of size eps is eps in pixel units whatever the dataset's statistics."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1, 1).float().clamp_min(1e-6))

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Standardize":
        return cls(x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _n_pools(size: int, max_pools: int = 3) -> int:
    """As many 2x poolings as the image allows (8x8 -> 1x1, 28x28 -> 3x3, 32x32 -> 4x4)."""
    n = 0
    while n < max_pools and size // 2 >= 1:
        size //= 2
        n += 1
    return n


class ConvEncoder(nn.Module):
    """conv3x3-ELU-maxpool blocks, then a dense layer and the latent code (as in CLAD's code)."""

    def __init__(self, in_shape: tuple[int, int, int], latent_dim: int = 10, channels: tuple[int, ...] = (32, 64, 128), hidden: int = 512):
        super().__init__()
        c, h, w = in_shape
        n = _n_pools(min(h, w), len(channels))
        layers, sizes = [], [(h, w)]
        for out in channels[:n]:
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ELU(), nn.MaxPool2d(2)]
            c, h, w = out, h // 2, w // 2
            sizes.append((h, w))
        self.features = nn.Sequential(*layers)
        self.feature_shape = (c, h, w)
        self.sizes = sizes  # spatial size before each pooling, read by the decoder
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ELU(), nn.Linear(hidden, latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder; upsamples to the encoder's recorded sizes so odd sizes (28 -> 3) round-trip."""

    def __init__(self, encoder: ConvEncoder, out_channels: int, latent_dim: int, hidden: int = 512):
        super().__init__()
        c, h, w = encoder.feature_shape
        self.feature_shape = (c, h, w)
        self.head = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ELU(), nn.Linear(hidden, c * h * w), nn.ELU())
        chans = [m.out_channels for m in encoder.features if isinstance(m, nn.Conv2d)][::-1]
        outs = chans[1:] + [out_channels]
        layers = []
        for i, (size, cin, cout) in enumerate(zip(encoder.sizes[::-1][1:], chans, outs)):
            layers += [nn.Upsample(size=size, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1)]
            if i < len(chans) - 1:
                layers.append(nn.ELU())
        self.features = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.features(self.head(z).view(-1, *self.feature_shape))


class ConvAutoencoder(nn.Module):
    """Stage 1 of CLAD: learns latent codes of normal images by reconstructing them (MSE)."""

    def __init__(self, in_shape: tuple[int, int, int], latent_dim: int = 10, channels: tuple[int, ...] = (32, 64, 128), hidden: int = 512):
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

    def __init__(self, in_shape: tuple[int, int, int], n_classes: int, blocks: tuple[int, ...] = (2, 2, 2, 2), width: int = 64):
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


class GlobalContrastNorm(nn.Module):
    """Deep SVDD's preprocessing (Ruff et al. 2018): per-image global contrast normalization with the
    L1 norm, then min-max scaling to [0, 1] with the min and max of the normal training images.
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
    def fit(cls, x: torch.Tensor) -> "GlobalContrastNorm":
        g = cls.gcn(x)
        low, high = g.min().item(), g.max().item()
        if high <= low:
            # Only constant training images (all 0 after gcn): a zero range divided every later
            # image by 1e-8 (Deep SVDD scores of 1e16); a unit range keeps gcn's scale instead.
            high = low + 1.0
        return cls(low, high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.gcn(x) - self.low) / (self.high - self.low).clamp_min(1e-8)


class LeNetEncoder(nn.Module):
    """Deep SVDD's bias-free LeNet-type network (Ruff et al. 2018): conv5x5-BN-LeakyReLU-maxpool blocks
    and a linear map to `rep_dim`, with no bias terms anywhere (a bias would let the network map every
    input to the centre) and BatchNorm without affine parameters. channels=(8, 4), rep_dim=32 is the
    MNIST network for 28x28 inputs; channels=(32, 64, 128), rep_dim=128 the CIFAR-10 one for 32x32."""

    def __init__(self, in_shape: tuple[int, int, int], channels: tuple[int, ...] = (8, 4), rep_dim: int = 32, kernel: int = 5):
        super().__init__()
        c, h, w = in_shape
        layers, sizes = [], [(h, w)]
        for out in channels[: _n_pools(min(h, w), len(channels))]:
            layers += [nn.Conv2d(c, out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(out, eps=1e-4, affine=False), nn.LeakyReLU(0.01), nn.MaxPool2d(2)]
            c, h, w = out, h // 2, w // 2
            sizes.append((h, w))
        self.features = nn.Sequential(*layers)
        self.feature_shape = (c, h, w)
        self.sizes = sizes
        self.fc = nn.Linear(c * h * w, rep_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.features(x), 1))


class LeNetDecoder(nn.Module):
    """Bias-free mirror of LeNetEncoder for Deep SVDD's autoencoder pretraining; a sigmoid output,
    since its targets are min-max scaled to [0, 1]."""

    def __init__(self, encoder: LeNetEncoder, out_channels: int, rep_dim: int, kernel: int = 5):
        super().__init__()
        self.feature_shape = encoder.feature_shape
        c, h, w = encoder.feature_shape
        self.fc = nn.Linear(rep_dim, c * h * w, bias=False)
        chans = [m.out_channels for m in encoder.features if isinstance(m, nn.Conv2d)][::-1]
        outs = chans[1:] + [out_channels]
        layers = [nn.BatchNorm2d(c, eps=1e-4, affine=False), nn.LeakyReLU(0.01)]
        for i, (size, cin, cout) in enumerate(zip(encoder.sizes[::-1][1:], chans, outs)):
            layers += [nn.Upsample(size=size, mode="nearest"), nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False)]
            if i < len(chans) - 1:
                layers += [nn.BatchNorm2d(cout, eps=1e-4, affine=False), nn.LeakyReLU(0.01)]
        self.features = nn.Sequential(*layers, nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.features(self.fc(z).view(-1, *self.feature_shape))
