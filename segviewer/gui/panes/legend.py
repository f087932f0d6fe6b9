"""The legend: each class's colour, its share of this image's pixels, and whether it is drawn."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.labels import LabelScheme
from segviewer.core.overlay import ERROR_COLORS
from segviewer.core.session import Session
from segviewer.gui.image_utils import swatch_icon

MUTED = QColor(150, 150, 150)


def format_share(share: float) -> str:
    if share <= 0:
        return "–"
    if share < 0.001:
        return "<0.1%"
    return f"{100 * share:.1f}%"


class LegendWidget(QWidget):
    """Shows the session's hidden classes and palette choice; ticking a box tells the session."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # room for class names beside both share columns, so the dock need not widen when a model loads
        # (the Classes dock scrolls in a narrower window)
        self.setMinimumWidth(300)
        self.session = session
        self.scheme: LabelScheme | None = None
        self._ids: list[int] = []
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Class", "Ground truth", "Prediction"])
        self.table.horizontalHeaderItem(1).setToolTip("Share of this image's pixels labelled with the class")
        self.table.horizontalHeaderItem(2).setToolTip(
            "Share of this image's pixels the model assigns to the class"
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Fixed share columns: widths that follow the numbers would shift the docks (and the
        # picture) a few pixels whenever another sample is shown.
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, header.fontMetrics().horizontalAdvance("Ground truth") + 16)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.itemChanged.connect(self._on_item_changed)

        self.show_all = QPushButton("Show all")
        self.hide_all = QPushButton("Hide all")
        self.show_all.clicked.connect(session.show_all_classes)
        self.hide_all.clicked.connect(lambda: session.hide_classes(self._ids))
        self.colorblind = QCheckBox("Colour-blind-safe colours")
        self.colorblind.toggled.connect(lambda on: setattr(session, "colorblind", on))
        self.colorblind.setChecked(session.colorblind)
        session.events.colorblind.connect(self._show_colorblind)
        session.events.hidden_classes.connect(self._show_hidden)
        swatch = "<span style='color:rgb({},{},{})'>■</span>"
        self.error_key = QLabel(
            "Error map: "
            + swatch.format(*ERROR_COLORS["correct"])
            + " correct  "
            + swatch.format(*ERROR_COLORS["wrong"])
            + " wrong  "
            + swatch.format(*ERROR_COLORS["ignored"])
            + " ignored (no label)"
        )
        self.error_key.setWordWrap(True)
        self.error_key.setVisible(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.show_all)
        buttons.addWidget(self.hide_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.colorblind)
        layout.addWidget(self.error_key)
        self.set_prediction_column(False)

    def set_scheme(self, scheme: LabelScheme, palette: np.ndarray) -> None:
        """List `scheme`'s classes, ticked unless the session hides them."""
        self.scheme = scheme
        self._ids = [c.id for c in scheme.classes]
        self.table.blockSignals(True)
        self.table.setRowCount(len(scheme.classes))
        hidden = self.session.hidden_classes
        for row, cls in enumerate(scheme.classes):
            item = QTableWidgetItem(cls.name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if cls.id in hidden else Qt.CheckState.Checked)
            item.setToolTip(f"Class id {cls.id}: untick to hide it in the overlay")
            self.table.setItem(row, 0, item)
            for col in (1, 2):
                share = QTableWidgetItem("–")
                share.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, share)
        self.table.blockSignals(False)
        self.set_palette(palette)

    def set_palette(self, palette: np.ndarray) -> None:
        self.table.blockSignals(True)  # itemChanged means "ticked or unticked" to us
        for row, class_id in enumerate(self._ids):
            self.table.item(row, 0).setIcon(swatch_icon(tuple(int(v) for v in palette[class_id])))
        self.table.blockSignals(False)

    def set_prediction_column(self, shown: bool) -> None:
        self.table.setColumnHidden(2, not shown)

    def set_shares(self, gt: np.ndarray | None, pred: np.ndarray | None) -> None:
        """(256,) pixel fractions per class id for this image; None clears the column."""
        self.table.blockSignals(True)
        for row, class_id in enumerate(self._ids):
            g = float(gt[class_id]) if gt is not None else 0.0
            p = float(pred[class_id]) if pred is not None else 0.0
            self.table.item(row, 1).setText(format_share(g) if gt is not None else "")
            self.table.item(row, 2).setText(format_share(p) if pred is not None else "")
            brush = QBrush() if (g > 0 or p > 0) else QBrush(MUTED)
            self.table.item(row, 0).setForeground(brush)
        self.table.blockSignals(False)

    def set_class_visible(self, class_id: int, visible: bool) -> None:
        """Tick or untick the class's box, as a click would."""
        row = self._ids.index(class_id)
        self.table.item(row, 0).setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def set_error_key_visible(self, visible: bool) -> None:
        self.error_key.setVisible(visible)

    def _show_hidden(self, hidden: frozenset[int]) -> None:
        self.table.blockSignals(True)
        for row, class_id in enumerate(self._ids):
            state = Qt.CheckState.Unchecked if class_id in hidden else Qt.CheckState.Checked
            self.table.item(row, 0).setCheckState(state)
        self.table.blockSignals(False)

    def _show_colorblind(self, on: bool) -> None:
        self.colorblind.blockSignals(True)
        self.colorblind.setChecked(on)
        self.colorblind.blockSignals(False)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            checked = item.checkState() == Qt.CheckState.Checked
            self.session.set_class_visible(self._ids[item.row()], checked)
