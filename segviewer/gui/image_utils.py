"""numpy <-> QImage, colour swatches and the placeholder shown for unreadable images."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap


def to_qimage(rgb: np.ndarray) -> QImage:
    """RGB uint8 (H, W, 3) -> a QImage that owns its pixels (safe after `rgb` is gone)."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """QImage -> RGB uint8 (H, W, 3) copy; used by tests and screenshots to read what was drawn."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def swatch_icon(color: tuple[int, int, int], size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*color))
    painter = QPainter(pix)
    painter.setPen(QColor(60, 60, 60))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pix)


def placeholder_image(width: int, height: int, message: str) -> np.ndarray:
    """A grey picture with `message` written in the middle: what the viewer shows for a broken file."""
    width, height = max(width, 320), max(height, 180)
    image = QImage(width, height, QImage.Format.Format_RGB888)
    image.fill(QColor(110, 110, 110))
    painter = QPainter(image)
    painter.setPen(QColor(245, 245, 245))
    font = QFont()
    font.setPointSize(max(9, min(16, width // 50)))
    painter.setFont(font)
    margin = width // 12
    painter.drawText(
        QRect(margin, 0, width - 2 * margin, height),
        Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
        message,
    )
    painter.end()
    return qimage_to_array(image)
