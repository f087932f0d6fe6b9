"""The training ETA: durations a person reads, and estimates from batch and epoch timings."""

from __future__ import annotations

from segviewer.core.training_eta import EtaEstimator, format_duration


def test_eta_and_durations_read_naturally():
    assert format_duration(None) == "—"
    assert format_duration(65) == "1:05"
    assert format_duration(3725) == "1:02:05"
    eta = EtaEstimator()
    eta.reset(epochs=4, steps=10)
    assert eta.eta_seconds() is None and eta.fraction_done() == 0.0
    for step in range(1, 11):
        eta.on_batch(1, step, 10)
    eta.on_epoch(1, seconds=30.0)
    assert eta.fraction_done() == 0.25
    assert 60.0 < eta.eta_seconds() <= 90.0  # three more epochs of about 30 s
    resumed = EtaEstimator()
    resumed.reset(epochs=4, steps=10, start_epoch=3)
    resumed.on_batch(3, 5, 10)
    assert resumed.fraction_done() == 0.25
