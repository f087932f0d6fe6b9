"""The segmentation networks by name: SegNet, SegNet Basic, U-Net, U-Lite (paper) and U-Lite Deep.

All are trained from scratch (nothing is downloaded), take any (N, C, H, W) input and return logits
of shape (N, num_classes, H, W). `build_model` stamps each model with `name` and `options` (a JSON-able
dict that rebuilds it), so a checkpoint can store both and `build_model(name, n, **options)` restores
the same architecture even if defaults change later.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from segviewer.core.model_registry import MODELS as REGISTRY
from segviewer.core.models.blocks import ModelOptionError, SegmentationModel, widths_option
from segviewer.core.models.flops import count_parameters, gflops
from segviewer.core.models.segnet import PretrainedWeightsError, SegNet, SegNetBasic, load_vgg16_bn
from segviewer.core.models.unet import UNet, ulite, ulite_deep, unet

__all__ = [
    "MODELS",
    "MODEL_TITLES",
    "ModelOptionError",
    "PretrainedWeightsError",
    "SegNet",
    "SegNetBasic",
    "SegmentationModel",
    "UNet",
    "build_model",
    "count_parameters",
    "gflops",
    "load_vgg16_bn",
    "model_summary",
]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "segnet": SegNet,
    "segnet-basic": SegNetBasic,
    "unet": unet,
    "ulite": ulite,
    "ulite-deep": ulite_deep,
}

MODEL_TITLES: dict[str, str] = {name: info.title for name, info in REGISTRY.items()}

# How many widths each family takes (encoder steps + bottleneck).
_WIDTH_COUNTS = {"unet": 5, "ulite": 4, "ulite-deep": 5}


def _option_names(name: str) -> list[str]:
    params = inspect.signature(MODELS[name]).parameters
    return [p for p in params if p != "num_classes"]


def _rebuild_options(name: str, model: nn.Module) -> dict:
    """The options that rebuild `model` exactly, with every default spelled out."""
    options: dict = {"in_channels": int(model.in_channels)}
    if name == "segnet-basic":
        options |= {"width": model.width, "kernel": model.kernel}
    elif name == "unet":
        options |= {"widths": list(model.widths), "batch_norm": bool(model.batch_norm)}
    elif name in ("ulite", "ulite-deep"):
        options |= {"widths": list(model.widths)}
    return options


def build_model(name: str, num_classes: int, **options) -> nn.Module:
    """A fresh model by registry name; bad names or options raise ModelOptionError (a UserError)."""
    if name not in MODELS:
        raise ModelOptionError(f"unknown model '{name}'; choose one of: {', '.join(MODELS)}")
    known = _option_names(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ModelOptionError(
            f"model '{name}' has no option {', '.join(repr(u) for u in unknown)}; its options are: {', '.join(known)}"
        )
    if options.get("widths") is not None and name in _WIDTH_COUNTS:
        options["widths"] = widths_option(options["widths"], _WIDTH_COUNTS[name], name)
    try:
        model = MODELS[name](int(num_classes), **options)
    except (TypeError, ValueError) as exc:
        raise ModelOptionError(
            f"model '{name}' with {num_classes} classes and options {options}: {exc}"
        ) from None
    model.name = name
    model.options = _rebuild_options(name, model)
    return model


def model_summary(name: str, num_classes: int = 19, **options) -> dict:
    """Name, title, parameter count and GFLOPs per 360x640 image, without allocating the weights."""
    import torch

    with torch.device("meta"):
        model = build_model(name, num_classes, **options)
    return {
        "name": name,
        "title": MODEL_TITLES[name],
        "parameters": count_parameters(model),
        "gflops_360x640": round(gflops(model, 360, 640), 3),
    }
