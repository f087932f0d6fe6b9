"""Editing one mask: brush, eraser, fills, polygons and model-assisted tools, with per-stroke undo.

Qt-free, so the GUI, the benchmark and the tests share one implementation. Every tool returns the
`Rect` it changed (empty when nothing changed), so a view repaints only that part of its overlay.

Decisions:
- The eraser paints the scheme's ignore index ("no label here"), the value the training loss skips.
  Going back to the original labels is what undo is for; an eraser that restored the original would
  silently bring back the very labels a correction removes.
- "Only overwrite" is a (256,) table of the classes a tool may replace. Pixels of any other class keep
  their value under every tool (for example: never paint over ignored pixels).
- History is per stroke: `begin_stroke()` ... `end_stroke()` group the changes of one mouse drag (a
  single fill or polygon is its own stroke). Each step keeps only the 64x64 tiles it changed, as their
  contents before the step; undo swaps those tiles with the mask, so the same bytes serve redo. The
  history is bounded in bytes: the oldest steps are dropped first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

TILE = 64
HISTORY_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle, `x0 <= x < x1`, `y0 <= y < y1`; empty when it holds no pixel."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    def slices(self) -> tuple[slice, slice]:
        """`array[rect.slices()]` is the rectangle's part of an (H, W, ...) array."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: Rect) -> Rect:
        if self.empty:
            return other
        if other.empty:
            return self
        return Rect(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def clip(self, width: int, height: int) -> Rect:
        return Rect(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))


EMPTY = Rect(0, 0, 0, 0)


def _bounds(points: np.ndarray, pad: int, width: int, height: int) -> Rect:
    lo = np.floor(points.min(axis=0)).astype(int) - pad
    hi = np.ceil(points.max(axis=0)).astype(int) + pad + 1
    return Rect(int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])).clip(width, height)


