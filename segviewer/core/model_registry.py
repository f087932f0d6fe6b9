"""The models segviewer offers, by name: what the CLI's choices, the training form and the runs list show.

Plain data, no torch: `segviewer --help` and the window read it without loading a deep-learning stack.
`tests/core/test_model_registry.py` checks every figure here against the real networks in `models/`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    name: str  # the registry name: `--model NAME`, config.json, checkpoints
    title: str  # what a person reads
    description: str
    base_parameters: int  # every weight but the classifier head's per-class weights
    parameters_per_class: int
    gflops_360x640: float  # per 360x640 image, 19 classes
    options: tuple[tuple[str, object], ...] = ()  # builder options that make this entry (a variant)
    builder: str = ""  # the family in models.MODELS that builds it; "" means `name` itself

    def parameters(self, num_classes: int = 19) -> int:
        return self.base_parameters + self.parameters_per_class * int(num_classes)

    @property
    def family(self) -> str:
        return self.builder or self.name


MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo(
            "ulite",
            "U-Lite (paper)",
            "the paper's lightweight U-Net: widths 16, 32, 64, 128; fast on a CPU",
            482720,
            17,
            16.441,
        ),
        ModelInfo(
            "ulite-deep",
            "U-Lite Deep",
            "U-Lite with a fourth, narrow pooling step (widths 16, 32, 64, 64, 96): "
            "twice the receptive field at no more FLOPs at 128x224",
            592736,
            17,
            16.714,
        ),
        ModelInfo(
            "segnet-basic",
            "SegNet Basic",
            "four 64-channel encoder and decoder steps with index unpooling",
            1415360,
            65,
            161.586,
        ),
        ModelInfo(
            "unet", "U-Net", "the original U-Net with batch norm, widths 64 to 1024", 31037568, 65, 346.746
        ),
        ModelInfo(
            "segnet",
            "SegNet",
            "VGG16-BN encoder, mirrored decoder with index unpooling",
            29480064,
            65,
            318.536,
        ),
    )
}

DEFAULT_MODEL = "ulite"


def model_names() -> list[str]:
    """In the order a person is offered them: the fast default first."""
    return list(MODELS)


def model_title(name: str) -> str:
    """A person's name for a model; unknown names (a newer run folder) are shown as they are."""
    info = MODELS.get(name)
    return info.title if info else name


def format_parameters(count: int) -> str:
    return f"{count / 1e6:.1f} M parameters" if count >= 1e6 else f"{count / 1e3:.0f} k parameters"
