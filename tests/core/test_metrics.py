"""Confusion-matrix metrics: the BDD100K toolkit's published numbers and an independent set-based check."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segviewer.core.imageio import read_label
from segviewer.core.labels import get_scheme
from segviewer.core.metrics import ConfusionMatrix, Metrics, format_table, metrics_to_json


def reference_default(pairs, n: int, ignore: int = 255) -> dict:
    """Per-class IoU / recall from boolean pixel sets, one class at a time (no confusion matrix)."""
    gts = np.concatenate([g.ravel() for g, _ in pairs]).astype(np.int64)
    preds = np.concatenate([p.ravel() for _, p in pairs]).astype(np.int64)
    valid = gts != ignore
    gts, preds = gts[valid], preds[valid]
    iou, acc, freq = [], [], []
    for c in range(n):
        in_gt, in_pred = gts == c, preds == c
        union = np.logical_or(in_gt, in_pred).sum()
        inter = np.logical_and(in_gt, in_pred).sum()
        iou.append(inter / union if union else np.nan)
        acc.append(inter / in_gt.sum() if in_gt.sum() else np.nan)
        freq.append(in_gt.sum() / len(gts))
    iou, acc = np.array(iou), np.array(acc)
    return {
        "iou": iou,
        "acc": acc,
        "miou": np.nanmean(iou),
        "macc": np.nanmean(acc),
        "pacc": (gts == preds).sum() / len(gts),
        "fwiou": sum(f * i for f, i in zip(freq, iou, strict=True) if f > 0),
    }


def random_pair(rng, shape=(32, 48), n=5, absent=(3,)):
    gt = rng.integers(0, n, shape).astype(np.uint8)
    gt[np.isin(gt, absent)] = 0
    gt[rng.random(shape) < 0.15] = 255
    pred = rng.integers(0, n, shape).astype(np.uint8)
    pred[np.isin(pred, absent)] = 1
    pred[rng.random(shape) < 0.05] = 200  # no class: wrong
    pred[rng.random(shape) < 0.05] = 255  # "ignore" predicted: wrong too
    return gt, pred


def test_default_matches_set_based_reference():
    rng = np.random.default_rng(1)
    pairs = [random_pair(rng) for _ in range(3)]
    cm = ConfusionMatrix(5)
    for gt, pred in pairs:
        cm.update(gt, pred)
    m = cm.compute()
    ref = reference_default(pairs, 5)
    np.testing.assert_allclose(m.per_class_iou, ref["iou"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.per_class_accuracy, ref["acc"], rtol=0, atol=1e-12)
    for key, value in [("miou", m.miou), ("macc", m.mean_class_accuracy), ("pacc", m.pixel_accuracy)]:
        assert value == pytest.approx(ref[key], abs=1e-12), key
    assert m.fwiou == pytest.approx(ref["fwiou"], abs=1e-12)
    assert np.isnan(m.per_class_iou[3]) and np.isnan(m.per_class_accuracy[3])
    assert cm.matrix.shape == (5, 5) and cm.matrix.dtype == np.int64
    assert cm.class_pixels.sum() == sum(int((g != 255).sum()) for g, _ in pairs)


def test_absent_class_is_nan_but_predicted_only_class_is_zero():
    gt = np.array([[0, 0], [1, 1]], np.uint8)
    pred = np.array([[0, 2], [1, 1]], np.uint8)
    cm = ConfusionMatrix(4)
    cm.update(gt, pred)
    m = cm.compute()
    assert m.per_class_iou[2] == 0.0 and np.isnan(m.per_class_accuracy[2])  # predicted, never in GT
    assert np.isnan(m.per_class_iou[3]) and np.isnan(m.per_class_accuracy[3])  # in neither
    assert m.miou == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert m.mean_class_accuracy == pytest.approx((0.5 + 1.0) / 2)


def test_prediction_outside_classes_counts_as_wrong():
    gt = np.zeros((2, 3), np.uint8)
    for bad in (np.uint8(5), np.uint8(255), np.int64(-1), np.int64(1000)):
        cm = ConfusionMatrix(5)
        cm.update(gt, np.full((2, 3), bad))
        m = cm.compute()
        assert m.per_class_iou[0] == 0.0 and m.pixel_accuracy == 0.0, bad
        assert cm.matrix.sum() == 0 and cm.invalid_predictions[0] == 6
        assert np.isnan(m.per_class_iou[1:]).all()


def test_int64_predictions_match_uint8():
    rng = np.random.default_rng(2)
    gt, pred = random_pair(rng, n=6)
    a, b = ConfusionMatrix(6), ConfusionMatrix(6)
    a.update(gt, pred)
    b.update(gt.astype(np.int32), pred.astype(np.int64))
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.invalid_predictions, b.invalid_predictions)


def test_missing_prediction_is_all_wrong():
    gt = np.array([[0, 1, 255], [1, 1, 2]], np.uint8)
    missing, explicit = ConfusionMatrix(3), ConfusionMatrix(3)
    missing.update_missing(gt)
    explicit.update(gt, np.full_like(gt, 250))
    np.testing.assert_array_equal(missing.invalid_predictions, [1, 3, 1])
    np.testing.assert_array_equal(missing.invalid_predictions, explicit.invalid_predictions)
    assert missing.compute().pixel_accuracy == 0.0


def test_merge_reset_and_other_ignore_index():
    rng = np.random.default_rng(3)
    (g1, p1), (g2, p2) = random_pair(rng), random_pair(rng)
    g1[g1 == 255], g2[g2 == 255] = 5, 5  # CamVid-style ignore index right after the classes
    whole, a, b = ConfusionMatrix(5, 5), ConfusionMatrix(5, 5), ConfusionMatrix(5, 5)
    whole.update(g1, p1)
    whole.update(g2, p2)
    a.update(g1, p1)
    b.update(g2, p2)
    a += b
    np.testing.assert_array_equal(a.matrix, whole.matrix)
    assert a.matrix.sum() + a.invalid_predictions.sum() == int((g1 != 5).sum() + (g2 != 5).sum())
    with pytest.raises(ValueError, match="merge"):
        a.merge(ConfusionMatrix(6))
    a.reset()
    assert a.matrix.sum() == 0 and np.isnan(a.compute().miou)


def test_bad_inputs_raise_clear_value_errors():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(5, 4\)"):
        cm.update(np.zeros((4, 5), np.uint8), np.zeros((5, 4), np.uint8))
    with pytest.raises(ValueError, match="7"):
        cm.update(np.full((2, 2), 7, np.uint8), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="7"):
        cm.update_missing(np.full((2, 2), 7, np.int64))
    with pytest.raises(ValueError, match="convention"):
        cm.compute("voc")
    with pytest.raises(ValueError, match="ignore"):
        ConfusionMatrix(3, ignore_index=1)
    assert cm.matrix.sum() == 0  # a rejected pair adds nothing


def test_bdd100k_convention_formulas():
    gt = np.array([[0, 0, 0, 1], [1, 255, 2, 2]], np.uint8)
    pred = np.array([[0, 1, 3, 1], [0, 0, 250, 2]], np.uint8)  # the 0 under 255 must not count
    cm = ConfusionMatrix(4)
    cm.update(gt, pred)
    m = cm.compute("bdd100k")
    # class 3 is predicted but absent from GT: IoU 0, precision 0, left out of the means.
    np.testing.assert_allclose(m.per_class_iou, [1 / 4, 1 / 3, 1 / 2, 0.0])
    np.testing.assert_allclose(m.per_class_accuracy, [1 / 2, 1 / 2, 1.0, 0.0])
    assert m.miou == pytest.approx((1 / 4 + 1 / 3 + 1 / 2) / 3)
    assert m.mean_class_accuracy == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)
    assert m.pixel_accuracy == pytest.approx(3 / 7)
    assert m.fwiou == pytest.approx((3 / 4 + 2 / 3 + 2 / 2) / 7)
    default = cm.compute()
    assert default.miou == pytest.approx((1 / 4 + 1 / 3 + 1 / 2 + 0) / 4)  # class 3 counts, as 0
    assert default.mean_class_accuracy == pytest.approx((1 / 3 + 1 / 2 + 1 / 2) / 3)  # recall


@pytest.mark.parametrize(
    "gt_dir, expected",
    [
        ("gt", (61.73469387755102, 81.27147766323024, 90.91836734693878, 95.0)),
        ("gt+", (31.911057692307693, 81.27147766323024, 46.45432692307692, 47.5)),
    ],
)
def test_bdd100k_toolkit_published_numbers(shared_data, gt_dir, expected):
    case = shared_data / "bdd100k-eval-testcases"
    cm = ConfusionMatrix(19)
    for gt_path in sorted((case / gt_dir).glob("*.png")):
        gt = read_label(gt_path)[0]
        pred_path = case / "pred" / gt_path.name
        if pred_path.exists():
            cm.update(gt, read_label(pred_path)[0])
        else:
            cm.update_missing(gt)
    m = cm.compute("bdd100k")
    got = (100 * m.miou, 100 * m.mean_class_accuracy, 100 * m.fwiou, 100 * m.pixel_accuracy)
    for name, value, want in zip(("mIoU", "mAcc", "fIoU", "pAcc"), got, expected, strict=True):
        assert abs(value - want) < 1e-9, (name, value, want)


def _metrics() -> Metrics:
    cm = ConfusionMatrix(19)
    cm.update(np.array([[0, 0], [1, 255]], np.uint8), np.array([[0, 1], [1, 0]], np.uint8))
    return cm.compute()


def test_metrics_to_json_shape_and_nulls():
    data = metrics_to_json(_metrics(), get_scheme("bdd100k"), ["b.png"])
    assert list(data) == [
        "miou",
        "pixel_accuracy",
        "mean_class_accuracy",
        "fwiou",
        "per_class",
        "missing_predictions",
    ]
    assert data["missing_predictions"] == ["b.png"]
    assert data["pixel_accuracy"] == pytest.approx(2 / 3)
    assert len(data["per_class"]) == 19
    assert data["per_class"][0] == {"id": 0, "name": "road", "iou": 0.5, "accuracy": 0.5}
    assert data["per_class"][5] == {"id": 5, "name": "pole", "iou": None, "accuracy": None}
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN literals


def test_metrics_json_uses_training_classes_of_mapped_scheme():
    data = metrics_to_json(_metrics(), get_scheme("cityscapes"), [])
    assert [c["name"] for c in data["per_class"][:2]] == ["road", "sidewalk"]


def test_format_table_lists_classes_and_nan():
    text = format_table(_metrics(), get_scheme("bdd100k"))
    road = next(line for line in text.splitlines() if "road" in line)
    assert "50.00" in road
    pole = next(line for line in text.splitlines() if "pole" in line)
    assert "NaN" in pole
    assert "mean IoU:" in text and "66.67" in text  # pixel accuracy 2/3


def test_value_histogram_counts_runs_and_noise_exactly():
    from segviewer.core.metrics import value_histogram

    rng = np.random.default_rng(7)
    smooth = np.repeat(rng.integers(0, 20, (40, 3), dtype=np.uint8), 50, axis=1)  # long runs
    shifted = np.roll(smooth, 7, axis=1)
    noisy = rng.integers(0, 256, (40, 150), dtype=np.uint8)  # short runs: the per-pixel path
    for gt, pred in ((smooth, shifted), (noisy, smooth), (smooth[:1, :1], shifted[:1, :1])):
        expected = np.bincount(gt.astype(np.int64).ravel() * 256 + pred.ravel(), minlength=65536)
        assert (value_histogram(gt, pred) == expected.reshape(256, 256)).all()
    total = value_histogram(smooth, shifted)
    value_histogram(smooth, shifted, out=total)  # adds
    assert total.sum() == 2 * smooth.size


def test_update_histogram_matches_update_and_rejects_unknown_ground_truth():
    from segviewer.core.metrics import fold_histogram, value_histogram

    rng = np.random.default_rng(8)
    gt = rng.integers(0, 19, (30, 40), dtype=np.uint8)
    gt[:3] = 255
    pred = rng.integers(0, 25, (30, 40), dtype=np.uint8)
    a, b = ConfusionMatrix(19), ConfusionMatrix(19)
    a.update(gt, pred)
    b.update_histogram(value_histogram(gt, pred))
    assert (a.matrix == b.matrix).all() and (a.invalid_predictions == b.invalid_predictions).all()
    # Folding the histogram through a lookup equals looking every pixel up.
    lut = get_scheme("cityscapes").train_lut
    ids = rng.integers(0, 34, (30, 40), dtype=np.uint8)
    c, d = ConfusionMatrix(19), ConfusionMatrix(19)
    c.update(lut[ids], lut[ids[::-1]])
    d.update_histogram(fold_histogram(value_histogram(ids, ids[::-1]), lut, lut))
    assert (c.matrix == d.matrix).all()
    gt[0, 0] = 40
    with pytest.raises(ValueError, match="40"):
        ConfusionMatrix(19).update_histogram(value_histogram(gt, pred))
