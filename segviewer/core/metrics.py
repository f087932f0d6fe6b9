"""Segmentation metrics from a confusion matrix: per-class IoU and accuracy, their means, pixel accuracy.

A `ConfusionMatrix` accumulates (ground truth, prediction) pairs of training-id masks; `compute()` turns
it into `Metrics`. All figures are fractions (0..1), never percent. Pixels whose ground truth is the
ignore index are left out; a predicted value outside 0..n-1 (the ignore index included) is wrong: it
counts against its ground-truth class and for no class (an extra "invalid" column).

Two conventions:

* ``"default"``: IoU = TP / (TP + FP + FN), NaN where a class is absent from both ground truth and
  prediction (as in the paper's Table 1); accuracy = TP / (TP + FN) (recall), NaN without ground truth;
  means are NaN-means over classes.
* ``"bdd100k"``: exactly the official BDD100K toolkit (bdd100k/eval/seg.py): NaN IoU and accuracy set
  to 0; its accuracy is TP / (TP + FP) (precision); mIoU and mean accuracy average only the classes
  present in the ground truth.

JSON shape of `metrics_to_json`, shared by ``segviewer evaluate`` (both forms) and the GUI; keep stable::

    {"miou": 0.617, "pixel_accuracy": 0.95, "mean_class_accuracy": 0.81, "fwiou": 0.909,
     "per_class": [{"id": 0, "name": "road", "iou": 0.97, "accuracy": 0.99},
                   {"id": 1, "name": "sidewalk", "iou": null, "accuracy": null}, ...],
     "missing_predictions": ["b.png"]}

Numbers are floats or null (for NaN); `per_class` lists every class of the training scheme in id order.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np

from segviewer.core.labels import LabelScheme

CONVENTIONS = ("default", "bdd100k")


@dataclass
class Metrics:
    """Results of one evaluation; arrays have one entry per class (training id)."""

    per_class_iou: np.ndarray
    per_class_accuracy: np.ndarray
    miou: float
    pixel_accuracy: float
    mean_class_accuracy: float
    fwiou: float
    class_pixels: np.ndarray  # ground-truth pixels per class (int64)
    convention: str = "default"

    @property
    def num_classes(self) -> int:
        return len(self.per_class_iou)


class ConfusionMatrix:
    """Pixel counts per (ground-truth class, predicted class), accumulated over many mask pairs."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if not 1 <= num_classes <= 255:
            raise ValueError(f"num_classes must be 1..255, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise ValueError(f"ignore index {ignore_index} is a class id (0..{num_classes - 1})")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        # Rows: ground truth; columns: prediction, the last one for predictions that are no class.
        self._counts = np.zeros((num_classes, num_classes + 1), np.int64)

    # --- accumulation ------------------------------------------------------------------------------
    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """Add one (ground truth, prediction) pair of equal shape."""
        gt, pred = np.asarray(gt), np.asarray(pred)
        if gt.shape != pred.shape:
            raise ValueError(f"ground truth shape {gt.shape} and prediction shape {pred.shape} differ")
        _check_integer(gt, "ground truth")
        _check_integer(pred, "prediction")
        n, m = self.num_classes, self.num_classes + 1
        if pred.dtype == np.uint8:
            cols = np.minimum(pred, np.uint8(n))  # n = "no class"; values >= n (ignore too) are wrong
        else:
            cols = np.where((pred >= 0) & (pred < n), pred, n).astype(np.uint8)
        rows, ignore_row = self._rows(gt)
        # One bincount over row * (n + 1) + col; uint16 holds it (255 * 256 + 255 = 65535).
        idx = rows.astype(np.uint16)
        idx *= m
        idx += cols
        hist = np.bincount(idx.ravel(), minlength=256 * m).reshape(256, m)
        self._accept(hist, ignore_row)

    def update_missing(self, gt: np.ndarray) -> None:
        """Count a ground-truth mask without a prediction: every labelled pixel is wrong."""
        rows, ignore_row = self._rows(np.asarray(gt))
        hist = np.zeros((256, self.num_classes + 1), np.int64)
        hist[:, -1] = np.bincount(rows.ravel(), minlength=256)
        self._accept(hist, ignore_row)

    def update_histogram(self, hist: np.ndarray) -> None:
        """Add a (256, 256) histogram of (ground-truth id, predicted id) pixel counts (`value_histogram`).

        Rows past the classes other than the ignore index are an error; columns past them count as wrong.
        """
        hist = np.asarray(hist)
        if hist.shape != (256, 256):
            raise ValueError(f"expected a (256, 256) histogram, got {hist.shape}")
        n = self.num_classes
        folded = np.empty((256, n + 1), np.int64)
        folded[:, :n] = hist[:, :n]
        folded[:, n] = hist[:, n:].sum(axis=1)
        self._accept(folded, self.ignore_index)

    def _rows(self, gt: np.ndarray) -> tuple[np.ndarray, int]:
        """Ground truth as uint8 row numbers and the row that stands for ignored pixels."""
        _check_integer(gt, "ground truth")
        if gt.dtype == np.uint8 and 0 <= self.ignore_index <= 255:
            return gt, self.ignore_index
        n = self.num_classes
        bad = ~(((gt >= 0) & (gt < n)) | (gt == self.ignore_index))
        if bad.any():
            raise ValueError(self._bad_gt_message(np.unique(gt[bad])))
        return np.where(gt == self.ignore_index, n, gt).astype(np.uint8), n

    def _accept(self, hist: np.ndarray, ignore_row: int) -> None:
        """Add the class rows of a (256, n + 1) histogram; rows past n other than `ignore_row` are bad."""
        n = self.num_classes
        extra = hist[n:].sum(axis=1)
        extra[ignore_row - n] = 0
        if extra.any():
            raise ValueError(self._bad_gt_message(np.flatnonzero(extra) + n))
        self._counts += hist[:n]

    def _bad_gt_message(self, values) -> str:
        shown = ", ".join(str(int(v)) for v in list(values)[:10])
        return (
            f"ground truth holds values {shown} that are neither a class id (0..{self.num_classes - 1}) "
            f"nor the ignore index {self.ignore_index}"
        )

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add another matrix's counts (e.g. from another worker); returns self."""
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError(
                f"cannot merge a {other.num_classes}-class matrix (ignore {other.ignore_index}) into a "
                f"{self.num_classes}-class one (ignore {self.ignore_index})"
            )
        self._counts += other._counts
        return self

    def __iadd__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        return self.merge(other)

    def reset(self) -> None:
        self._counts[:] = 0

    # --- views -------------------------------------------------------------------------------------
    @property
    def matrix(self) -> np.ndarray:
        """(n, n) int64, rows = ground truth, columns = prediction (read-only view)."""
        view = self._counts[:, : self.num_classes]
        view.flags.writeable = False
        return view

    @property
    def invalid_predictions(self) -> np.ndarray:
        """(n,) pixels per ground-truth class predicted as no class (value >= n, or missing)."""
        return self._counts[:, -1].copy()

    @property
    def class_pixels(self) -> np.ndarray:
        """(n,) labelled ground-truth pixels per class."""
        return self._counts.sum(axis=1)

    # --- results -----------------------------------------------------------------------------------
    def compute(self, convention: str = "default") -> Metrics:
        if convention == "default":
            return _compute_default(self._counts)
        if convention == "bdd100k":
            return _compute_bdd100k(self._counts)
        raise ValueError(f"unknown convention '{convention}': use one of {', '.join(CONVENTIONS)}")


def value_histogram(gt: np.ndarray, pred: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(256, 256) int64 pixel counts of (ground-truth value, predicted value) for two uint8 masks.

    Every value is counted, so checking for values outside a label scheme and mapping stored ids to
    training ids (`fold_histogram`) then work on 256 rows, not on every pixel. Masks are runs of equal
    pixels, so the pairs are counted per run (where either mask changes): about six times faster than
    a bincount of every pixel on driving-scene masks; noisy masks fall back to that bincount. With
    `out`, the counts are added to it (no 65536-entry array is allocated per pair).
    """
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth shape {gt.shape} and prediction shape {pred.shape} differ")
    if gt.dtype != np.uint8 or pred.dtype != np.uint8:
        raise ValueError(f"value_histogram takes uint8 masks, got {gt.dtype} and {pred.dtype}")
    if out is None:
        out = np.zeros((256, 256), np.int64)
    flat = out.reshape(-1)
    g, p = gt.ravel(), pred.ravel()
    if g.size == 0:
        return out
    change, other = _scratch(g.size - 1)
    np.not_equal(g[1:], g[:-1], out=change)
    np.not_equal(p[1:], p[:-1], out=other)
    change |= other
    starts = np.flatnonzero(change)
    if starts.size > g.size // 8:  # short runs: counting pixels is cheaper
        idx = g.astype(np.uint16)
        idx <<= 8
        idx |= p
        flat += np.bincount(idx, minlength=65536)
        return out
    bounds = np.empty(starts.size + 2, np.intp)
    bounds[0], bounds[-1] = 0, g.size
    bounds[1:-1] = starts + 1
    first = bounds[:-1]
    idx = g[first].astype(np.intp)
    idx <<= 8
    idx |= p[first]
    np.add.at(flat, idx, np.diff(bounds))
    return out


_SCRATCH = threading.local()


def _scratch(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two bool buffers of `size` reused per thread: fresh 1 MB arrays cost more in page faults than
    the comparisons that fill them."""
    buffers = getattr(_SCRATCH, "buffers", None)
    if buffers is None or buffers[0].size < size:
        buffers = (np.empty(size, bool), np.empty(size, bool))
        _SCRATCH.buffers = buffers
    return buffers[0][:size], buffers[1][:size]


def fold_histogram(hist: np.ndarray, row_lut: np.ndarray | None, col_lut: np.ndarray | None) -> np.ndarray:
    """Map a (256, 256) value histogram's rows and columns through (256,) lookups (None: unchanged)."""
    if row_lut is not None:
        rows = np.zeros_like(hist)
        np.add.at(rows, row_lut, hist)
        hist = rows
    if col_lut is not None:
        cols = np.zeros_like(hist)
        np.add.at(cols.T, col_lut, hist.T)
        hist = cols
    return hist


def _check_integer(arr: np.ndarray, what: str) -> None:
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise ValueError(f"{what} must hold integer class ids, got dtype {arr.dtype}")


def _compute_default(counts: np.ndarray) -> Metrics:
    n = counts.shape[0]
    tp = np.diag(counts[:, :n]).astype(np.float64)
    gt = counts.sum(axis=1).astype(np.float64)
    pred = counts[:, :n].sum(axis=0).astype(np.float64)
    union = gt + pred - tp
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of all-NaN: NaN is the answer
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt > 0, tp / gt, np.nan)
        total = gt.sum()
        return Metrics(
            per_class_iou=iou,
            per_class_accuracy=acc,
            miou=float(np.nanmean(iou)),
            pixel_accuracy=float(tp.sum() / total) if total else float("nan"),
            mean_class_accuracy=float(np.nanmean(acc)),
            fwiou=float(np.sum(np.where(gt > 0, iou, 0.0) * gt) / total) if total else float("nan"),
            class_pixels=counts.sum(axis=1),
            convention="default",
        )


def _compute_bdd100k(counts: np.ndarray) -> Metrics:
    """The BDD100K toolkit's formulas on its (n+1) x (n+1) histogram, the last class being `ignored`."""
    n = counts.shape[0]
    hist = np.zeros((n + 1, n + 1))
    hist[:n] = counts
    diag = np.diag(hist)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ious = diag / (hist.sum(1) + hist.sum(0) - diag)
        ious[np.isnan(ious)] = 0
        ious = ious[:-1]
        accs = diag / hist.sum(axis=0)
        accs[np.isnan(accs)] = 0
        accs = accs[:-1]
        present = np.flatnonzero(counts.sum(axis=1) > 0)  # the toolkit's gt_id_set
        labelled = hist[:-1]
        freq = labelled.sum(axis=1) / labelled.sum()
        return Metrics(
            per_class_iou=ious,
            per_class_accuracy=accs,
            miou=float(np.mean(ious[present])),
            pixel_accuracy=float(np.diag(labelled).sum() / labelled.sum()),
            mean_class_accuracy=float(np.mean(accs[present])),
            fwiou=float((ious * freq).sum()),
            class_pixels=counts.sum(axis=1),
            convention="bdd100k",
        )


# --- presentation ----------------------------------------------------------------------------------


def _number(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _classes(metrics: Metrics, scheme: LabelScheme):
    """The classes the metrics' entries refer to: those of the scheme's training ids."""
    classes = scheme.training_scheme().classes
    if len(classes) != metrics.num_classes:
        raise ValueError(
            f"scheme '{scheme.name}' has {len(classes)} training classes, metrics have {metrics.num_classes}"
        )
    return classes


def metrics_to_json(metrics: Metrics, scheme: LabelScheme, missing_predictions: list[str]) -> dict:
    """The stable JSON-ready dict described in the module docstring."""
    classes = _classes(metrics, scheme)
    return {
        "miou": _number(metrics.miou),
        "pixel_accuracy": _number(metrics.pixel_accuracy),
        "mean_class_accuracy": _number(metrics.mean_class_accuracy),
        "fwiou": _number(metrics.fwiou),
        "per_class": [
            {
                "id": int(c.id),
                "name": c.name,
                "iou": _number(metrics.per_class_iou[i]),
                "accuracy": _number(metrics.per_class_accuracy[i]),
            }
            for i, c in enumerate(classes)
        ],
        "missing_predictions": list(missing_predictions),
    }


def _percent(value: float) -> str:
    return "NaN" if np.isnan(value) else f"{100 * value:.2f}"


def format_table(metrics: Metrics, scheme: LabelScheme) -> str:
    """Per-class table (IoU and accuracy in percent, "NaN" where undefined) and summary lines."""
    classes = _classes(metrics, scheme)
    width = max([len("class")] + [len(c.name) for c in classes])
    acc_head = "Prec %" if metrics.convention == "bdd100k" else "Acc %"
    lines = [f"{'id':>3}  {'class':<{width}}  {'IoU %':>7}  {acc_head:>7}  {'GT pixels':>11}"]
    for i, c in enumerate(classes):
        lines.append(
            f"{c.id:>3}  {c.name:<{width}}  {_percent(metrics.per_class_iou[i]):>7}  "
            f"{_percent(metrics.per_class_accuracy[i]):>7}  {int(metrics.class_pixels[i]):>11}"
        )
    lines += [
        "",
        f"mean IoU:               {_percent(metrics.miou)} %",
        f"pixel accuracy:         {_percent(metrics.pixel_accuracy)} %",
        f"mean class accuracy:    {_percent(metrics.mean_class_accuracy)} %",
        f"frequency-weighted IoU: {_percent(metrics.fwiou)} %",
    ]
    if metrics.convention == "bdd100k":
        lines.append("convention: bdd100k (toolkit: NaN as 0, accuracy = precision, means over GT classes)")
    return "\n".join(lines)
