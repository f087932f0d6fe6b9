"""The evaluation pane's "Class IoU" tab: the per-class table, the summary below it and its export button."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.model_evaluation import ModelEvaluation
from segviewer.gui.panes.evaluation_table import (
    NUMBER_ALIGN,
    SUMMARY_ROWS,
    ClassIouModel,
    _compact_rows,
    fmt3,
)

LETTERS = "AB"


class ClassIouTab(QWidget):
    """Per-class IoU and accuracy of one or two models (sortable), with the summary metrics below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models_label = QLabel()
        self.models_label.setWordWrap(True)
        self.class_model = ClassIouModel(self)
        self.class_table = QTableView()
        self.class_table.setModel(self.class_model)
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.class_table.setAlternatingRowColors(True)
        header = self.class_table.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # class-id order until a header is clicked
        self.class_table.setSortingEnabled(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        _compact_rows(self.class_table)
        self.summary_table = QTableWidget(len(SUMMARY_ROWS), 1)
        self.summary_table.setVerticalHeaderLabels([title for title, _ in SUMMARY_ROWS])
        self.summary_table.setHorizontalHeaderLabels(["Model A"])  # not Qt's "1" before any result
        self.summary_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        _compact_rows(self.summary_table)
        rows_height = sum(self.summary_table.rowHeight(r) for r in range(len(SUMMARY_ROWS)))
        self.summary_table.setFixedHeight(
            rows_height + self.summary_table.horizontalHeader().sizeHint().height() + 4
        )
        self.export_table_button = QPushButton("Export table…")
        self.export_table_button.setToolTip("Save the per-class table and the summary as CSV or Markdown")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_table_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.models_label)
        layout.addWidget(self.class_table, 1)
        layout.addWidget(self.summary_table)
        layout.addLayout(buttons)

    def show_results(self, results: list[ModelEvaluation], split: str) -> None:
        """Fill both tables, back in class-id order."""
        self.class_model.set_results(results)
        self.class_table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.class_model.sort(-1)
        self.models_label.setText(
            "  ".join(f"<b>{LETTERS[i]}</b> = {r.title}" for i, r in enumerate(results))
            + f" — split '{split}', {len(results[0].result.per_image)} images"
        )
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.summary_table.setColumnCount(len(results))
        self.summary_table.setHorizontalHeaderLabels([f"Model {LETTERS[i]}" for i in range(len(results))])
        self.summary_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for row, (_title, key) in enumerate(SUMMARY_ROWS):
            for col, r in enumerate(results):
                value = getattr(r.result.metrics, key)
                item = QTableWidgetItem(fmt3(value))
                item.setTextAlignment(NUMBER_ALIGN)
                if math.isnan(value):
                    item.setToolTip("NaN: no labelled pixels were scored")
                self.summary_table.setItem(row, col, item)

    def clear(self) -> None:
        self.class_model.set_results([])
        self.summary_table.clearContents()
        self.summary_table.setColumnCount(1)
        self.summary_table.setHorizontalHeaderLabels(["Model A"])
        self.models_label.setText("")

    def table_rows(self) -> list[list[str]]:
        """What the table shows: header row, class rows in display order, then the summary rows."""
        model = self.class_model
        header = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
        rows = [
            [model.data(model.index(r, c)) for c in range(model.columnCount())]
            for r in range(model.rowCount())
        ]
        summary = []
        for r, (title, _key) in enumerate(SUMMARY_ROWS):
            cells = [self.summary_table.item(r, c) for c in range(self.summary_table.columnCount())]
            summary.append(
                [title, *[(i.text() if i else "") for i in cells], *[""] * (len(header) - 1 - len(cells))]
            )
        return [header, *rows, *summary]
