"""A confusion-matrix heatmap: which class the model predicts for each ground-truth class.

Painted by hand (a QWidget, no plotting library) so the class names, the per-row percentages and the
hover tooltips are exactly where a reader expects them. Rows are ground truth, columns prediction,
each row normalised to 100 % of that class's pixels. Classes that appear in neither the ground truth
nor the predictions are left out by default, so 19-class matrices of small data sets stay readable.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

# White (0 %) to dark blue (100 %): ordered in lightness, readable for every colour-vision type.
_LOW = np.array([247, 251, 255], np.float64)
_HIGH = np.array([8, 48, 107], np.float64)
_EMPTY_ROW = QColor(235, 235, 235)
_SWATCH = 10
_MARGIN = 6


def heat_color(fraction: float) -> QColor:
    """The cell colour for a row share in 0..1 (a gamma keeps small confusions visible)."""
    t = float(np.clip(fraction, 0.0, 1.0)) ** 0.5
    r, g, b = (_LOW + (_HIGH - _LOW) * t).round().astype(int)
    return QColor(int(r), int(g), int(b))


class ConfusionMatrixView(QWidget):
    """Heatmap of a (n, n) count matrix; `cell_clicked(gt_id, pred_id)` reports a click on a cell."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._counts = np.zeros((0, 0), np.int64)
        self._names: list[str] = []
        self._colors: list[tuple[int, int, int]] = []
        self._shown: list[int] = []  # class ids drawn, in order
        self._hide_empty = True
        self._selected: tuple[int, int] | None = None
        self._title = ""

    # --- data ------------------------------------------------------------------------------------
    def set_matrix(
        self,
        counts: np.ndarray,
        names: list[str],
        colors: list[tuple[int, int, int]],
        title: str = "",
    ) -> None:
        """Show `counts` (rows ground truth, columns prediction) with one name and colour per class."""
        counts = np.asarray(counts, np.int64)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(names):
            raise ValueError(f"need an (n, n) matrix for {len(names)} classes, got shape {counts.shape}")
        self._counts, self._names, self._colors, self._title = counts, list(names), list(colors), title
        self._selected = None
        self._update_shown()

    def clear(self) -> None:
        self.set_matrix(np.zeros((0, 0), np.int64), [], [])

    def set_hide_empty(self, hide: bool) -> None:
        """Leave out classes with no ground-truth and no predicted pixels."""
        self._hide_empty = bool(hide)
        self._update_shown()

    def shown_classes(self) -> list[int]:
        return list(self._shown)

    def row_fractions(self) -> np.ndarray:
        """(n, n) share of each ground-truth row (NaN for classes without ground-truth pixels)."""
        totals = self._counts.sum(axis=1, keepdims=True).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(totals > 0, self._counts / totals, np.nan)

    def _update_shown(self) -> None:
        n = len(self._names)
        if self._hide_empty and n:
            used = (self._counts.sum(axis=0) + self._counts.sum(axis=1)) > 0
            self._shown = [i for i in range(n) if used[i]]
        else:
            self._shown = list(range(n))
        self.updateGeometry()
        self.update()

    # --- geometry --------------------------------------------------------------------------------
    def _label_width(self, metrics: QFontMetrics) -> int:
        widest = max((metrics.horizontalAdvance(self._names[i]) for i in self._shown), default=0)
        return widest + _SWATCH + 3 * _MARGIN

    def _layout(self, width: int, height: int) -> tuple[int, int, int]:
        """(left, top, cell size) of the grid inside a width x height area."""
        metrics = QFontMetrics(self.font())
        left = self._label_width(metrics) + metrics.height()  # room for the "ground truth" axis title
        top = self._label_width(metrics) + 2 * metrics.height() + (metrics.height() if self._title else 0)
        n = max(1, len(self._shown))
        cell = max(6, min((width - left - _MARGIN) // n, (height - top - _MARGIN) // n, 56))
        return left, top, cell

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        metrics = QFontMetrics(self.font())
        extra = self._label_width(metrics) + 3 * metrics.height() + _MARGIN
        n = max(1, len(self._shown))
        return QSize(extra + 30 * n, extra + 30 * n)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(200, 200)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """(ground-truth id, predicted id) under a widget position, None outside the grid."""
        if not self._shown:
            return None
        left, top, cell = self._layout(self.width(), self.height())
        col, row = (pos.x() - left) // cell, (pos.y() - top) // cell
        n = len(self._shown)
        if pos.x() < left or pos.y() < top or not (0 <= row < n and 0 <= col < n):
            return None
        return self._shown[row], self._shown[col]

    def cell_rect(self, gt_id: int, pred_id: int) -> QRect:
        """Where a cell is drawn (tests click its centre)."""
        left, top, cell = self._layout(self.width(), self.height())
        row, col = self._shown.index(gt_id), self._shown.index(pred_id)
        return QRect(left + col * cell, top + row * cell, cell, cell)

    # --- text ------------------------------------------------------------------------------------
    def cell_tooltip(self, gt_id: int, pred_id: int) -> str:
        count = int(self._counts[gt_id, pred_id])
        total = int(self._counts[gt_id].sum())
        share = f"{100 * count / total:.1f} %" if total else "no pixels"
        gt, pred = self._names[gt_id], self._names[pred_id]
        if gt_id == pred_id:
            head = f"{gt}: predicted correctly"
        else:
            head = f"{gt} predicted as {pred}"
        lines = [head, f"{count:,} pixels = {share} of the {total:,} {gt} pixels"]
        if gt_id != pred_id and count:
            lines.append("Click to list the images with the most of these pixels")
        return "\n".join(lines)

    # --- events ----------------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        hit = self.cell_at(event.position().toPoint())
        if hit is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.cell_tooltip(*hit), self)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        hit = self.cell_at(event.position().toPoint())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self._selected = hit
            self.update()
            self.cell_clicked.emit(*hit)
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        self._paint(painter, self.width(), self.height())
        painter.end()

    # --- drawing ---------------------------------------------------------------------------------
    def render_image(self, cell: int = 34) -> QImage:
        """The matrix as a picture at a readable size, independent of the widget's size (PNG export)."""
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.0))
        metrics = QFontMetrics(font)
        n = max(1, len(self._shown))
        label = self._label_width(metrics)
        note = "Numbers: % of each ground-truth class's pixels (each row adds up to 100)"
        width = max(
            label + metrics.height() + n * cell + _MARGIN, metrics.horizontalAdvance(note) + 2 * _MARGIN
        )
        grid_height = label + 3 * metrics.height() + n * cell + _MARGIN
        image = QImage(width, grid_height + 2 * metrics.height(), QImage.Format.Format_RGB32)
        image.fill(QColor(255, 255, 255))
        painter = QPainter(image)
        painter.setFont(font)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        selected, self._selected = self._selected, None  # the click highlight is not part of the figure
        try:
            self._paint(painter, width, grid_height)
        finally:
            self._selected = selected
        painter.setPen(QColor(70, 70, 70))
        painter.drawText(
            QRect(_MARGIN, grid_height, width, 2 * metrics.height()), Qt.AlignmentFlag.AlignVCenter, note
        )
        painter.end()
        return image

    def _paint(self, painter: QPainter, width: int, height: int) -> None:
        metrics = QFontMetrics(painter.font())
        if not self._shown:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(QRect(0, 0, width, height), Qt.AlignmentFlag.AlignCenter, "No evaluation yet")
            return
        left, top, cell = self._layout(width, height)
        n = len(self._shown)
        fractions = self.row_fractions()
        text_color = QColor(30, 30, 30)
        if self._title:
            painter.setPen(text_color)
            painter.drawText(QRect(0, 0, width, metrics.height()), Qt.AlignmentFlag.AlignLeft, self._title)
        show_numbers = cell >= metrics.horizontalAdvance("100") + 4
        for r, gt_id in enumerate(self._shown):
            for c, pred_id in enumerate(self._shown):
                rect = QRect(left + c * cell, top + r * cell, cell, cell)
                share = fractions[gt_id, pred_id]
                painter.fillRect(rect, _EMPTY_ROW if np.isnan(share) else heat_color(share))
                if show_numbers and not np.isnan(share) and share >= 0.005:
                    painter.setPen(QColor(255, 255, 255) if share > 0.35 else text_color)
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{100 * share:.0f}")
        grid = QPen(QColor(200, 200, 200))
        painter.setPen(grid)
        for i in range(n + 1):
            painter.drawLine(left, top + i * cell, left + n * cell, top + i * cell)
            painter.drawLine(left + i * cell, top, left + i * cell, top + n * cell)
        painter.setPen(QPen(QColor(90, 90, 90), 1))
        for i in range(n):  # the diagonal (correct pixels) framed so it reads at a glance
            painter.drawRect(QRect(left + i * cell, top + i * cell, cell, cell))
        if (
            self._selected is not None
            and self._selected[0] in self._shown
            and self._selected[1] in self._shown
        ):
            r, c = self._shown.index(self._selected[0]), self._shown.index(self._selected[1])
            painter.setPen(QPen(QColor(230, 120, 0), 3))
            painter.drawRect(QRect(left + c * cell + 1, top + r * cell + 1, cell - 2, cell - 2))
        self._paint_labels(painter, metrics, left, top, cell)

    def _paint_labels(self, painter: QPainter, metrics: QFontMetrics, left: int, top: int, cell: int) -> None:
        text_color = QColor(30, 30, 30)
        n = len(self._shown)
        axis = metrics.height()
        # Rows: ground truth, names right-aligned next to the grid with a colour swatch.
        for r, class_id in enumerate(self._shown):
            y = top + r * cell
            swatch = QRect(left - _MARGIN - _SWATCH, y + (cell - _SWATCH) // 2, _SWATCH, _SWATCH)
            painter.fillRect(swatch, QColor(*self._colors[class_id]))
            painter.setPen(QColor(90, 90, 90))
            painter.drawRect(swatch)
            painter.setPen(text_color)
            text_rect = QRect(axis, y, left - axis - 2 * _MARGIN - _SWATCH, cell)
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self._names[class_id]
            )
        # Columns: prediction, names written upwards above the grid.
        for c, class_id in enumerate(self._shown):
            x = left + c * cell
            swatch = QRect(x + (cell - _SWATCH) // 2, top - _MARGIN - _SWATCH, _SWATCH, _SWATCH)
            painter.fillRect(swatch, QColor(*self._colors[class_id]))
            painter.setPen(QColor(90, 90, 90))
            painter.drawRect(swatch)
            painter.setPen(text_color)
            painter.save()
            painter.translate(x + cell // 2 + metrics.ascent() // 2 - 1, top - 2 * _MARGIN - _SWATCH)
            painter.rotate(-90)
            painter.drawText(0, 0, self._names[class_id])
            painter.restore()
        painter.save()
        bold = QFont(painter.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text_color)
        title_h = axis if self._title else 0
        painter.drawText(
            QRect(left, title_h + axis // 2, n * cell, axis),
            Qt.AlignmentFlag.AlignCenter,
            "Predicted as",
        )
        painter.save()
        painter.translate(0, top + n * cell)
        painter.rotate(-90)
        painter.drawText(QRect(0, 0, n * cell, axis), Qt.AlignmentFlag.AlignCenter, "Ground truth")
        painter.restore()
        painter.restore()
