"""core/review.py: suspect pixels, per-class typical confidence and the image score, on a known model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segviewer.core.datasets import open_dataset
from segviewer.core.imageio import write_png
from segviewer.core.labels import get_scheme
from segviewer.core.pipeline import normalize_tf
from segviewer.core.review import ReviewCancelled, review_split, suspect_pixels, trained_on_split

ROAD, SKY, CAR = 0, 10, 13
H, W = 16, 24


class _SkyAboveRoad(torch.nn.Module):
    """Sees sky where the red channel is bright and road where it is dark, with a fixed confidence."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = (x[:, 0] > 0).float()
        logits = torch.zeros(x.shape[0], 19, *x.shape[2:])
        logits[:, SKY] = 6 * bright
        logits[:, ROAD] = 6 * (1 - bright)
        return logits


class _Predictor:
    """The part of core.predict.Predictor that review uses."""

    def __init__(self, meta: dict | None = None) -> None:
        self.input_size = (H, W)
        self.scheme = get_scheme("bdd100k")
        self.meta = meta or {}

    def logits(self, resized: np.ndarray) -> torch.Tensor:
        return _SkyAboveRoad()(normalize_tf(torch.from_numpy(resized)))


def _image() -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    image[: H // 2, :, 0] = 255  # sky on top
    return image


def _truth() -> np.ndarray:
    mask = np.full((H, W), ROAD, np.uint8)
    mask[: H // 2] = SKY
    return mask


def _write_set(root, masks: dict[str, np.ndarray]):
    for split in ("train", "val"):
        for name, mask in masks.items():
            write_png(root / "images" / "10k" / split / f"{name}.png", _image())
            write_png(root / "labels" / "sem_seg" / "masks" / split / f"{name}.png", mask)
    return root


def test_suspect_pixels_follow_the_self_confidence_rule():
    probs = np.zeros((3, 1, 4), np.float32)
    probs[:, 0, 0] = (0.9, 0.1, 0.0)  # labelled 0 and confidently 0: fine
    probs[:, 0, 1] = (0.1, 0.9, 0.0)  # labelled 0, confidently 1: suspect
    probs[:, 0, 2] = (0.4, 0.6, 0.0)  # labelled 0, class 1 below its typical confidence 0.7: fine
    probs[:, 0, 3] = (0.1, 0.9, 0.0)  # ignored (255): never suspect
    mask = np.array([[0, 0, 0, 255]], np.uint8)
    suspect, predicted, margin = suspect_pixels(probs, mask, np.array([0.8, 0.7, 0.5], np.float32))
    assert suspect.tolist() == [[False, True, False, False]]
    assert predicted[0, 1] == 1 and margin[0, 1] == pytest.approx(0.8)
    assert margin[0, [0, 2, 3]].tolist() == [0.0, 0.0, 0.0]


def test_review_ranks_swapped_labels_first_and_never_counts_ignored_pixels(tmp_path):
    swapped = np.where(_truth() == SKY, ROAD, SKY).astype(np.uint8)
    car_half = _truth()
    car_half[H // 2 :, : W // 2] = CAR  # a quarter of the image labelled car where the model sees road
    hidden = swapped.copy()
    hidden[:] = 255  # the same wrong labels, all ignored
    hidden[0, 0] = SKY
    masks = {f"ok{i}": _truth() for i in range(5)} | {"swapped": swapped, "car": car_half, "hidden": hidden}
    ds = open_dataset(_write_set(tmp_path, masks))
    seen = []
    result = review_split(_Predictor(), ds, "val", batch_size=3, progress=lambda d, t: seen.append((d, t)))
    order = [im.sample for im in result.images]
    assert order[:2] == ["swapped", "car"]
    by_name = {im.sample: im for im in result.images}
    assert by_name["swapped"].suspect_pixels == H * W
    assert by_name["car"].suspect_pixels == (H // 2) * (W // 2)
    assert by_name["car"].pairs == [("car", "road", (H // 2) * (W // 2))]
    assert by_name["hidden"].suspect_pixels == 0 and by_name["hidden"].labelled_pixels == 1
    assert all(by_name[f"ok{i}"].score == 0 for i in range(5))
    assert 0 < by_name["car"].score < by_name["swapped"].score <= 1
    assert seen[-1] == (2 * len(masks), 2 * len(masks)) and len(seen) > 2
    # road's typical confidence is dragged down by the swapped images, but stays well above chance
    assert 0.5 < result.thresholds["road"] < 1.0
    assert result.thresholds["bus"] == 0.5  # never labelled: the documented fallback
    assert result.warnings == []


def test_review_can_be_cancelled_and_warns_about_its_own_training_split(tmp_path):
    root = _write_set(tmp_path, {"a": _truth(), "b": _truth()})
    ds = open_dataset(root)
    with pytest.raises(ReviewCancelled):
        review_split(_Predictor(), ds, "val", should_stop=lambda: True)
    meta = {"config": {"root": str(root), "train_split": "train"}}
    assert trained_on_split(meta, ds, "val") is None
    assert "trained on the 'train' split" in trained_on_split(meta, ds, "train")
    result = review_split(_Predictor(meta), ds, "train")
    assert len(result.warnings) == 1 and "--split val" in result.warnings[0]


def test_probabilities_agree_with_the_predictors_masks(tmp_path):
    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.models import build_model
    from segviewer.core.predict import Predictor
    from segviewer.core.review import probabilities

    torch.manual_seed(0)
    model = build_model("ulite", 19, widths=[4, 8, 16, 32])
    path = save_checkpoint(tmp_path / "m.pt", make_checkpoint(model, get_scheme("bdd100k"), (H, W), 1, None))
    predictor = Predictor.from_checkpoint(path)
    images = [np.random.default_rng(i).integers(0, 256, (H, W, 3), dtype=np.uint8) for i in range(3)]
    probs = probabilities(predictor, images)
    assert probs.shape == (3, 19, H, W) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    for p, (mask, confidence) in zip(probs, predictor.predict_batch(images), strict=True):
        assert np.array_equal(p.argmax(axis=0), mask) and np.allclose(p.max(axis=0), confidence, atol=1e-5)
