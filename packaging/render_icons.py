"""Render resources/icons/segviewer.svg to the PNG sizes of the hicolor icon theme.

QtSvg implements SVG Tiny, which ignores clipPath, so the rounded corners are clipped here.
Run: QT_QPA_PLATFORM=offscreen python packaging/render_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPainterPath
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> None:
    app = QGuiApplication([])  # noqa: F841 - needed for QPainter
    renderer = QSvgRenderer(str(ICONS / "segviewer.svg"))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scale = size / 256
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(8 * scale, 8 * scale, 240 * scale, 240 * scale), 44 * scale, 44 * scale)
        painter.setClipPath(clip)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"segviewer-{size}.png"))


if __name__ == "__main__":
    main()
