"""Learning-rate schedules as plain functions of training progress.

Stateless (the rate is a function of how far the run is), so resuming needs no scheduler state and a
resumed run follows exactly the curve an uninterrupted one would have.
"""

from __future__ import annotations

import math


def learning_rate(
    schedule: str, base_lr: float, progress: float, step_fraction: float = 0.0, warmup_fraction: float = 0.1
) -> float:
    """The rate for the step that starts at `progress` (0..1 of the run) and spans `step_fraction`.

    cosine: half a cosine from `base_lr` to 0. onecycle: a linear warm-up to `base_lr` over
    `warmup_fraction` of the run (the first step already has a non-zero rate), then the cosine over
    the rest. constant: `base_lr` throughout.
    """
    progress = min(1.0, max(0.0, progress))
    if schedule == "constant":
        return base_lr
    if schedule == "onecycle" and warmup_fraction > 0:
        if progress < warmup_fraction:
            return base_lr * min(1.0, (progress + step_fraction) / warmup_fraction)
        progress = (progress - warmup_fraction) / (1 - warmup_fraction)
    elif schedule not in ("cosine", "onecycle"):
        raise ValueError(f"unknown learning rate schedule '{schedule}'")
    return base_lr * 0.5 * (1 + math.cos(math.pi * progress))
