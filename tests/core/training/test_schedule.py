"""Learning-rate schedules: cosine to zero, onecycle's warm-up then cosine, constant."""

from __future__ import annotations

import pytest

from segviewer.core.training.schedule import learning_rate


def test_cosine_decays_from_the_base_rate_to_zero():
    rates = [learning_rate("cosine", 1.0, p / 10) for p in range(11)]
    assert rates[0] == 1.0 and rates[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))


def test_onecycle_warms_up_linearly_then_follows_the_cosine():
    step = 0.01
    warm = [learning_rate("onecycle", 2.0, i * step, step, warmup_fraction=0.1) for i in range(10)]
    assert warm[0] == pytest.approx(0.2) and warm[-1] == pytest.approx(2.0)  # first step not zero
    assert all(b - a == pytest.approx(0.2) for a, b in zip(warm, warm[1:], strict=False))
    assert learning_rate("onecycle", 2.0, 0.1, step, 0.1) == pytest.approx(2.0)
    assert learning_rate("onecycle", 2.0, 0.55, step, 0.1) == pytest.approx(1.0)  # half-way down
    assert learning_rate("onecycle", 2.0, 1.0, step, 0.1) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate("onecycle", 2.0, 0.3, step, 0.0) == learning_rate("cosine", 2.0, 0.3)


def test_constant_and_unknown():
    assert learning_rate("constant", 0.5, 0.7) == 0.5
    with pytest.raises(ValueError, match="step"):
        learning_rate("step", 0.5, 0.7)
