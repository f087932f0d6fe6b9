"""The augmentations pane's preview work, without widgets: the shrunken sample, the job the worker thread
runs for one grid of previews, the mask overlay drawn over the results and the caption above them."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from segviewer.core.augment import TRANSFORM_TITLES, Preset, TransformSpec, apply_single, preview_grid
from segviewer.core.overlay import blend

PREVIEW_MAX_WIDTH = 640  # previews are small tiles: augmenting a smaller copy keeps them quick

Pairs = list[tuple[np.ndarray, np.ndarray | None]]  # (augmented image, augmented mask or None)


def shrink_for_preview(
    image: np.ndarray | None, mask: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The pair at most PREVIEW_MAX_WIDTH wide (the mask resized without mixing ids); a mask of the wrong
    size is dropped."""
    if image is not None and image.shape[1] > PREVIEW_MAX_WIDTH:
        scale = PREVIEW_MAX_WIDTH / image.shape[1]
        size = (PREVIEW_MAX_WIDTH, max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    if mask is not None and image is not None and mask.shape != image.shape[:2]:
        mask = None  # a mask of the wrong size: the viewer already says so
    return image, mask


def preview_job(
    image: np.ndarray,
    mask: np.ndarray | None,
    seed: int,
    count: int,
    ignore_index: int,
    preset: Preset | None = None,
    solo: str | None = None,
    strength: float = 0.0,
) -> Callable[[], Pairs]:
    """The work for one grid: `count` augmented pairs for seeds seed, seed + 1, … — through `preset`, or
    with `solo` only that transform, always applied at `strength`."""
    if solo is not None:
        return lambda: [
            apply_single(solo, image, mask, strength, seed + i, ignore_index) for i in range(count)
        ]
    return lambda: preview_grid(image, mask, preset, count, seed, ignore_index)


def overlay_masks(results: Pairs, palette: np.ndarray, alpha: float, ignore_index: int) -> list[np.ndarray]:
    """Each augmented picture with its mask blended over it at `alpha`; the ignore class is not drawn."""
    drawn = np.ones(256, bool)
    drawn[ignore_index] = False
    return [blend(im, m, palette, alpha, drawn) if m is not None else im for im, m in results]


def grid_caption(
    count: int, sample_name: str, preset_title: str, specs: list[TransformSpec], solo: str | None
) -> str:
    """The line above the grid: which transforms made the pictures, of which image."""
    what = sample_name or "this image"
    if solo is not None:
        strength = next(spec.strength for spec in specs if spec.name == solo)
        return (
            f"<b>{TRANSFORM_TITLES.get(solo, solo)}</b> alone, always applied, at strength "
            f"{strength:.0%}, on {what}"
        )
    active = sum(1 for spec in specs if spec.enabled and spec.p > 0)
    return (
        f"{count} random versions of {what} as training may see them "
        f"(preset <b>{preset_title}</b>, {active} transforms on)"
    )


def import_albumentations() -> None:
    """albumentations imports for ~1.5 s; doing it in the worker would hold the GIL and freeze the UI
    anyway, so it happens on the UI thread, once, before the first preview."""
    import os

    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations  # noqa: F401
