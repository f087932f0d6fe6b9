"""Losses and class weighting: the Dice term against a plain one-hot computation, ignore pixels, modes."""

from __future__ import annotations

import pytest
import torch

from segviewer.core.losses import CrossEntropyDice, build_criterion, loss_weights
from segviewer.core.training.config import class_weighting


def reference_dice(logits: torch.Tensor, target: torch.Tensor, ignore: int) -> torch.Tensor:
    """Soft Dice the textbook way: one-hot targets, sums over batch and pixels, mean over present classes."""
    n = logits.shape[1]
    valid = (target != ignore).unsqueeze(1).float()
    probs = logits.softmax(1) * valid
    onehot = torch.nn.functional.one_hot(torch.where(target == ignore, 0, target), n)
    onehot = onehot.permute(0, 3, 1, 2).float() * valid
    inter = (probs * onehot).sum((0, 2, 3))
    total = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    present = onehot.sum((0, 2, 3)) > 0
    return 1 - ((2 * inter + 1) / (total + 1))[present].mean()


def test_dice_term_matches_the_one_hot_reference():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7, 9)
    target = torch.randint(0, 4, (3, 7, 9))  # class 4 never occurs
    target[0, :2] = 255
    loss = CrossEntropyDice(ignore_index=255)
    assert torch.allclose(loss.dice(logits, target), reference_dice(logits, target, 255), atol=1e-6)
    ce = torch.nn.functional.cross_entropy(logits, target, ignore_index=255)
    assert torch.allclose(loss(logits, target), ce + reference_dice(logits, target, 255), atol=1e-6)


def test_dice_is_near_zero_for_a_perfect_prediction_and_large_for_a_wrong_one():
    target = torch.tensor([[[0, 0, 1], [2, 2, 1]]])
    right = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float() * 50
    wrong = torch.nn.functional.one_hot((target + 1) % 3, 3).permute(0, 3, 1, 2).float() * 50
    loss = CrossEntropyDice(ignore_index=255)
    assert float(loss(right, target)) < 1e-3
    assert float(loss.dice(wrong, target)) > 0.8


def test_ignored_pixels_do_not_change_the_loss_or_get_gradients():
    torch.manual_seed(1)
    logits = torch.randn(2, 4, 5, 5, requires_grad=True)
    target = torch.randint(0, 4, (2, 5, 5))
    target[:, 0] = 255
    loss = CrossEntropyDice(ignore_index=255)
    value = loss(logits, target)
    value.backward()
    assert torch.all(logits.grad[:, :, 0] == 0)
    changed = logits.detach().clone()
    changed[:, :, 0] = 100.0
    assert torch.allclose(loss(changed, target), value.detach())


def test_a_fully_ignored_batch_gives_a_finite_loss():
    loss = CrossEntropyDice(ignore_index=255)
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    assert float(loss.dice(logits, torch.full((1, 4, 4), 255)).detach()) == 0.0


def test_class_weighting_modes_and_weights():
    assert [class_weighting(v) for v in (True, False, None, "sqrt", "median", "none")] == [
        "median",
        "none",
        "none",
        "sqrt",
        "median",
        "none",
    ]
    with pytest.raises(ValueError, match="median"):
        class_weighting("log")
    assert loss_weights([4.0, 0.25], "sqrt") == [2.0, 0.5]
    assert loss_weights([4.0, 0.25], "median") == [4.0, 0.25]
    assert loss_weights([4.0, 0.25], "none") is None


def test_build_criterion_refuses_an_unknown_loss():
    assert isinstance(build_criterion("ce+dice", None, 255), CrossEntropyDice)
    with pytest.raises(ValueError, match="ce\\+dice"):
        build_criterion("focal", None, 255)
