"""Model size and cost: parameter counts and forward GFLOPs per image.

FLOPs are counted with forward hooks on Conv2d, ConvTranspose2d and Linear layers only (batch norm,
ReLU, pooling and unpooling are memory-bound and left out), one multiply-add = 2 FLOPs, biases
ignored. The forward runs on the "meta" device: shapes only, no arithmetic and no memory, so even
SegNet at 360x640 costs milliseconds. Hooks see the padded size each model actually computes on.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


def count_parameters(model: nn.Module) -> int:
    """All parameters (trainable or not); buffers such as batch norm statistics are not counted."""
    return sum(p.numel() for p in model.parameters())


def _macs_hook(total: list[int]):
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        x = inputs[0]
        if isinstance(module, nn.ConvTranspose2d):
            # every input value is scattered into kh*kw*out/groups outputs
            kh, kw = module.kernel_size
            total[0] += x.numel() * kh * kw * module.out_channels // module.groups
        elif isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total[0] += output.numel() * kh * kw * module.in_channels // module.groups
        elif isinstance(module, nn.Linear):
            total[0] += output.numel() * module.in_features

    return hook


def gflops(model: nn.Module, height: int = 360, width: int = 640) -> float:
    """Forward GFLOPs for one height x width image (1 multiply-add = 2 FLOPs)."""
    in_channels = int(getattr(model, "in_channels", 3))
    total = [0]
    hook = _macs_hook(total)
    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))
    ]
    was_training = model.training
    try:
        model.eval()
        tensors = {name: t.to("meta") for name, t in (*model.named_parameters(), *model.named_buffers())}
        x = torch.empty(1, in_channels, height, width, device="meta")
        with torch.no_grad():
            functional_call(model, tensors, (x,))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return 2 * total[0] / 1e9
