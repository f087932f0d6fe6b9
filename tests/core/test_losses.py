"""Losses and their class weights: Dice, focal and OHEM against plain reference computations, ignore pixels, modes."""

from __future__ import annotations

import pytest
import torch

from segviewer.core.losses import CrossEntropyDice, FocalLoss, OhemCrossEntropy, build_criterion, loss_weights
from segviewer.core.training.config import LOSSES


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


def test_loss_weights_per_weighting_mode():
    # the mode names themselves (class_weighting) are tested with the config that owns them
    assert loss_weights([4.0, 0.25], "sqrt") == [2.0, 0.5]
    assert loss_weights([4.0, 0.25], "median") == [4.0, 0.25]
    assert loss_weights([4.0, 0.25], "none") is None
    assert loss_weights(None, "median") is None


def test_build_criterion_builds_every_listed_loss_and_refuses_others():
    kinds = {"ce": torch.nn.CrossEntropyLoss, "ce+dice": CrossEntropyDice, "focal": FocalLoss}
    kinds["ce+ohem"] = OhemCrossEntropy
    assert set(kinds) == set(LOSSES)
    for name, kind in kinds.items():
        assert isinstance(build_criterion(name, None, 255), kind)
    with pytest.raises(ValueError, match="ce\\+dice, focal, ce\\+ohem"):
        build_criterion("lovasz", None, 255)


def test_focal_loss_matches_the_textbook_formula_with_class_weights():
    torch.manual_seed(2)
    logits = torch.randn(2, 4, 5, 6)
    target = torch.randint(0, 4, (2, 5, 6))
    target[1, 0] = 255
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    valid = target != 255
    t = torch.where(valid, target, 0)
    p = logits.softmax(1).gather(1, t.unsqueeze(1)).squeeze(1)
    w = weight[t] * valid
    expected = (w * (1 - p) ** 2 * -p.log()).sum() / w.sum()
    assert torch.allclose(FocalLoss(weight, 255)(logits, target), expected, atol=1e-6)


def test_focal_loss_leaves_easy_pixels_almost_out():
    target = torch.tensor([[[0, 1]]])
    logits = torch.tensor([[[[8.0, 0.0]], [[0.0, 0.0]]]])  # pixel 0 easy (p~1), pixel 1 unsure (p=0.5)
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")[0, 0]
    focal = FocalLoss(ignore_index=255)
    per_pixel = [float(focal(logits[..., i : i + 1], target[..., i : i + 1])) for i in range(2)]
    assert per_pixel[0] < 1e-6 * float(ce[0]) and per_pixel[1] == pytest.approx(0.25 * float(ce[1]))


def test_ohem_averages_only_the_hard_pixels():
    # 16 labelled pixels: 12 easy (p_true ~ 1), 4 hard (p_true = 0.5 < 0.7); one ignored pixel
    logits = torch.zeros(1, 2, 1, 17)
    logits[0, 0, 0, :12] = 10.0
    target = torch.zeros(1, 1, 17, dtype=torch.long)
    target[0, 0, 16] = 255
    loss = OhemCrossEntropy(ignore_index=255)(logits, target)
    assert float(loss) == pytest.approx(float(torch.log(torch.tensor(2.0))), rel=1e-5)


def test_ohem_keeps_at_least_the_hardest_fraction_when_all_are_easy():
    torch.manual_seed(3)
    logits = torch.randn(1, 3, 8, 8) * 0.1
    target = torch.randint(0, 3, (1, 8, 8))
    logits.scatter_(1, target.unsqueeze(1), 9.0)  # every pixel easy, some a little less so
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none").reshape(-1)
    hardest = torch.topk(ce, 4).values.mean()  # 1/16 of 64 pixels
    assert torch.allclose(OhemCrossEntropy(ignore_index=255)(logits, target), hardest, atol=1e-7)


@pytest.mark.parametrize("name", ["focal", "ce+ohem"])
def test_new_losses_ignore_pixels_and_survive_an_empty_batch(name):
    torch.manual_seed(4)
    loss = build_criterion(name, torch.ones(4), 255)
    logits = torch.randn(2, 4, 5, 5, requires_grad=True)
    target = torch.randint(0, 4, (2, 5, 5))
    target[:, 0] = 255
    value = loss(logits, target)
    value.backward()
    assert torch.all(logits.grad[:, :, 0] == 0) and torch.isfinite(value)
    changed = logits.detach().clone()
    changed[:, :, 0] = 100.0
    assert torch.allclose(loss(changed, target), value.detach())
    empty = loss(torch.randn(1, 4, 3, 3, requires_grad=True), torch.full((1, 3, 3), 255))
    assert float(empty.detach()) == 0.0
