"""How long a training run has left (`EtaEstimator`) and how the pane writes durations."""

from __future__ import annotations

import time


class EtaEstimator:
    """Time left in a run: from measured epoch durations once one epoch is done (they include
    validation), before that from the batch rate."""

    def __init__(self) -> None:
        self.reset(1, 1, 1)

    def reset(self, epochs: int, steps: int, start_epoch: int = 1) -> None:
        self.epochs, self.steps, self.start_epoch = max(1, epochs), max(1, steps), start_epoch
        self._t0 = time.monotonic()
        self._epoch_t0 = self._t0
        self._epoch_seconds: list[float] = []
        self._batches = 0
        self._epoch, self._step = start_epoch, 0

    def on_batch(self, epoch: int, step: int, steps: int) -> None:
        if epoch != self._epoch:
            self._epoch_t0 = time.monotonic()
        self._epoch, self._step, self.steps = epoch, step, max(1, steps)
        self._batches += 1

    def on_epoch(self, epoch: int, seconds: float) -> None:
        self._epoch_seconds.append(max(0.0, float(seconds)))
        self._epoch, self._step = epoch + 1, 0
        self._epoch_t0 = time.monotonic()

    def fraction_done(self) -> float:
        total = (self.epochs - self.start_epoch + 1) * self.steps
        done = (self._epoch - self.start_epoch) * self.steps + self._step
        return min(1.0, max(0.0, done / total))

    def eta_seconds(self) -> float | None:
        now = time.monotonic()
        epochs_left_after_this = max(0, self.epochs - self._epoch)
        if self._epoch_seconds:
            per_epoch = sum(self._epoch_seconds[-3:]) / len(self._epoch_seconds[-3:])
            in_epoch = max(0.0, per_epoch - (now - self._epoch_t0)) if self._epoch <= self.epochs else 0.0
            return in_epoch + epochs_left_after_this * per_epoch
        if self._batches < 2:
            return None
        per_step = (now - self._t0) / self._batches
        return per_step * ((self.steps - self._step) + epochs_left_after_this * self.steps)


def format_duration(seconds: float | None) -> str:
    """'1:05:09', '4:12' or '—' when unknown."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
