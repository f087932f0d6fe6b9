"""Training losses and class weighting.

`ce` is the paper's categorical cross-entropy. `ce+dice` adds a soft Dice term averaged over the classes
present in the batch: Dice scores overlap per class, so a class of a few hundred pixels (a traffic
light) counts as much as the road, which cross-entropy alone does not do. It costs about 10% more
time per step on a CPU. On the demo set it did not raise validation mIoU within a 30-epoch budget
(README, "Measured"); it is there for data sets where small classes matter most.

`focal` (Lin et al. 2017) scales each pixel's cross-entropy by (1 - p_true)**2, so the many pixels
already classified well (road, sky) stop dominating the gradient. `ce+ohem` is online hard-example
mining: cross-entropy averaged over the pixels the model still gets wrong or unsure (true-class
probability below 0.7), never fewer than the hardest sixteenth of the batch's labelled pixels; the
pixels of small classes are most of the hard ones.

Class weighting: `median` is SegNet's median frequency balancing; `sqrt` takes the square root of
those weights, a gentler balance that over-predicts rare classes less. The valid names of both are
torch-free, in core/training/config.py (LOSSES, CLASS_WEIGHTINGS, class_weighting).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from segviewer.core.training.config import LOSSES


def loss_weights(median_weights: Sequence[float] | None, weighting: str) -> list[float] | None:
    """The weights the loss uses, from the median frequency weights of the training split."""
    if weighting == "none" or median_weights is None:
        return None
    if weighting == "sqrt":
        return [float(w) ** 0.5 for w in median_weights]
    return [float(w) for w in median_weights]


class CrossEntropyDice(nn.Module):
    """Cross-entropy plus (1 - soft Dice), the Dice term averaged over the classes in the batch's targets."""

    def __init__(
        self, weight: torch.Tensor | None = None, ignore_index: int = 255, smooth: float = 1.0
    ) -> None:
        super().__init__()
        self.ce = nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index)
        self.ignore_index = ignore_index
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.ce(logits, target) + self.dice(logits, target)

    def dice(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n = logits.shape[1]
        valid = target != self.ignore_index
        labels = torch.where(valid, target, 0)
        probs = logits.float().softmax(1)
        # Per class: the probability mass on its own pixels, the mass predicted anywhere, its pixel count.
        own = probs.gather(1, labels.unsqueeze(1)).squeeze(1) * valid
        inter = torch.zeros(n, dtype=probs.dtype, device=probs.device).index_add_(
            0, labels.reshape(-1), own.reshape(-1)
        )
        predicted = (probs * valid.unsqueeze(1)).sum((0, 2, 3))
        actual = torch.bincount(labels[valid], minlength=n)[:n].to(probs.dtype)
        present = actual > 0
        if not bool(present.any()):
            return logits.sum() * 0.0
        dice = (2 * inter + self.smooth) / (predicted + actual + self.smooth)
        return 1 - dice[present].mean()


def _pixel_ce(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pixel unweighted cross-entropy, class weight and validity, flattened (ignored pixels: 0)."""
    ce = nn.functional.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none").reshape(-1)
    valid = (target != ignore_index).reshape(-1)
    if weight is None:
        w = valid.to(ce.dtype)
    else:
        w = weight.to(ce.dtype)[torch.where(valid, target.reshape(-1), 0)] * valid
    return ce, w, valid


class FocalLoss(nn.Module):
    """Focal loss: weighted mean over labelled pixels of (1 - p_true)**gamma * cross-entropy."""

    def __init__(
        self, weight: torch.Tensor | None = None, ignore_index: int = 255, gamma: float = 2.0
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.gamma = ignore_index, gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ce, w, _ = _pixel_ce(logits, target, self.weight, self.ignore_index)
        focal = (1 - torch.exp(-ce)).clamp(min=0) ** self.gamma * ce
        return (focal * w).sum() / w.sum().clamp(min=1e-12)


class OhemCrossEntropy(nn.Module):
    """Cross-entropy over the hard pixels only: true-class probability below `threshold`, or at least
    the `min_fraction` hardest of the labelled pixels when fewer are that hard."""

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        ignore_index: int = 255,
        threshold: float = 0.7,
        min_fraction: float = 1 / 16,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.threshold, self.min_fraction = ignore_index, threshold, min_fraction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ce, w, valid = _pixel_ce(logits, target, self.weight, self.ignore_index)
        count = int(valid.sum())
        if count == 0:
            return logits.sum() * 0.0
        hard = ce.detach().masked_fill(~valid, -1.0)
        keep = max(1, math.ceil(self.min_fraction * count))
        cutoff = torch.topk(hard, keep, sorted=True).values[-1]
        limit = -math.log(self.threshold)
        chosen = valid & ((hard > limit) | (hard >= cutoff))
        w = w * chosen
        return (ce * w).sum() / w.sum().clamp(min=1e-12)


def build_criterion(loss: str, weight: torch.Tensor | None, ignore_index: int) -> nn.Module:
    if loss == "ce":
        return nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index)
    if loss == "ce+dice":
        return CrossEntropyDice(weight, ignore_index)
    if loss == "focal":
        return FocalLoss(weight, ignore_index)
    if loss == "ce+ohem":
        return OhemCrossEntropy(weight, ignore_index)
    raise ValueError(f"unknown loss '{loss}'; use one of {', '.join(LOSSES)}")
