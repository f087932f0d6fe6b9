"""Composing what the viewer shows, in numpy: palette lookup + alpha blend, done once per change.

Qt-free on purpose: the viewer converts the result to a QImage once, and the benchmarks and tests can
call these functions directly.
"""

from __future__ import annotations

import cv2
import numpy as np

MODES = ("image", "gt", "prediction", "side", "error")
MODE_TITLES = {
    "image": "Image",
    "gt": "Ground truth",
    "prediction": "Prediction",
    "side": "Side by side",
    "error": "Error map",
}

# Error map colours: clearly different for every common colour-vision type (green/red differ in lightness).
ERROR_COLORS = {
    "correct": (40, 200, 90),
    "wrong": (230, 30, 40),
    "ignored": (150, 150, 150),
}
SIDE_GAP = 8  # pixels between the two halves of the side-by-side view
GAP_COLOR = (40, 40, 40)


def _lut3(values: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (H, W, 3) colours through a (256, 3) palette; cv2.LUT is ~10x faster than fancy indexing."""
    three = cv2.merge([values, values, values])
    return cv2.LUT(three, np.ascontiguousarray(palette, np.uint8).reshape(1, 256, 3))


def blend(
    image: np.ndarray, labels: np.ndarray, palette: np.ndarray, alpha: float, drawn: np.ndarray
) -> np.ndarray:
    """Image with `palette[labels]` blended at `alpha` where `drawn[labels]` is True, the bare image elsewhere.

    `drawn` is a (256,) bool table: hidden classes and the ignore index are False.
    """
    if labels.shape != image.shape[:2]:
        return image.copy()
    alpha = float(np.clip(alpha, 0.0, 1.0))
    colours = _lut3(labels, palette)
    out = cv2.addWeighted(image, 1.0 - alpha, colours, alpha, 0.0)
    keep = cv2.LUT(labels, np.where(drawn, 0, 255).astype(np.uint8))  # 255 where the image shows through
    if keep.any():
        cv2.copyTo(image, keep, out)
    return out


def error_codes(gt: np.ndarray, pred: np.ndarray, ignore_index: int) -> np.ndarray:
    """(H, W) uint8: 0 correct, 1 wrong, 2 ignored (no ground truth there)."""
    codes = (gt != pred).view(np.uint8).copy()
    codes[gt == ignore_index] = 2
    return codes


def error_palette() -> np.ndarray:
    pal = np.zeros((256, 3), np.uint8)
    pal[0], pal[1], pal[2] = ERROR_COLORS["correct"], ERROR_COLORS["wrong"], ERROR_COLORS["ignored"]
    return pal


def compose(
    image: np.ndarray,
    gt: np.ndarray | None,
    pred: np.ndarray | None,
    mode: str,
    palette: np.ndarray,
    alpha: float,
    drawn: np.ndarray,
    ignore_index: int,
    stacked: bool = False,
) -> np.ndarray:
    """The RGB picture for `mode`; falls back to the bare image when the needed mask is missing.

    Side by side puts ground truth left and prediction right, or above and below when `stacked`.
    """
    if mode == "gt" and gt is not None:
        return blend(image, gt, palette, alpha, drawn)
    if mode == "prediction" and pred is not None:
        return blend(image, pred, palette, alpha, drawn)
    if mode == "error" and gt is not None and pred is not None and gt.shape == pred.shape:
        codes = error_codes(gt, pred, ignore_index)
        shown = np.ones(256, bool)
        out = blend(image, codes, error_palette(), alpha, shown)
        hidden = ~drawn
        hidden[ignore_index] = False  # ignored pixels stay grey: the legend promises it
        if hidden.any():
            keep = cv2.LUT(gt, np.where(hidden, 255, 0).astype(np.uint8))
            cv2.copyTo(image, keep, out)
        return out
    if mode == "side":
        left = blend(image, gt, palette, alpha, drawn) if gt is not None else image
        right = blend(image, pred, palette, alpha, drawn) if pred is not None else image
        h, w = image.shape[:2]
        if stacked:
            out = np.empty((2 * h + SIDE_GAP, w, 3), np.uint8)
            out[:h], out[h : h + SIDE_GAP], out[h + SIDE_GAP :] = left, GAP_COLOR, right
        else:
            out = np.empty((h, 2 * w + SIDE_GAP, 3), np.uint8)
            out[:, :w], out[:, w : w + SIDE_GAP], out[:, w + SIDE_GAP :] = left, GAP_COLOR, right
        return out
    return image


def stack_side_by_side(view_w: int, view_h: int, width: int, height: int) -> bool:
    """True when the two halves show larger one above the other than next to each other."""
    beside = min(view_w / (2 * width + SIDE_GAP), view_h / height)
    stacked = min(view_w / width, view_h / (2 * height + SIDE_GAP))
    return stacked > beside


def source_pixel(
    x: int, y: int, mode: str, width: int, height: int, stacked: bool = False
) -> tuple[int, int] | None:
    """Map a pixel of the composed picture back to the image; None over the gap or outside."""
    if mode == "side" and stacked and y >= height:
        y -= height + SIDE_GAP
    elif mode == "side" and not stacked and x >= width:
        x -= width + SIDE_GAP
    if 0 <= x < width and 0 <= y < height:
        return x, y
    return None


def class_shares(labels: np.ndarray | None) -> np.ndarray:
    """(256,) float: fraction of the image's pixels holding each value (0 when `labels` is None)."""
    if labels is None or labels.size == 0:
        return np.zeros(256)
    return np.bincount(labels.ravel(), minlength=256)[:256] / labels.size
