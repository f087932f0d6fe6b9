"""What the viewer needs about one sample, Qt-free: decoding it and describing a pixel of it."""

from __future__ import annotations

from typing import Any

import numpy as np

from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError
from segviewer.core.labels import LabelScheme
from segviewer.core.overlay import class_shares


def load_sample(dataset: Dataset, sample: Sample) -> dict[str, Any]:
    """Decode image and mask (on a worker thread). A bad mask is reported in "note"; a bad image raises."""
    image = dataset.load_image(sample)
    gt, note = None, None
    if sample.mask is not None:
        try:
            gt = dataset.load_mask(sample)
        except UserError as exc:
            note = str(exc)
        else:
            if gt.shape != image.shape[:2]:
                note = (
                    f"{sample.mask}: the mask is {gt.shape[1]}x{gt.shape[0]} but the image is "
                    f"{image.shape[1]}x{image.shape[0]}; replace the mask with one of the image's size"
                )
                gt = None
    return {"image": image, "gt": gt, "gt_shares": class_shares(gt) if gt is not None else None, "note": note}


def nbytes(result: dict[str, Any]) -> int:
    return sum(v.nbytes for v in result.values() if isinstance(v, np.ndarray))


def pixel_readout(
    x: int,
    y: int,
    image: np.ndarray,
    gt: np.ndarray | None,
    scheme: LabelScheme,
    pred: tuple[np.ndarray, np.ndarray] | None = None,
    pred_scheme: LabelScheme | None = None,
) -> str:
    """ "x 12, y 40 · RGB 128, 64, 128 · ground truth: road · prediction: car (87% sure)"."""
    r, g, b = (int(v) for v in image[y, x])
    parts = [f"x {x}, y {y}", f"RGB {r}, {g}, {b}"]
    if gt is not None:
        parts.append(f"ground truth: {scheme.name_of(int(gt[y, x]))}")
    if pred is not None:
        mask, confidence = pred
        name = (pred_scheme or scheme).name_of(int(mask[y, x]))
        parts.append(f"prediction: {name} ({100 * float(confidence[y, x]):.0f}% sure)")
    return "  ·  ".join(parts)
