"""The ground-truth overlay while a mask is edited: a scene item that repaints only what a tool changed.

The item keeps the blended picture (image + class colours) as a QImage over its own numpy buffer. After a
brush dab only the dab's rectangle is blended again (a palette lookup of that region, no np.unique or
full-mask pass) and only that rectangle of the viewport is asked to repaint: what napari does for its
labels layer. A full recompose happens only when the picture itself changes (sample, opacity, palette,
hidden classes).
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from segviewer.core.editing import Rect
from segviewer.core.overlay import blend


class EditLayer(QGraphicsItem):
    """Draws `palette[mask]` over `image` at `alpha` where `drawn[mask]`, from a buffer kept up to date."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)  # exposedRect
        self.setZValue(1)  # above the viewer's own picture
        self._image: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._palette = np.zeros((256, 3), np.uint8)
        self._drawn = np.ones(256, bool)
        self._alpha = 0.5
        self._bgra = np.zeros((1, 1, 4), np.uint8)
        self._qimage = QImage()

    # --- content ---------------------------------------------------------------------------------
    def set_content(
        self, image: np.ndarray, mask: np.ndarray, palette: np.ndarray, alpha: float, drawn: np.ndarray
    ) -> None:
        """Show `mask` (read live: the layer never copies it) over `image`; recomposes everything."""
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask {mask.shape} and image {image.shape[:2]} differ in size")
        size_changed = self._image is None or self._image.shape != image.shape
        self._image, self._mask = image, mask
        self._palette = np.ascontiguousarray(palette, np.uint8)
        self._drawn, self._alpha = drawn.copy(), float(alpha)
        h, w = mask.shape
        if size_changed:
            self.prepareGeometryChange()
            self._bgra = np.empty((h, w, 4), np.uint8)
            # Format_RGB32 is 0xffRRGGBB, B-G-R-A bytes in memory: the raster engine draws it without conversion
            self._qimage = QImage(self._bgra.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        self._compose(Rect(0, 0, w, h))
        self.update()

    def refresh(self, rect: Rect) -> None:
        """The mask changed inside `rect`: blend that part again and repaint only it."""
        if self._mask is None or rect.empty:
            return
        rect = rect.clip(self._mask.shape[1], self._mask.shape[0])
        self._compose(rect)
        self.update(QRectF(rect.x0, rect.y0, rect.width, rect.height))

    def picture(self) -> np.ndarray:
        """The RGB picture the layer draws (a copy; for tests and screenshots)."""
        return cv2.cvtColor(self._bgra, cv2.COLOR_BGRA2RGB)

    def _compose(self, rect: Rect) -> None:
        if self._image is None or self._mask is None or rect.empty:
            return
        ys, xs = rect.slices()
        rgb = blend(self._image[ys, xs], self._mask[ys, xs], self._palette, self._alpha, self._drawn)
        self._bgra[ys, xs] = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)

    # --- QGraphicsItem ---------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._mask is None:
            return QRectF()
        h, w = self._mask.shape
        return QRectF(0, 0, w, h)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._qimage.isNull():
            return
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if not exposed.isEmpty():
            painter.drawImage(exposed, self._qimage, exposed)
