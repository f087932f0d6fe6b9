"""SegNet and SegNet Basic (Badrinarayanan, Kendall, Cipolla 2017), trained from scratch.

Both upsample with the max-pooling indices the encoder kept (MaxUnpool2d), so the decoder learns
only convolutions, never the upsampling itself.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from segviewer.core.errors import UserError
from segviewer.core.models.blocks import SegmentationModel, conv_bn

# VGG16's 13 convolutions, grouped by the max pooling that ends each block.
VGG16_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)


class _IndexUnpoolingModel(SegmentationModel):
    """Shared forward pass: each encoder is followed by index-keeping max pooling; each decoder starts
    by unpooling with the indices of its mirror encoder. Subclasses set encoders, decoders, pool,
    unpool and classifier."""

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        indices, sizes = [], []
        for encoder in self.encoders:
            x = encoder(x)
            sizes.append(x.shape[-2:])
            x, idx = self.pool(x)
            indices.append(idx)
        for decoder in self.decoders:
            x = decoder(self.unpool(x, indices.pop(), output_size=sizes.pop()))
        return self.classifier(x)


class SegNet(_IndexUnpoolingModel):
    """SegNet as published: VGG16-BN encoder (13 convs), mirrored decoder, index unpooling.

    Each decoder block unpools with its encoder block's indices and then runs conv-BN-ReLU layers
    mirroring the encoder (the last one of a block narrows to the next block's width); a 1x1
    convolution makes the class logits. About 29.4 M parameters; input padded to a multiple of 32.
    """

    multiple = 32

    def __init__(self, num_classes: int, in_channels: int = 3) -> None:
        super().__init__(in_channels, num_classes)
        self.encoders = nn.ModuleList()
        prev = in_channels
        for block in VGG16_BLOCKS:
            layers = []
            for width in block:
                layers.append(conv_bn(prev, width, bias=True))
                prev = width
            self.encoders.append(nn.Sequential(*layers))
        self.decoders = nn.ModuleList()
        for i in reversed(range(len(VGG16_BLOCKS))):
            block = VGG16_BLOCKS[i]
            out = VGG16_BLOCKS[i - 1][-1] if i > 0 else block[0]
            widths = [*block[:-1], out]
            layers, prev = [], block[-1]
            for width in widths:
                layers.append(conv_bn(prev, width, bias=True))
                prev = width
            self.decoders.append(nn.Sequential(*layers))
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.classifier = nn.Conv2d(VGG16_BLOCKS[0][0], num_classes, 1)

    def encoder_convs(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
        """The 13 (conv, batch norm) pairs of the encoder, in VGG16 order."""
        return [(layer[0], layer[1]) for block in self.encoders for layer in block]

    def load_vgg16_bn(self, path: str | Path) -> None:
        """Initialise the encoder from a torchvision-format VGG16-BN state dict in a local file."""
        load_vgg16_bn(self, path)


class SegNetBasic(_IndexUnpoolingModel):
    """SegNet Basic: 4 encoders and 4 decoders of 64 7x7 filters, index unpooling.

    Encoders are conv-BN-ReLU then 2x2 max pooling that keeps its indices; decoders unpool with those
    indices then conv-BN with no non-linearity, as in the SegNet paper's smaller variant. The input
    LRN layer of the original Caffe model is left out (batch norm does its job). Input padded to 16.
    """

    multiple = 16

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 64, kernel: int = 7) -> None:
        super().__init__(in_channels, num_classes)
        if kernel < 1 or kernel % 2 == 0 or width < 1:
            raise ValueError(
                f"SegNet Basic needs an odd kernel size and a positive width, got {kernel}, {width}"
            )
        self.width, self.kernel = width, kernel
        self.encoders = nn.ModuleList(
            [conv_bn(in_channels if i == 0 else width, width, kernel, relu=True) for i in range(4)]
        )
        self.decoders = nn.ModuleList([conv_bn(width, width, kernel, relu=False) for _ in range(4)])
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.classifier = nn.Conv2d(width, num_classes, 1)


class PretrainedWeightsError(UserError):
    """A VGG16-BN weights file that is missing, unreadable or not VGG16-BN."""


def vgg16_bn_conv_indices() -> list[int]:
    """Index N of each convolution in torchvision's `vgg16_bn().features` (its BN is N + 1)."""
    indices, index = [], 0
    for block in VGG16_BLOCKS:
        for _ in block:
            indices.append(index)
            index += 3  # conv, BN, ReLU
        index += 1  # max pooling
    return indices


def load_vgg16_bn(model: SegNet, path: str | Path) -> None:
    """Copy a torchvision `vgg16_bn` state dict (a local file the user gives) into SegNet's encoder.

    Only the 13 convolutions and their batch norms are used; VGG's classifier layers are ignored.
    Loaded with weights_only=True, so the file cannot run code. Nothing is ever downloaded.
    """
    path = Path(path)
    fix = "give a torchvision vgg16_bn state dict (e.g. vgg16_bn-6c64b313.pth) or train from scratch"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise PretrainedWeightsError(f"{path}: file not found; {fix}") from None
    except Exception as exc:  # unpickling fails in many ways; all mean "not a weights file"
        raise PretrainedWeightsError(f"{path}: not a readable PyTorch weights file ({exc}); {fix}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PretrainedWeightsError(f"{path}: holds a {type(state).__name__}, not a state dict; {fix}")
    state = {str(k).removeprefix("module."): v for k, v in state.items()}
    pairs: list[tuple[torch.Tensor, str]] = []
    for (conv, bn), n in zip(model.encoder_convs(), vgg16_bn_conv_indices(), strict=True):
        pairs += [(conv.weight, f"features.{n}.weight"), (conv.bias, f"features.{n}.bias")]
        for name in ("weight", "bias", "running_mean", "running_var"):
            pairs.append((getattr(bn, name), f"features.{n + 1}.{name}"))
    missing = [key for _, key in pairs if key not in state]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise PretrainedWeightsError(f"{path}: not VGG16-BN weights (missing {shown}); {fix}")
    for target, key in pairs:
        source = state[key]
        if not isinstance(source, torch.Tensor) or source.shape != target.shape:
            got = tuple(source.shape) if isinstance(source, torch.Tensor) else type(source).__name__
            raise PretrainedWeightsError(
                f"{path}: {key} has shape {got} but SegNet expects {tuple(target.shape)} "
                f"(in_channels={model.in_channels}); {fix}"
            )
    with torch.no_grad():
        for target, key in pairs:
            target.copy_(state[key])
