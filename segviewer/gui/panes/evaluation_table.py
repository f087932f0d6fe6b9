"""The evaluation pane's tables: the per-class IoU model, number formatting and table export helpers."""

from __future__ import annotations

import csv
import io
import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QTableView

from segviewer.core.model_evaluation import ModelEvaluation
from segviewer.gui.image_utils import swatch_icon

NUMBER_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
SUMMARY_ROWS = (
    ("Mean IoU", "miou"),
    ("Pixel accuracy", "pixel_accuracy"),
    ("Mean class accuracy", "mean_class_accuracy"),
    ("Frequency-weighted IoU", "fwiou"),
)


def fmt3(value: float | None) -> str:
    """3 decimals as `segviewer evaluate --json` values would print; "NaN" where undefined."""
    return "NaN" if value is None or math.isnan(value) else f"{value:.3f}"


class ClassIouModel(QAbstractTableModel):
    """One row per class: IoU of each model, then its per-class pixel accuracy (recall).

    Sorting keeps NaN rows last in both directions (Qt would put them first when descending), and
    sorting by column -1 restores the class-id order.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._results: list[ModelEvaluation] = []
        self._classes: list = []
        self._order: list[int] = []

    def set_results(self, results: list[ModelEvaluation]) -> None:
        self.beginResetModel()
        self._results = list(results)
        self._classes = list(results[0].scheme.classes) if results else []
        self._order = list(range(len(self._classes)))
        self.endResetModel()

    def _columns(self) -> list[tuple[str, int]]:
        """(kind, model index) per column after the class column."""
        n = len(self._results)
        return [("iou", i) for i in range(n)] + [("accuracy", i) for i in range(n)]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 1 + len(self._columns())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or section < 0 or section >= self.columnCount():
            return None
        if section == 0:
            return "Class" if role == Qt.ItemDataRole.DisplayRole else None
        kind, i = self._columns()[section - 1]
        suffix = f" {'AB'[i]}" if len(self._results) > 1 else ""
        if role == Qt.ItemDataRole.DisplayRole:
            return ("IoU" if kind == "iou" else "Accuracy") + suffix
        if role == Qt.ItemDataRole.ToolTipRole:
            what = (
                "Intersection over union"
                if kind == "iou"
                else "Share of the class's pixels predicted correctly"
            )
            return f"{what} — {self._results[i].title}"
        return None

    def value(self, row: int, column: int) -> float:
        class_index = self._order[row]
        kind, i = self._columns()[column - 1]
        metrics = self._results[i].result.metrics
        array = metrics.per_class_iou if kind == "iou" else metrics.per_class_accuracy
        return float(array[class_index])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        cls = self._classes[self._order[index.row()]]
        if index.column() == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return cls.name
            if role == Qt.ItemDataRole.DecorationRole:
                return swatch_icon(tuple(int(v) for v in cls.color))
            return None
        value = self.value(index.row(), index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return fmt3(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return NUMBER_ALIGN
        if role == Qt.ItemDataRole.ToolTipRole and math.isnan(value):
            kind, i = self._columns()[index.column() - 1]
            if kind == "iou":
                return (
                    f"NaN: {cls.name} is absent from both the ground truth and the predictions of "
                    f"{self._results[i].title}, so its IoU is undefined (left out of the mean IoU)"
                )
            return f"NaN: no ground-truth pixel of {cls.name} in this split, so its accuracy is undefined"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        ids = list(range(len(self._classes)))
        if column == 0:
            ids.sort(key=lambda k: self._classes[k].name.lower())
        elif 0 < column < self.columnCount():
            kind, i = self._columns()[column - 1]
            metrics = self._results[i].result.metrics
            array = metrics.per_class_iou if kind == "iou" else metrics.per_class_accuracy
            known = sorted((k for k in ids if not math.isnan(array[k])), key=lambda k: array[k])
            ids = known + [k for k in ids if math.isnan(array[k])]
            if order == Qt.SortOrder.DescendingOrder:
                ids = known[::-1] + ids[len(known) :]
        if column == 0 and order == Qt.SortOrder.DescendingOrder:
            ids.reverse()
        self._order = ids
        self.layoutChanged.emit()


def _compact_rows(table: QTableView) -> None:
    """Rows just tall enough for one line of text, so more classes fit on screen."""
    header = table.verticalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header.setDefaultSectionSize(table.fontMetrics().height() + 8)


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _markdown(rows: list[list[str]]) -> str:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"
