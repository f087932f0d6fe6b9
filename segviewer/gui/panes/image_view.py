"""A zoomable, pannable picture: wheel zooms under the cursor, dragging pans, fit and 1:1 on request."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

MIN_SCALE, MAX_SCALE = 0.02, 40.0


class ImageView(QGraphicsView):
    """Shows one QImage; `hovered(x, y)` gives the picture pixel under the mouse, (-1, -1) outside it."""

    hovered = Signal(int, int)
    zoom_changed = Signal(float)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(
            Qt.TransformationMode.FastTransformation
        )  # crisp pixels when zoomed in
        self.scene().addItem(self._item)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setMouseTracking(True)
        self._fit = True
        self._last = (-1, -1)

    def add_layer(self, item: QGraphicsItem) -> None:
        """Draw `item` above the picture, in the picture's pixel coordinates (an edit or review layer)."""
        item.setZValue(1 + len(self.scene().items()))
        self.scene().addItem(item)

    @property
    def fitted(self) -> bool:
        return self._fit

    def scale_factor(self) -> float:
        return self.transform().m11()

    def set_image(self, image: QImage) -> None:
        """Replace the picture; keeps the zoom when the size is unchanged, refits in fit mode."""
        old = self._item.pixmap().size()
        self._item.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(self._item.boundingRect())
        if self._fit or old != self._item.pixmap().size():
            self.fit_to_window()

    def fit_to_window(self) -> None:
        self._fit = True
        if not self._item.pixmap().isNull():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor())

    def actual_size(self) -> None:
        self._fit = False
        self.resetTransform()
        self.zoom_changed.emit(1.0)

    def zoom_by(self, factor: float) -> None:
        current = self.scale_factor()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        self._fit = False
        self.scale(factor, factor)
        self.zoom_changed.emit(self.scale_factor())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit_to_window()
        self.resized.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        self._emit_hover(self.mapToScene(event.position().toPoint()))

    def leaveEvent(self, event) -> None:  # noqa: ANN001 - QEvent
        super().leaveEvent(event)
        self._last = (-1, -1)
        self.hovered.emit(-1, -1)

    def _emit_hover(self, scene_pos: QPointF) -> None:
        pix = self._item.pixmap()
        x, y = int(scene_pos.x() // 1), int(scene_pos.y() // 1)
        if not (0 <= x < pix.width() and 0 <= y < pix.height()):
            x, y = -1, -1
        if (x, y) != self._last:
            self._last = (x, y)
            self.hovered.emit(x, y)
