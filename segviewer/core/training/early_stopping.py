"""Early stopping on validation mIoU, and the best-so-far it needs: one object, saved in last.pt.

Its state travels in the checkpoint's `train_state` under the keys earlier versions wrote
(best_miou, best_epoch, since_best, early_stopped), so their checkpoints resume as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EarlyStopping:
    """Stops after `patience` epochs without a better validation mIoU (0: never)."""

    patience: int
    best_miou: float | None = None
    best_epoch: int | None = None
    since_best: int = 0
    stopped: bool = False

    def update(self, epoch: int, miou: float) -> bool:
        """Record an epoch's mIoU; True when it is the best so far. Sets `stopped` when patience ran out."""
        is_best = math.isfinite(miou) and (self.best_miou is None or miou > self.best_miou)
        if is_best:
            self.best_miou, self.best_epoch, self.since_best = float(miou), epoch, 0
        else:
            self.since_best += 1
        self.stopped = self.patience > 0 and self.since_best >= self.patience
        return is_best

    def state(self) -> dict:
        return {
            "best_miou": self.best_miou,
            "best_epoch": self.best_epoch,
            "since_best": self.since_best,
            "early_stopped": self.stopped,
        }

    @classmethod
    def from_state(cls, patience: int, state: dict) -> EarlyStopping:
        return cls(
            patience,
            state.get("best_miou"),
            state.get("best_epoch"),
            int(state.get("since_best", 0)),
            bool(state.get("early_stopped", False)),
        )
