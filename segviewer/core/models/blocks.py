"""Building blocks shared by the model families: conv-BN-ReLU stacks and the pad-to-multiple wrapper.

Every network here halves the resolution several times, so its input must be a multiple of
2**poolings. Instead of asking users for such sizes, `SegmentationModel.forward` pads the input up to
the next multiple and crops the logits back: any (N, C, H, W) in gives (N, num_classes, H, W) out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segviewer.core.errors import UserError


class ModelOptionError(UserError):
    """An unknown model name or a model option that cannot build a network."""


def conv_bn(
    in_ch: int,
    out_ch: int,
    kernel: int = 3,
    relu: bool = True,
    batch_norm: bool = True,
    bias: bool | None = None,
) -> nn.Sequential:
    """Same-padded convolution, optional batch norm, optional ReLU.

    By default the convolution has no bias when batch norm follows (the norm's shift makes it
    redundant); SegNet keeps it so VGG16-BN weights load one to one.
    """
    bias = not batch_norm if bias is None else bias
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_ch))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def double_conv(in_ch: int, out_ch: int, batch_norm: bool = True) -> nn.Sequential:
    """Two 3x3 conv(-BN)-ReLU layers: one U-Net step."""
    return nn.Sequential(
        conv_bn(in_ch, out_ch, 3, True, batch_norm), conv_bn(out_ch, out_ch, 3, True, batch_norm)
    )


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad bottom/right so height and width are multiples of `multiple`.

    Reflection keeps image statistics at the border; when the pad is as large as the image itself
    (tiny inputs) reflection is undefined, so zeros are used instead.
    """
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "constant"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


class SegmentationModel(nn.Module):
    """Base class: pads the input to `multiple`, runs `forward_padded`, crops logits to the input size.

    Subclasses return logits (no softmax); the predictor applies softmax where it needs probabilities.
    """

    multiple: int = 1

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ValueError(
                f"need at least one class and one input channel, got {num_classes}, {in_channels}"
            )
        self.in_channels = in_channels
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        out = self.forward_padded(pad_to_multiple(x, self.multiple))
        if out.shape[-2:] != (h, w):
            out = out[..., :h, :w]
        return out

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def widths_option(widths, count: int, model: str) -> tuple[int, ...]:
    """Validate a `widths` option (list or tuple of `count` positive ints) from a user or checkpoint."""
    try:
        values = tuple(int(v) for v in widths)
    except (TypeError, ValueError):
        values = ()
    if len(values) != count or any(v < 1 for v in values):
        raise ModelOptionError(
            f"model '{model}': widths must be {count} positive channel counts (e.g. "
            f"{','.join(str(16 * 2**i) for i in range(count))}), got {widths!r}"
        )
    return values
