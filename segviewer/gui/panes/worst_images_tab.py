"""The evaluation pane's "Images, worst first" tab: every scored image with its mIoU and pixel accuracy."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.model_evaluation import ModelEvaluation
from segviewer.gui.panes.evaluation_table import NUMBER_ALIGN, _compact_rows, fmt3


class WorstImagesTab(QWidget):
    """One row per image, sorted by model A's mIoU; clicking a row asks to show that image."""

    sample_chosen = Signal(str)  # sample name, to show with its error map

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_table = QTableWidget(0, 3)
        self.image_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.image_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.image_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.image_table.verticalHeader().setVisible(False)
        self.image_table.setToolTip("Click an image to show its error map in the viewer")
        self.image_table.cellClicked.connect(lambda row, _col: self._open_image_row(row))
        self.image_table.activated.connect(lambda index: self._open_image_row(index.row()))
        _compact_rows(self.image_table)
        self.images_label = QLabel(
            "Each image's mean IoU (over the classes in its mask or its prediction), worst first."
        )
        self.images_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.images_label)
        layout.addWidget(self.image_table, 1)

    def show_results(self, results: list[ModelEvaluation]) -> None:
        """Every image with each model's mIoU and pixel accuracy, sorted by model A's mIoU, worst first."""
        letters = ["A", "B"] if len(results) > 1 else [""]
        headers = ["Image"]
        for kind in ("mIoU", "Pixel accuracy"):
            headers += [f"{kind} {letter}".strip() for letter in letters[: len(results)]]
        scores = [{name: (miou, acc) for name, miou, acc in r.result.per_image} for r in results]
        order = sorted(results[0].result.per_image, key=lambda t: (math.isnan(t[1]), t[1], t[0]))
        table = self.image_table
        table.clear()
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(order))
        for row, (name, _miou, _acc) in enumerate(order):
            table.setItem(row, 0, QTableWidgetItem(name))
            for k in range(2):
                for m, per_model in enumerate(scores):
                    value = per_model.get(name, (math.nan, math.nan))[k]
                    item = QTableWidgetItem(fmt3(value))
                    item.setTextAlignment(NUMBER_ALIGN)
                    table.setItem(row, 1 + k * len(scores) + m, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        by = ", sorted by model A" if len(results) > 1 else ""
        self.images_label.setText(
            f"Each image's mean IoU (over the classes in its mask or its prediction), worst first{by}. "
            "Click one to see its error map in the viewer."
        )

    def clear(self) -> None:
        self.image_table.setRowCount(0)

    def _open_image_row(self, row: int) -> None:
        item = self.image_table.item(row, 0)
        if item is not None:
            self.sample_chosen.emit(item.text())
