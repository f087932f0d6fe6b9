"""Training losses and class weighting.

`ce` is the paper's categorical cross-entropy. `ce+dice` adds a soft Dice term averaged over the classes
present in the batch: Dice scores overlap per class, so a class of a few hundred pixels (a traffic
light) counts as much as the road, which cross-entropy alone does not do. It costs about 10% more
time per step on a CPU. On the demo set it did not raise validation mIoU within a 30-epoch budget
(README, "Measured"); it is there for data sets where small classes matter most.

Class weighting: `median` is SegNet's median frequency balancing; `sqrt` takes the square root of
those weights, a gentler balance that over-predicts rare classes less. The valid names of both are
torch-free, in core/training/config.py (LOSSES, CLASS_WEIGHTINGS, class_weighting).
"""

from __future__ import annotations

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


def build_criterion(loss: str, weight: torch.Tensor | None, ignore_index: int) -> nn.Module:
    if loss == "ce":
        return nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index)
    if loss == "ce+dice":
        return CrossEntropyDice(weight, ignore_index)
    raise ValueError(f"unknown loss '{loss}'; use one of {', '.join(LOSSES)}")
