"""U-Net (Ronneberger, Fischer, Brox 2015) and the seed paper's smaller U-Lite, one class for both.

Both are the same shape: steps of two 3x3 conv-BN-ReLU layers going down with 2x2 max pooling, a
bottleneck, and steps going up with a 2x2 up-convolution (ConvTranspose2d, stride 2) whose output is
concatenated with the encoder step of the same size. They differ only in depth and widths. U-Lite Deep
is U-Lite with one more, narrow pooling step: see `ulite_deep`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from segviewer.core.models.blocks import SegmentationModel, double_conv

UNET_WIDTHS = (64, 128, 256, 512, 1024)
ULITE_WIDTHS = (16, 32, 64, 128)
ULITE_DEEP_WIDTHS = (16, 32, 64, 64, 96)


class UNet(SegmentationModel):
    """Encoder-decoder with skip concatenation; `len(widths) - 1` poolings, the last width is the bottleneck.

    Convolutions are padded (the original used unpadded ones and cropped the skips), so the output
    has the input's size. Input is padded to a multiple of 2**poolings and the logits cropped back.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        widths: Sequence[int] = UNET_WIDTHS,
        batch_norm: bool = True,
    ) -> None:
        super().__init__(in_channels, num_classes)
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2:
            raise ValueError(f"U-Net needs at least one encoder step and a bottleneck, got widths {widths}")
        self.widths, self.batch_norm = widths, batch_norm
        self.multiple = 2 ** (len(widths) - 1)
        self.encoders = nn.ModuleList()
        prev = in_channels
        for width in widths[:-1]:
            self.encoders.append(double_conv(prev, width, batch_norm))
            prev = width
        self.pool = nn.MaxPool2d(2, 2)
        self.bottleneck = double_conv(widths[-2], widths[-1], batch_norm)
        self.upsamples = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for deep, width in zip(reversed(widths[1:]), reversed(widths[:-1]), strict=True):
            self.upsamples.append(nn.ConvTranspose2d(deep, width, 2, stride=2))
            self.decoders.append(double_conv(2 * width, width, batch_norm))
        self.classifier = nn.Conv2d(widths[0], num_classes, 1)

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for upsample, decoder in zip(self.upsamples, self.decoders, strict=True):
            x = decoder(torch.cat([skips.pop(), upsample(x)], dim=1))
        return self.classifier(x)


def unet(
    num_classes: int,
    in_channels: int = 3,
    base: int = 64,
    widths: Sequence[int] | None = None,
    batch_norm: bool = True,
) -> UNet:
    """The original U-Net: 4 poolings, 64-128-256-512 channels and a 1024-channel bottleneck (~31 M
    parameters). Batch norm after every convolution is on by default: the 2015 network had none, but
    without it training from scratch is slow and fragile. `base` scales all widths (base * 2**i)."""
    widths = tuple(widths) if widths is not None else tuple(base * 2**i for i in range(5))
    return UNet(num_classes, in_channels, widths, batch_norm)


def ulite(num_classes: int, in_channels: int = 3, widths: Sequence[int] = ULITE_WIDTHS) -> UNet:
    """The seed paper's U-Lite: 3 encoder and 3 decoder steps with batch norm and ReLU, a bottleneck,
    a 1x1 classifier. Designed for 360x640 input. The paper gives no widths; the default 16-32-64 with
    a 128-channel bottleneck (~0.47 M parameters) trains at several images a second on a laptop CPU."""
    return UNet(num_classes, in_channels, widths, batch_norm=True)


def ulite_deep(num_classes: int, in_channels: int = 3, widths: Sequence[int] = ULITE_DEEP_WIDTHS) -> UNet:
    """U-Lite with a fourth, narrow pooling step: widths 16-32-64-64 and a 96-channel bottleneck at 1/16.

    The paper's U-Lite sees a 92-pixel square around each output pixel; a street scene's context (is
    this thin vertical thing a pole beside the road or a tree trunk?) spans more. The extra step
    doubles it (188 pixels), and narrowing the deepest widths (the paper's 128-channel bottleneck
    at 1/8 costs more than two 64-channel steps there) keeps the FLOPs per image at or below U-Lite's
    at the default 128x224 (tests/core/test_models.py checks it; at 360x640, which pads to 368x640
    for the fourth pooling, it costs 1.7% more).
    """
    return UNet(num_classes, in_channels, widths, batch_norm=True)
