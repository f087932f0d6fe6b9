"""EarlyStopping: best so far, patience, NaN epochs, and the state earlier checkpoints hold."""

from __future__ import annotations

import math

from segviewer.core.training.early_stopping import EarlyStopping


def test_stops_after_patience_epochs_without_a_better_miou():
    stopping = EarlyStopping(patience=2)
    bests = [stopping.update(epoch, miou) for epoch, miou in enumerate([0.5, 0.4, 0.6, 0.55, 0.5], 1)]
    assert bests == [True, False, True, False, False]
    assert stopping.stopped and (stopping.best_epoch, stopping.best_miou) == (3, 0.6)


def test_nan_is_never_best_and_zero_patience_never_stops():
    stopping = EarlyStopping(patience=0)
    assert not stopping.update(1, math.nan) and stopping.best_miou is None
    for epoch in range(2, 20):
        stopping.update(epoch, 0.1)
    assert not stopping.stopped and stopping.best_epoch == 2


def test_state_uses_the_keys_of_earlier_checkpoints():
    stopping = EarlyStopping(3)
    stopping.update(1, 0.3)
    stopping.update(2, 0.2)
    state = stopping.state()
    assert state == {"best_miou": 0.3, "best_epoch": 1, "since_best": 1, "early_stopped": False}
    assert EarlyStopping.from_state(3, state) == stopping
    assert EarlyStopping.from_state(3, {}) == EarlyStopping(3)  # a checkpoint without train_state
