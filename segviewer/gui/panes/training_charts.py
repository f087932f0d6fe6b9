"""Live training charts: loss and validation mIoU curves, and the latest per-class IoU table."""

from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

BATCH_COLOR = (150, 180, 230)
TRAIN_COLOR = (31, 119, 180)
VAL_COLOR = (230, 120, 20)
MIOU_COLOR = (44, 160, 44)
NAN_TOOLTIP = "Undefined: this class is neither in the validation masks nor in the predictions"


def _plot(left: str, legend_columns: int) -> pg.PlotWidget:
    """A white plot whose legend sits above the data (in the title row), never over the curves."""
    plot = pg.PlotWidget(background="w")
    item = plot.getPlotItem()
    item.layout.removeItem(item.titleLabel)
    item.titleLabel.hide()
    legend = pg.LegendItem(colCount=legend_columns, labelTextColor="#222", labelTextSize="9pt", verSpacing=-6)
    item.layout.addItem(legend, 0, 1, alignment=Qt.AlignmentFlag.AlignHCenter)
    item.legend = legend  # PlotItem.plot(name=...) adds named curves to it
    item.setLabel("left", left, color="#222")
    item.setLabel("bottom", "epoch", color="#222")
    # Epochs are epochs: without this, epoch 1's fractional batch positions read "epoch (x0.001)".
    item.getAxis("bottom").enableAutoSIPrefix(False)
    for axis in ("left", "bottom"):
        item.getAxis(axis).setPen(pg.mkPen("#555"))
        item.getAxis(axis).setTextPen(pg.mkPen("#333"))
    item.setMenuEnabled(False)
    item.setDownsampling(auto=True, mode="mean")
    item.setClipToView(True)
    plot.setMinimumHeight(140)
    return plot


def _marked_curve(item: pg.PlotItem, color, symbol: str, name: str) -> pg.PlotDataItem:
    """A line with a marker at each point: one point per epoch, so each epoch can be told apart."""
    return item.plot(pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=6, symbolBrush=color, name=name)


