"""The augmentations pane's picture grid: equal tiles, each scaled to fit and captioned with its seed."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from segviewer.gui.image_utils import to_qimage

NO_SAMPLE_TEXT = "Select an image in the data set list to preview augmentations"


class PreviewGrid(QWidget):
    """Tiles of equal size, each scaled to fit and captioned, laid out in `columns` columns."""

    def __init__(self, columns: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self._images: list = []  # QImage per tile
        self._captions: list[str] = []
        self._empty_text = NO_SAMPLE_TEXT
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_tiles(self, pictures: list[np.ndarray], captions: list[str]) -> None:
        self._images = [to_qimage(p) for p in pictures]
        self._captions = list(captions)
        self.update()

    def set_empty_text(self, text: str) -> None:
        self._images, self._captions, self._empty_text = [], [], text
        self.update()

    def tile_count(self) -> int:
        return len(self._images)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(45, 45, 48))
        if not self._images:
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._empty_text
            )
            return
        gap, caption_h = 6, painter.fontMetrics().height() + 2
        cols = min(self.columns, len(self._images))
        rows = math.ceil(len(self._images) / cols)
        aspect = self._images[0].height() / max(1, self._images[0].width())
        tile_w = (self.width() - gap * (cols + 1)) / cols
        tile_w = min(tile_w, ((self.height() - gap * (rows + 1)) / rows - caption_h) / aspect)
        tile_w, tile_h = max(8, int(tile_w)), max(8, int(tile_w * aspect))
        left = (self.width() - cols * tile_w - (cols - 1) * gap) // 2
        top = (self.height() - rows * (tile_h + caption_h) - (rows - 1) * gap) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setPen(QColor(225, 225, 225))
        for i, image in enumerate(self._images):
            r, c = divmod(i, cols)
            x, y = left + c * (tile_w + gap), top + r * (tile_h + caption_h + gap)
            painter.drawImage(QRect(x, y, tile_w, tile_h), image)
            caption = QRect(x, y + tile_h, tile_w, caption_h)
            painter.drawText(
                caption, Qt.AlignmentFlag.AlignCenter, self._captions[i] if i < len(self._captions) else ""
            )
