"""Evaluating a trained checkpoint on a data set split, and side-by-side tables of several models.

Predictions are made at each image's original size (as a user sees them), so these figures can differ
slightly from the per-epoch validation during training, which compares at the input size.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segviewer.core.datasets import Dataset, open_dataset
from segviewer.core.errors import UserError
from segviewer.core.imageio import read_label
from segviewer.core.labels import LabelScheme
from segviewer.core.metrics import ConfusionMatrix, Metrics, fold_histogram, value_histogram
from segviewer.core.read_ahead import read_ahead

TOP_PER_PAIR = 20


class EvaluationError(UserError):
    """A split that cannot be evaluated (missing, or without masks)."""


@dataclass
class EvaluationResult:
    confusion: ConfusionMatrix
    metrics: Metrics
    per_image: list[tuple[str, float, float]]  # (sample name, mIoU, pixel accuracy); sort for worst first
    top_confusions: dict[
        tuple[int, int], list[tuple[int, str]]
    ]  # (gt, pred) -> [(pixels, sample)], most first
    skipped: list[str] = field(default_factory=list)  # "file: reason" of samples that could not be read
    stopped: bool = False


def labelled_samples(dataset: Dataset, split: str) -> list:
    """Samples of `split` that have masks; a clear error when there are none."""
    if split not in dataset.splits:
        have = ", ".join(s for s in dataset.splits if any(x.mask for x in dataset.splits[s])) or "none"
        raise EvaluationError(
            f"{dataset.root}: no '{split}' split (labelled splits: {have}); choose one with --split"
        )
    samples = [s for s in dataset.splits[split] if s.mask is not None]
    if not samples:
        others = [s for s in dataset.splits if s != split and any(x.mask for x in dataset.splits[s])]
        others.sort(key=lambda s: s != "val")  # suggest val first
        hint = f"; use --split {others[0]}" if others else ""
        raise EvaluationError(f"{dataset.root}: the '{split}' split has no masks to compare with{hint}")
    return samples


def evaluate_split(
    predictor,
    dataset: Dataset,
    split: str,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> EvaluationResult:
    """Predict every labelled sample of `split` and accumulate metrics, per-image scores and confusions."""
    samples = labelled_samples(dataset, split)
    scheme = dataset.scheme
    n, ignore = scheme.num_classes, scheme.ignore_index
    total = ConfusionMatrix(n, ignore)
    per_image: list[tuple[str, float, float]] = []
    heaps: dict[tuple[int, int], list[tuple[int, str]]] = {}
    skipped: list[str] = []
    stopped = False
    done = 0
    reads = read_ahead(samples, lambda s: _load_pair(dataset, s))
    for sample, loaded, error in reads:
        if should_stop is not None and should_stop():
            stopped = True
            reads.close()
            break
        done += 1
        if error is not None:
            if not isinstance(error, UserError):
                raise error
            skipped.append(str(error))
        else:
            image, values, lut = loaded
            pred, _ = predictor.predict(image)
            if pred.dtype != np.uint8:  # a backend's int64 argmax: values past 255 are no class
                pred = np.where((pred < 0) | (pred > 255), 255, pred).astype(np.uint8)
            one = ConfusionMatrix(n, ignore)
            one.update_histogram(
                _lenient_rows(fold_histogram(value_histogram(values, pred), lut, None), n, ignore)
            )
            total.merge(one)
            m = one.compute()
            per_image.append((sample.name, m.miou, m.pixel_accuracy))
            _add_confusions(heaps, one.matrix, sample.name)
        if progress is not None:
            progress(done, len(samples))
    if not per_image and not stopped:
        raise EvaluationError(
            f"{dataset.root}: no sample of '{split}' could be read: {'; '.join(skipped[:3])}"
        )
    top = {pair: sorted(h, reverse=True) for pair, h in heaps.items()}
    return EvaluationResult(total, total.compute(), per_image, top, skipped, stopped)


def _load_pair(dataset: Dataset, sample) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(image, stored mask values, lookup to training ids) of one sample, read on a worker thread."""
    image = dataset.load_image(sample)
    values, lut = dataset.load_mask_values(sample)
    if values.shape != image.shape[:2]:
        raise UserError(f"{sample.mask}: mask size differs from its image {sample.image.name}")
    return image, values, lut