class TrainingCurves(QWidget):
    """Two plots; batch losses are buffered by `add_batch` and drawn by `flush` (the pane's timer)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot("loss (lower is better)", legend_columns=2)
        self.miou_plot = _plot("mIoU (higher is better)", legend_columns=2)
        loss, miou = self.loss_plot.getPlotItem(), self.miou_plot.getPlotItem()
        self.batch_curve = loss.plot(pen=pg.mkPen(BATCH_COLOR, width=1), name="training (each batch)")
        self.train_curve = _marked_curve(loss, TRAIN_COLOR, "o", "training (epoch mean)")
        self.val_curve = _marked_curve(loss, VAL_COLOR, "s", "validation")
        self.miou_curve = _marked_curve(miou, MIOU_COLOR, "o", "validation mIoU")
        self.best_marker = miou.plot(
            pen=None,
            symbol="star",
            symbolSize=16,
            symbolBrush=(255, 200, 0),
            symbolPen="#444",
            name="best model",
        )
        for level in (0.2, 0.4, 0.6, 0.8):  # light guide lines; pyqtgraph's grid costs ~10 ms a repaint
            guide = pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen("#d5d5d5"), movable=False)
            guide.setZValue(-10)
            miou.addItem(guide)
        miou.setYRange(0, 1, padding=0.02)
        miou.enableAutoRange(axis="y", enable=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.miou_plot, 1)
        self.clear()

    def clear(self) -> None:
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []
        self._epochs: list[tuple[int, float, float, float]] = []  # epoch, train, val, miou
        self._best: tuple[int, float] | None = None
        for curve in (self.batch_curve, self.train_curve, self.val_curve, self.miou_curve, self.best_marker):
            curve.setData([], [])

    def add_batch(self, x: float, loss: float) -> None:
        if math.isfinite(loss):
            self._batch_x.append(x)
            self._batch_y.append(loss)

    def add_epoch(self, event) -> None:
        self._epochs.append((event.epoch, event.train_loss, event.val_loss, event.val_miou))
        if event.is_best and math.isfinite(event.val_miou):
            self._best = (event.epoch, event.val_miou)
        self._draw_epochs()

    def load_history(self, metrics_csv: Path, before_epoch: int) -> None:
        """Show the epochs a resumed run already has (from its metrics.csv)."""
        from segviewer.core.training.run_folder import read_metrics

        rows = [r for r in read_metrics(metrics_csv) if r["epoch"] < before_epoch]
        for row in rows:
            values = tuple(row.get(k, math.nan) for k in ("train_loss", "val_loss", "val_miou"))
            self._epochs.append((row["epoch"], *values))
        scored = [(m, e) for e, _, _, m in self._epochs if math.isfinite(m)]
        if scored:
            miou, epoch = max(scored)
            self._best = (epoch, miou)
        self._draw_epochs()

    def flush(self) -> None:
        self.batch_curve.setData(self._batch_x, self._batch_y)

    def _draw_epochs(self) -> None:
        xs = [e[0] for e in self._epochs]
        self.train_curve.setData(xs, [e[1] for e in self._epochs], connect="finite")
        self.val_curve.setData(xs, [e[2] for e in self._epochs], connect="finite")
        self.miou_curve.setData(xs, [e[3] for e in self._epochs], connect="finite")
        if self._best:
            self.best_marker.setData([self._best[0]], [self._best[1]])


class ClassIouTable(QWidget):
    """IoU per class for the latest validation, with the class colour as a swatch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors: dict[str, tuple[int, int, int]] = {}
        self.caption = QLabel("Per-class IoU appears after the first epoch.")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Class", "IoU"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    def set_scheme(self, scheme=None, scheme_name: str | None = None) -> None:
        """Colours by class name from the data set's scheme (or a named one; bdd100k by default)."""
        try:
            if scheme is None:
                from segviewer.core.labels import get_scheme

                scheme = get_scheme(scheme_name or "bdd100k").training_scheme()
            self._colors = {c.name: tuple(c.color) for c in scheme.classes}
        except Exception:  # noqa: BLE001 - colours are decoration only
            self._colors = {}

    def clear_rows(self) -> None:
        self.table.setRowCount(0)
        self.caption.setText("Per-class IoU appears after the first epoch.")

    def show_epoch(self, event) -> None:
        if not self._colors:
            self.set_scheme()
        names, ious = list(event.class_names), list(event.per_class_iou)
        self.caption.setText(f"Epoch {event.epoch}: validation mIoU {_fmt(event.val_miou)}")
        self.table.setRowCount(len(names))
        for row, (name, iou) in enumerate(zip(names, ious, strict=False)):
            name_item = QTableWidgetItem(name)
            color = self._colors.get(name)
            if color is not None:
                swatch = QPixmap(12, 12)
                swatch.fill(QColor(*color))
                name_item.setIcon(swatch)
            undefined = iou is None or not math.isfinite(iou)
            iou_item = QTableWidgetItem("—" if undefined else f"{iou:.3f}")
            iou_item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if undefined:
                iou_item.setToolTip(NAN_TOOLTIP)
                name_item.setToolTip(NAN_TOOLTIP)
            else:
                iou_item.setBackground(QBrush(_quality_color(iou)))
            self.table.setItem(row, 0, name_item)
            self.table.setItem(row, 1, iou_item)

    def cell_texts(self) -> list[tuple[str, str]]:
        return [
            (self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())
        ]


def _quality_color(iou: float) -> QColor:
    """Pale red (0) to pale green (1): which classes the model already gets right at a glance."""
    t = min(1.0, max(0.0, iou))
    return QColor(int(250 - 60 * t), int(205 + 40 * t), int(205 - 10 * t))


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and math.isfinite(value) else "—"
