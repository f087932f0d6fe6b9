"""The evaluation pane's "Confusion matrix" tab: the heatmap and the images with most of a clicked mistake."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.model_evaluation import ModelEvaluation
from segviewer.gui.panes.confusion_view import ConfusionMatrixView

LETTERS = "AB"
CLICK_HINT = "Click a cell to list the images with the most pixels of that mistake."


class ConfusionTab(QWidget):
    """One model's confusion matrix (a choice when two were scored); a cell lists the images to open."""

    sample_chosen = Signal(str)  # sample name, to show with its error map

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._results: list[ModelEvaluation] = []
        self.matrix_model_combo = QComboBox()
        self.matrix_model_combo.setToolTip("Which model's mistakes to show")
        self.matrix_model_combo.currentIndexChanged.connect(lambda _i: self._show_model_details())
        self.hide_empty_check = QCheckBox("Only classes that occur")
        self.hide_empty_check.setChecked(True)
        self.hide_empty_check.setToolTip(
            "Leave out classes found neither in the masks nor in the predictions"
        )
        self.matrix_view = ConfusionMatrixView()
        self.matrix_view.cell_clicked.connect(self._on_cell_clicked)
        self.hide_empty_check.toggled.connect(self.matrix_view.set_hide_empty)
        self.save_matrix_button = QPushButton("Save as PNG…")
        self.confusion_label = QLabel(CLICK_HINT)
        self.confusion_label.setWordWrap(True)
        self.confusion_list = QListWidget()
        self.confusion_list.setToolTip("Click an image to show its error map in the viewer")
        self.confusion_list.itemClicked.connect(self._on_confusion_item)
        self.confusion_list.itemActivated.connect(self._on_confusion_item)

        top = QHBoxLayout()
        top.addWidget(self.matrix_model_combo, 1)
        top.addWidget(self.hide_empty_check)
        top.addWidget(self.save_matrix_button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.confusion_label)
        side_layout.addWidget(self.confusion_list, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.matrix_view)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        note = QLabel(
            "Each row is a true class; the numbers say where its pixels went, in % of that class's pixels "
            "(the diagonal is correct). Hover over a cell for pixel counts."
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(note)

    def show_results(self, results: list[ModelEvaluation]) -> None:
        """Offer each scored model and show the chosen one's matrix."""
        self._results = results
        self.matrix_model_combo.blockSignals(True)
        self.matrix_model_combo.clear()
        for i, r in enumerate(results):
            self.matrix_model_combo.addItem(f"Model {LETTERS[i]}: {r.title}", i)
        self.matrix_model_combo.setVisible(len(results) > 1)
        self.matrix_model_combo.blockSignals(False)
        self._show_model_details()

    def clear(self) -> None:
        self._results = []
        self.matrix_view.clear()
        self.confusion_list.clear()

    def current_result(self) -> ModelEvaluation | None:
        """The model whose matrix is shown (None before any results)."""
        if not self._results:
            return None
        index = max(0, self.matrix_model_combo.currentIndex())
        return self._results[min(index, len(self._results) - 1)]

    def _show_model_details(self) -> None:
        current = self.current_result()
        if current is None:
            return
        scheme = current.scheme
        names = [c.name for c in scheme.classes]
        colors = [tuple(int(v) for v in c.color) for c in scheme.classes]
        self.matrix_view.set_matrix(current.result.confusion.matrix, names, colors, title=current.title)
        self.confusion_list.clear()
        self.confusion_label.setText(CLICK_HINT)

    def _on_cell_clicked(self, gt_id: int, pred_id: int) -> None:
        current = self.current_result()
        if current is None:
            return
        names = [c.name for c in current.scheme.classes]
        self.confusion_list.clear()
        if gt_id == pred_id:
            self.confusion_label.setText(
                f"{names[gt_id]} predicted correctly. Click a cell off the diagonal to see the mistakes."
            )
            return
        entries = current.result.top_confusions.get((gt_id, pred_id), [])
        if not entries:
            self.confusion_label.setText(f"No {names[gt_id]} pixel was predicted as {names[pred_id]}.")
            return
        self.confusion_label.setText(
            f"Images with the most <b>{names[gt_id]}</b> pixels predicted as <b>{names[pred_id]}</b>:"
        )
        for pixels, sample in entries:
            item = QListWidgetItem(f"{sample} — {pixels:,} pixels")
            item.setData(Qt.ItemDataRole.UserRole, sample)
            self.confusion_list.addItem(item)

    def _on_confusion_item(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if name:
            self.sample_chosen.emit(name)
