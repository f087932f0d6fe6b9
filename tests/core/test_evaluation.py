"""Evaluation of a predictor on a split: totals, per-image scores, top confusions, tables, split errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
from segviewer.core.datasets import open_dataset
from segviewer.core.demo import generate_demo
from segviewer.core.evaluation import (
    EvaluationError,
    compare_table,
    evaluate_checkpoint,
    evaluate_split,
    labelled_samples,
)
from segviewer.core.labels import get_scheme
from segviewer.core.metrics import ConfusionMatrix
from segviewer.core.models import build_model

BDD = get_scheme("bdd100k")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return open_dataset(generate_demo(tmp_path_factory.mktemp("ev") / "demo", count=8, size=(36, 64), seed=3))


class Replay:
    """Predicts given masks in order (the evaluation visits samples in split order)."""

    def __init__(self, masks):
        self.masks = list(masks)

    def predict(self, image):
        mask = self.masks.pop(0)
        assert mask.shape == image.shape[:2]
        return mask, np.ones(mask.shape, np.float32)


def test_perfect_predictions_score_one(dataset):
    samples = labelled_samples(dataset, "train")
    truth = [dataset.load_mask(s) for s in samples]
    progress = []
    result = evaluate_split(Replay(truth), dataset, "train", progress=lambda d, t: progress.append((d, t)))
    assert result.metrics.miou == pytest.approx(1.0) and result.metrics.pixel_accuracy == pytest.approx(1.0)
    assert [name for name, _, _ in result.per_image] == [s.name for s in samples]
    assert result.top_confusions == {} and progress[-1] == (len(samples), len(samples))


def test_top_confusions_and_worst_images(dataset):
    samples = labelled_samples(dataset, "train")
    truth = [dataset.load_mask(s) for s in samples]
    preds = [np.zeros_like(m) for m in truth]  # everything is "road"
    preds[0] = truth[0].copy()  # except one perfect image
    result = evaluate_split(Replay(preds), dataset, "train")
    worst = sorted(result.per_image, key=lambda r: r[1])
    assert worst[-1][0] == samples[0].name and worst[-1][1] == pytest.approx(1.0)
    sky = BDD.names.index("sky")
    pairs = result.top_confusions[(sky, 0)]
    counts = [c for c, _ in pairs]
    assert counts == sorted(counts, reverse=True) and len(pairs) <= 20
    expected = ConfusionMatrix(19, 255)
    for t, p in zip(truth, preds, strict=True):
        expected.update(t, p)
    assert np.array_equal(result.confusion.matrix, expected.matrix)
    assert sum(counts) == expected.matrix[sky, 0]


def test_split_without_masks_says_so(dataset):
    with pytest.raises(EvaluationError, match="'test' split has no masks.*--split val"):
        labelled_samples(dataset, "test")
    with pytest.raises(EvaluationError, match="no 'holdout' split"):
        labelled_samples(dataset, "holdout")


def test_compare_table_formats(dataset):
    a = ConfusionMatrix(19, 255)
    a.update(np.array([[0, 0, 1]], np.uint8), np.array([[0, 1, 1]], np.uint8))
    b = ConfusionMatrix(19, 255)
    b.update(np.array([[0, 0, 1]], np.uint8), np.array([[0, 0, 1]], np.uint8))
    results = [("SegNet Basic (run-a)", a.compute()), ("U-Lite (run-b)", b.compute())]
    table = compare_table(results, BDD, "markdown").splitlines()
    assert table[0].split("|")[1:4] == [" Category       ", " SegNet Basic (run-a) ", " U-Lite (run-b) "]
    road = next(line for line in table if line.startswith("| road"))
    assert [c.strip() for c in road.split("|")[2:4]] == ["0.500", "1.000"]
    wall = next(line for line in table if line.startswith("| wall"))
    assert [c.strip() for c in wall.split("|")[2:4]] == ["NaN", "NaN"]
    assert any(line.startswith("| mIoU") for line in table)
    csv_lines = compare_table(results, BDD, "csv").splitlines()
    assert (
        csv_lines[0] == "Category,SegNet Basic (run-a),U-Lite (run-b)" and csv_lines[1] == "road,0.500,1.000"
    )
    data = json.loads(compare_table(results, BDD, "json"))
    assert data["models"][1] == "U-Lite (run-b)" and data["rows"][3]["values"] == [None, None]
    assert data["rows"][-1]["category"] == "Pixel accuracy" and math.isclose(
        data["rows"][-1]["values"][0], 2 / 3, rel_tol=1e-5
    )


def test_evaluate_checkpoint_returns_metrics_scheme_and_extra(dataset, tmp_path):
    torch.manual_seed(0)
    model = build_model("ulite", 19, widths=(4, 8, 8, 16))
    path = save_checkpoint(tmp_path / "run" / "best.pt", make_checkpoint(model, BDD, (36, 64), 1, 0.1))
    metrics, scheme, extra = evaluate_checkpoint(tmp_path / "run", dataset.root, "val", device="cpu")
    assert scheme.name == "bdd100k" and 0.0 <= metrics.pixel_accuracy <= 1.0
    assert extra["checkpoint"] == str(path) and extra["images"] == len(labelled_samples(dataset, "val"))