def _polygon_region(
    points: Sequence[tuple[float, float]], width: int, height: int
) -> tuple[Rect, np.ndarray]:
    """The pixels inside a closed polygon, as (bounding rect, bool array of that rect)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return EMPTY, np.zeros((0, 0), bool)
    rect = _bounds(pts, 0, width, height)
    if rect.empty:
        return EMPTY, np.zeros((0, 0), bool)
    canvas = np.zeros((rect.height, rect.width), np.uint8)
    local = np.round(pts - (rect.x0, rect.y0)).astype(np.int32)
    cv2.fillPoly(canvas, [local], 1)
    return rect, canvas.view(bool)


def _connected_region(labels: np.ndarray, x: int, y: int) -> tuple[Rect, np.ndarray]:
    """The 4-connected pixels of `labels` holding the value at (x, y): (bounding rect, bool array)."""
    h, w = labels.shape
    fill = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | (1 << 8) | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(np.ascontiguousarray(labels), fill, (x, y), 0, 0, 0, flags)
    rect = Rect(rx, ry, rx + rw, ry + rh)
    return rect, fill[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].view(bool)


class EditSession:
    """One mask being edited. `mask` is the session's own copy; the caller's array is never changed."""

    def __init__(
        self,
        mask: np.ndarray,
        ignore_index: int = 255,
        *,
        history_bytes: int = HISTORY_BYTES,
        tile: int = TILE,
    ) -> None:
        if mask.ndim != 2 or mask.dtype != np.uint8:
            raise ValueError(f"an edit session needs an (H, W) uint8 mask, got {mask.shape} {mask.dtype}")
        self.mask = np.array(mask, np.uint8, copy=True, order="C")
        self.ignore_index = int(ignore_index)
        self.history_bytes = int(history_bytes)
        self.tile = int(tile)
        self.overwritable = np.ones(256, bool)
        self._undo: deque[dict[tuple[int, int], np.ndarray]] = deque()
        self._redo: list[dict[tuple[int, int], np.ndarray]] = []
        self._stroke: dict[tuple[int, int], np.ndarray] | None = None
        self._history_used = 0
        self._changes = 0  # steps applied minus steps undone, relative to the start or the last save
        self._counts = np.bincount(self.mask.ravel(), minlength=256).astype(np.int64)  # kept up to date

    # --- state -----------------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.mask.shape[0]

    @property
    def width(self) -> int:
        return self.mask.shape[1]

    @property
    def modified(self) -> bool:
        """True while the mask differs (by history) from how it started or was last marked saved."""
        return self._changes != 0

    def mark_saved(self) -> None:
        self._changes = 0

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def history_nbytes(self) -> int:
        """Bytes the undo and redo steps hold (the bound applies to this)."""
        return self._history_used

    def set_only_overwrite(self, classes: Iterable[int] | None) -> None:
        """Let tools replace only pixels of `classes`; None lets them replace every value."""
        table = np.ones(256, bool)
        if classes is not None:
            table[:] = False
            table[[int(c) for c in classes]] = True
        self.overwritable = table

    def class_shares(self) -> np.ndarray:
        """(256,) fraction of the mask's pixels per value, kept up to date per change (no full pass)."""
        return self._counts / self.mask.size

    def pick(self, x: int, y: int) -> int:
        """The class under (x, y): the picker tool."""
        return int(self.mask[int(y), int(x)])

    # --- strokes and history -----------------------------------------------------------------
    def begin_stroke(self) -> None:
        """Start an undo step; every change until `end_stroke()` is undone together."""
        if self._stroke is None:
            self._stroke = {}

    def end_stroke(self) -> None:
        """Close the undo step, keeping only the tiles whose pixels actually changed."""
        stroke, self._stroke = self._stroke, None
        if not stroke:
            return
        changed = {
            key: before for key, before in stroke.items() if not np.array_equal(before, self._tile(key))
        }
        if not changed:
            return
        self._drop_redo()
        self._undo.append(changed)
        self._history_used += sum(t.nbytes for t in changed.values())
        self._changes += 1
        while self._history_used > self.history_bytes and len(self._undo) > 1:  # the newest step stays
            self._history_used -= sum(t.nbytes for t in self._undo.popleft().values())

    def undo(self) -> Rect:
        """Undo the last stroke; returns the changed rect (empty when there was nothing to undo)."""
        self.end_stroke()
        if not self._undo:
            return EMPTY
        step = self._undo.pop()
        self._redo.append(step)
        self._changes -= 1
        return self._swap(step)

    def redo(self) -> Rect:
        self.end_stroke()
        if not self._redo:
            return EMPTY
        step = self._redo.pop()
        self._undo.append(step)
        self._changes += 1
        return self._swap(step)

    def _drop_redo(self) -> None:
        for step in self._redo:
            self._history_used -= sum(t.nbytes for t in step.values())
        self._redo.clear()

    def _tile_rect(self, key: tuple[int, int]) -> Rect:
        ty, tx = key
        t = self.tile
        return Rect(tx * t, ty * t, min(self.width, (tx + 1) * t), min(self.height, (ty + 1) * t))

    def _tile(self, key: tuple[int, int]) -> np.ndarray:
        return self.mask[self._tile_rect(key).slices()]

    def _swap(self, step: dict[tuple[int, int], np.ndarray]) -> Rect:
        dirty = EMPTY
        for key, saved in step.items():
            region = self._tile(key)
            current = region.copy()
            self._count(current, -1)
            self._count(saved, 1)
            region[...] = saved
            saved[...] = current
            dirty = dirty.union(self._tile_rect(key))
        return dirty

    def _count(self, values: np.ndarray, sign: int) -> None:
        self._counts += sign * np.bincount(values.ravel(), minlength=256)

    def _remember(self, rect: Rect) -> None:
        """Keep the 'before' copy of each tile under `rect` the first time this stroke touches it."""
        t = self.tile
        for ty in range(rect.y0 // t, (rect.y1 - 1) // t + 1):
            for tx in range(rect.x0 // t, (rect.x1 - 1) // t + 1):
                if (ty, tx) not in self._stroke:
                    self._stroke[(ty, tx)] = self._tile((ty, tx)).copy()

    def _apply(self, rect: Rect, region: np.ndarray, values: np.ndarray | int) -> Rect:
        """Write `values` where `region` (a bool array of `rect`) is set and the old class may be replaced."""
        if rect.empty:
            return EMPTY
        target = self.mask[rect.slices()]
        allowed = region & self.overwritable[target]
        new = np.asarray(values, np.uint8)
        change = allowed & (target != new)
        if not change.any():
            return EMPTY
        ys, xs = np.nonzero(change.any(axis=1))[0], np.nonzero(change.any(axis=0))[0]
        tight = Rect(
            rect.x0 + int(xs[0]), rect.y0 + int(ys[0]), rect.x0 + int(xs[-1]) + 1, rect.y0 + int(ys[-1]) + 1
        )
        own_stroke = self._stroke is None
        self.begin_stroke()
        self._remember(tight)
        self._count(target[change], -1)
        if new.ndim == 0:
            target[change] = new
        else:
            np.copyto(target, new, where=change)
        self._count(target[change], 1)
        if own_stroke:
            self.end_stroke()
        return tight

    # --- tools -----------------------------------------------------------------------------------
    def brush(self, p0: tuple[float, float], p1: tuple[float, float], size: int, value: int) -> Rect:
        """Paint `value` with a disk of diameter `size` swept from p0 to p1 (one segment of a stroke)."""
        radius = max(0, int(size) // 2)
        pts = np.array([p0, p1], np.float64)
        rect = _bounds(pts, radius, self.width, self.height)
        if rect.empty:
            return EMPTY
        canvas = np.zeros((rect.height, rect.width), np.uint8)
        a = tuple(int(v) for v in np.round(pts[0] - (rect.x0, rect.y0)))
        b = tuple(int(v) for v in np.round(pts[1] - (rect.x0, rect.y0)))
        cv2.circle(canvas, a, radius, 1, -1)
        cv2.circle(canvas, b, radius, 1, -1)
        if a != b:
            cv2.line(canvas, a, b, 1, 2 * radius + 1)
        return self._apply(rect, canvas.view(bool), int(value))

    def erase(self, p0: tuple[float, float], p1: tuple[float, float], size: int) -> Rect:
        """The eraser: paint the ignore index (see the module docstring for why not the original)."""
        return self.brush(p0, p1, size, self.ignore_index)

    def flood_fill(self, x: int, y: int, value: int) -> Rect:
        """Replace the 4-connected region of the class under (x, y) with `value`."""
        if not self._inside(x, y):
            return EMPTY
        rect, region = _connected_region(self.mask, int(x), int(y))
        return self._apply(rect, region, int(value))

    def polygon(self, points: Sequence[tuple[float, float]], value: int) -> Rect:
        """Fill a closed polygon (image pixel coordinates) with `value`."""
        rect, region = _polygon_region(points, self.width, self.height)
        return self._apply(rect, region, int(value))

    def accept_prediction_rect(self, prediction: np.ndarray, rect: Rect) -> Rect:
        """Copy the prediction into the mask inside `rect`."""
        self._check_prediction(prediction)
        rect = Rect(
            min(rect.x0, rect.x1), min(rect.y0, rect.y1), max(rect.x0, rect.x1), max(rect.y0, rect.y1)
        )
        rect = rect.clip(self.width, self.height)
        if rect.empty:
            return EMPTY
        region = np.ones((rect.height, rect.width), bool)
        return self._apply(rect, region, prediction[rect.slices()])

    def accept_prediction_lasso(self, prediction: np.ndarray, points: Sequence[tuple[float, float]]) -> Rect:
        """Copy the prediction into the mask inside a closed lasso."""
        self._check_prediction(prediction)
        rect, region = _polygon_region(points, self.width, self.height)
        if rect.empty:
            return EMPTY
        return self._apply(rect, region, prediction[rect.slices()])

    def fill_from_prediction(self, prediction: np.ndarray, x: int, y: int) -> Rect:
        """Give the connected region of the predicted class under (x, y) that class in the mask."""
        self._check_prediction(prediction)
        if not self._inside(x, y):
            return EMPTY
        rect, region = _connected_region(prediction, int(x), int(y))
        return self._apply(rect, region, int(prediction[int(y), int(x)]))

    def _inside(self, x: float, y: float) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def _check_prediction(self, prediction: np.ndarray) -> None:
        if prediction.shape != self.mask.shape:
            raise ValueError(
                f"the prediction is {prediction.shape[1]}x{prediction.shape[0]} but the mask is "
                f"{self.width}x{self.height}"
            )