def _lenient_rows(hist: np.ndarray, n: int, ignore: int) -> np.ndarray:
    """Ground-truth values that are no class count as ignored (as a data set reader would map them)."""
    bad = np.ones(256, bool)
    bad[:n] = False
    bad[ignore] = False
    if hist[bad].any():
        hist = hist.copy()
        hist[ignore] += hist[bad].sum(axis=0)
        hist[bad] = 0
    return hist


def _add_confusions(heaps: dict, matrix: np.ndarray, name: str) -> None:
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    for gt_id, pred_id in zip(*np.nonzero(off), strict=True):
        heap = heaps.setdefault((int(gt_id), int(pred_id)), [])
        item = (int(off[gt_id, pred_id]), name)
        if len(heap) < TOP_PER_PAIR:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)


# --- folders of mask files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskPair:
    """A ground-truth mask file and its prediction (None: missing, counted as all wrong)."""

    gt: Path
    pred: Path | None


PAIRS_PER_TASK = 8  # pairs decoded by one thread task: few enough for a smooth progress bar


def evaluate_mask_pairs(
    pairs: list[MaskPair],
    scheme: LabelScheme,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> ConfusionMatrix:
    """Confusion matrix (training ids of `scheme`) of mask files whose values are ids of `scheme`.

    Threads decode the files (OpenCV releases the GIL) and count each pair with one bincount of stored
    values; the ids are checked and mapped to training ids on the summed 256 x 256 histogram, not per
    pixel. A ground-truth value outside the scheme raises a UserError naming the file.
    """
    train = scheme.training_scheme()
    chunks = [pairs[i : i + PAIRS_PER_TASK] for i in range(0, len(pairs), PAIRS_PER_TASK)]
    total = np.zeros((256, 256), np.int64)
    done = 0
    for chunk, hist, error in read_ahead(chunks, lambda c: _count_pairs(c, scheme), workers):
        if error is not None:
            raise error
        total += hist
        done += len(chunk)
        if progress is not None:
            progress(done, len(pairs))
    cm = ConfusionMatrix(train.num_classes, train.ignore_index)
    lut = None if train is scheme else scheme.train_lut
    cm.update_histogram(fold_histogram(total, lut, lut))
    return cm


def _count_pairs(pairs: list[MaskPair], scheme: LabelScheme) -> np.ndarray:
    """Summed value histogram of a few pairs; a missing prediction's pixels go to value 255 (wrong)."""
    total = np.zeros((256, 256), np.int64)
    for pair in pairs:
        before = total.sum(axis=1)
        gt = _stored_ids(pair.gt, scheme, ground_truth=True)
        if pair.pred is None:
            total[:, 255] += np.bincount(gt.ravel(), minlength=256)
        else:
            pred = _stored_ids(pair.pred, scheme, ground_truth=False)
            if pred.shape != gt.shape:
                raise UserError(
                    f"{pair.pred}: prediction is {pred.shape[1]}x{pred.shape[0]} but its ground truth "
                    f"{pair.gt} is {gt.shape[1]}x{gt.shape[0]}; predictions must have the ground truth's size"
                )
            value_histogram(gt, pred, out=total)
        bad = np.flatnonzero((total.sum(axis=1) > before) & ~scheme.valid_lut)
        if bad.size:
            shown = ", ".join(str(v) for v in bad[:10])
            raise UserError(
                f"{pair.gt}: values {shown} are not class ids of the '{scheme.name}' scheme; "
                "choose the masks' scheme with --scheme"
            )
    return total


def _stored_ids(path: Path, scheme: LabelScheme, ground_truth: bool) -> np.ndarray:
    """uint8 ids of `scheme` as stored in a mask file; colour masks are mapped through its palette."""
    arr, kind = read_label(path)
    if kind == "color":
        return scheme.decolorize(arr, source=str(path))
    if arr.dtype == np.uint8:
        return arr
    if ground_truth and arr.size and (arr.min() < 0 or arr.max() > 255):
        big = int(arr.max()) if arr.max() > 255 else int(arr.min())
        raise UserError(
            f"{path}: values such as {big} are not class ids of the '{scheme.name}' scheme; "
            "choose the masks' scheme with --scheme"
        )
    return np.where((arr < 0) | (arr > 255), 255, arr).astype(np.uint8)


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder meaning its best.pt."""
    path = Path(path).expanduser()
    if path.is_dir():
        best = path / "best.pt"
        if best.is_file():
            return best
        hint = (
            " (it has last.pt: give that file to use the latest weights)"
            if (path / "last.pt").is_file()
            else ""
        )
        raise UserError(f"{path}: run folder without best.pt{hint}")
    return path


def open_for_checkpoint(predictor, root: str | Path, labels: str = "auto") -> Dataset:
    """Open `root`, letting a plain folder take the checkpoint's scheme, and check both agree.

    labels: "auto" | "corrected" | "original", as for `open_dataset` (corrections win over originals).
    """
    from segviewer.core import layouts
    from segviewer.core.checkpoint import check_compatible
    from segviewer.core.corrections import apply_corrections

    root = Path(root).expanduser()
    if root.is_dir():
        dataset = apply_corrections(layouts.detect(root, predictor.scheme), labels)
    else:
        dataset = open_dataset(root, labels=labels)
    check_compatible(predictor.meta, dataset.scheme)
    return dataset


def evaluate_checkpoint(
    checkpoint: str | Path,
    root: str | Path,
    split: str = "val",
    progress=None,
    device: str = "auto",
    labels: str = "auto",
) -> tuple[Metrics, LabelScheme, dict]:
    """(metrics, scheme, extra) for `segviewer evaluate CHECKPOINT ROOT`; extra goes into its JSON.

    CHECKPOINT may also be a run folder (its best.pt) or an ONNX file: the same evaluation either way.
    """
    from segviewer.core.corrections import labels_note
    from segviewer.core.predict import load_predictor

    path = resolve_checkpoint(checkpoint)
    predictor = load_predictor(path, device=device)  # a checkpoint, or an ONNX file from `segviewer export`
    dataset = open_for_checkpoint(predictor, root, labels)
    result = evaluate_split(predictor, dataset, split, progress=progress)
    extra = {
        "checkpoint": str(path),
        "model": predictor.model_name,
        "split": split,
        "images": len(result.per_image),
        "skipped": result.skipped,
        "labels": dataset.labels,
        "labels_note": labels_note(dataset, labels),
    }
    return result.metrics, dataset.scheme, extra


def compare_table(results: list[tuple[str, Metrics]], scheme: LabelScheme, fmt: str = "markdown") -> str:
    """Per-class IoU with one column per model (as the paper's Table 1), then mIoU and pixel accuracy."""
    classes = scheme.training_scheme().classes
    titles = [title for title, _ in results]
    rows = [[c.name, *[m.per_class_iou[i] for _, m in results]] for i, c in enumerate(classes)]
    rows.append(["mIoU", *[m.miou for _, m in results]])
    rows.append(["Pixel accuracy", *[m.pixel_accuracy for _, m in results]])
    if fmt == "json":
        return json.dumps(
            {
                "models": titles,
                "rows": [{"category": r[0], "values": [_json_number(v) for v in r[1:]]} for r in rows],
            },
            indent=2,
        )
    header = ["Category", *titles]
    cells = [[r[0], *[_fmt(v) for v in r[1:]]] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells)
        return buf.getvalue().rstrip("\n")
    if fmt != "markdown":
        raise ValueError(f"unknown table format '{fmt}'")
    widths = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append(
        "|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    )
    for row in cells:
        lines.append(
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            + " |"
        )
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return "NaN" if value is None or math.isnan(value) else f"{value:.3f}"


def _json_number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)
