"""The evaluation pane: score one or two checkpoints on a split and see where they go wrong.

Per-class IoU in the style of the paper's Table 1 (figures with 3 decimals, exactly the values of
`segviewer evaluate --json`), a confusion-matrix heatmap whose cells list the images with most of that
mistake, and every image sorted worst first. Choosing an image asks the viewer to show its error map.

The pane wires the parts: model boxes (model_choices.py), split checks (evaluation_splits.py), the result
tabs (class_iou_tab.py, confusion_tab.py, worst_images_tab.py) and the exports (evaluation_export.py).
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.model_evaluation import ModelEvaluation, evaluate_checkpoints, failure_message
from segviewer.gui import background
from segviewer.gui.panes.class_iou_tab import ClassIouTab
from segviewer.gui.panes.confusion_tab import ConfusionTab
from segviewer.gui.panes.evaluation_export import (
    export_matrix_dialog,
    export_table_dialog,
    write_png,
    write_table,
)
from segviewer.gui.panes.evaluation_splits import evaluation_problem, fill_split_combo, labelled_count
from segviewer.gui.panes.evaluation_table import NUMBER_ALIGN, SUMMARY_ROWS, ClassIouModel, fmt3
from segviewer.gui.panes.model_choices import BROWSE, ModelChoices, choice_label
from segviewer.gui.panes.worst_images_tab import WorstImagesTab

__all__ = [
    "BROWSE",
    "ERROR_STYLE",
    "NUMBER_ALIGN",
    "SUMMARY_ROWS",
    "ClassIouModel",
    "EvaluationPane",
    "fmt3",
    "install_evaluation_pane",
]

ERROR_STYLE = "color: #a01010;"


class EvaluationPane(QWidget):
    """Choose checkpoints and a split, evaluate in the background, explore the results."""

    open_sample_requested = Signal(str, str, str)  # split, sample name, viewer mode ("error")
    evaluation_finished = Signal(list)  # list[ModelEvaluation]

    def __init__(self, parent: QWidget | None = None, device: str = "auto") -> None:
        super().__init__(parent)
        self.device = device
        self._dataset = None
        self._results: list[ModelEvaluation] = []
        self._split = ""
        self._task: asyncio.Task | None = None
        self._build()
        self._update_buttons()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_choices = ModelChoices(self)
        self.model_a_combo, self.model_b_combo = self.model_choices.combos
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Images whose masks the predictions are compared with")
        self.split_combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Predict every labelled image of the split and compare with its mask")
        self.evaluate_button.clicked.connect(self.start_evaluation)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_evaluation)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v of %m images")
        self.progress_bar.setVisible(False)
        self.message_label = QLabel("Choose a model and a split, then press Evaluate.")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Model A:", self.model_a_combo)
        form.addRow("Model B:", self.model_b_combo)
        split_row = QHBoxLayout()
        split_row.addWidget(self.split_combo, 1)
        split_row.addWidget(self.evaluate_button)
        split_row.addWidget(self.cancel_button)
        form.addRow("Split:", split_row)

        self.class_iou_tab = ClassIouTab()
        self.class_iou_tab.export_table_button.clicked.connect(
            lambda: export_table_dialog(self, self.export_table, self._show_message)
        )
        self.confusion_tab = ConfusionTab()
        self.confusion_tab.save_matrix_button.clicked.connect(
            lambda: export_matrix_dialog(self, self.export_matrix_png, self._show_message)
        )
        self.confusion_tab.sample_chosen.connect(self._open_sample)
        self.images_tab = WorstImagesTab()
        self.images_tab.sample_chosen.connect(self._open_sample)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.class_iou_tab, "Class IoU")
        self.tabs.addTab(self.confusion_tab, "Confusion matrix")
        self.tabs.addTab(self.images_tab, "Images, worst first")
        # The widgets a user (and the tests) work with most, at hand on the pane itself.
        self.class_model, self.class_table = self.class_iou_tab.class_model, self.class_iou_tab.class_table
        self.export_table_button = self.class_iou_tab.export_table_button
        confusion = self.confusion_tab
        self.matrix_view, self.confusion_list = confusion.matrix_view, confusion.confusion_list
        self.image_table = self.images_tab.image_table

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.tabs, 1)
        self.model_choices.changed.connect(self._update_buttons)

    # --- public API ------------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        """The data set whose splits can be evaluated (None: nothing open)."""
        if dataset is not self._dataset:
            self.cancel_evaluation()  # results of another data set would open the wrong images
            self._clear_results()
        self._dataset = dataset
        fill_split_combo(self.split_combo, dataset)
        self._update_buttons()

    def set_split(self, name: str) -> bool:
        index = self.split_combo.findData(name)
        if index >= 0:
            self.split_combo.setCurrentIndex(index)
        return index >= 0

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.model_choices.refresh_runs()  # runs may have finished since the last look

    def set_runs_folder(self, folder: str | Path | None) -> None:
        """List that folder's past runs in the model choices (on a helper thread)."""
        self.model_choices.set_runs_folder(folder)

    def set_checkpoint(self, slot: int, path: str | Path | None, label: str | None = None) -> None:
        """Choose a checkpoint file or run folder for model A (slot 0) or B (slot 1); None clears B."""
        self.model_choices.set_checkpoint(slot, path, label)

    def add_checkpoint_choice(self, path: str | Path, select_if_empty: bool = False) -> None:
        """Offer a checkpoint (e.g. the one just loaded in the viewer) in both model lists."""
        self.model_choices.add_choice(str(path), f"in the viewer: {choice_label(Path(path))}")
        if select_if_empty and self.model_a_combo.currentData() is None and not self.is_running():
            self.set_checkpoint(0, path)
        self._update_buttons()

    def shown_checkpoint(self) -> Path | None:
        """The checkpoint whose confusion matrix and image list are shown."""
        current = self.confusion_tab.current_result()
        return current.checkpoint if current is not None else None

    def checkpoints(self) -> list[str]:
        return self.model_choices.checkpoints()

    def current_split(self) -> str | None:
        return self.split_combo.currentData()

    def is_running(self) -> bool:
        return self._task is not None

    def results(self) -> list[ModelEvaluation]:
        return list(self._results)

    def start_evaluation(self) -> bool:
        """Start scoring the chosen checkpoints; False (with a message shown) when something is missing."""
        if self.is_running():
            return False
        checkpoints, split = self.checkpoints(), self.current_split()
        problem = evaluation_problem(self._dataset, checkpoints, split)
        if problem:
            self._show_message(problem, error=True)
            return False
        self._split = split
        total = labelled_count(self._dataset, split) * len(checkpoints)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self._show_message(f"Evaluating on '{split}'…")
        self._task = background.spawn(self._evaluate([Path(c) for c in checkpoints], self._dataset, split))
        self._update_buttons()
        return True

    async def _evaluate(self, checkpoints: list[Path], dataset, split: str) -> None:
        # torch and the evaluation code are imported here, on the UI thread: importing them on the
        # worker would hold the GIL for seconds and freeze the window anyway.
        for name in ("torch", "segviewer.core.predict", "segviewer.core.evaluation"):
            importlib.import_module(name)
        try:
            results = await background.call_with_progress(
                lambda progress, stop: evaluate_checkpoints(
                    checkpoints, dataset, split, self.device, progress, stop
                ),
                self._on_progress,
            )
        except asyncio.CancelledError:
            self._task = None
            self._end_run("Evaluation cancelled; the results shown (if any) are from the previous run.")
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message in the pane
            self._task = None
            self._end_run(failure_message(exc), error=True)
            return
        self._task = None
        if results is None:
            self._end_run("Evaluation cancelled; the results shown (if any) are from the previous run.")
        else:
            self._on_finished(results)

    def cancel_evaluation(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def shutdown(self) -> None:
        self.cancel_evaluation()
        self.model_choices.listing.shutdown()

    def table_rows(self) -> list[list[str]]:
        """What the table shows: header row, class rows in display order, then the summary rows."""
        return self.class_iou_tab.table_rows()

    def export_table(self, path: str | Path, fmt: str | None = None) -> Path:
        """Write the table as CSV or Markdown (by `fmt` or the file suffix), atomically."""
        return write_table(path, self.table_rows(), fmt)

    def export_matrix_png(self, path: str | Path) -> Path:
        """Save the shown confusion matrix as a PNG at a readable size, atomically."""
        return write_png(path, self.matrix_view.render_image())

    # --- state -----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        running = self.is_running()
        self.evaluate_button.setEnabled(
            not running and self._dataset is not None and bool(self.checkpoints())
        )
        self.cancel_button.setEnabled(running)
        self.model_choices.set_enabled(not running)
        self.split_combo.setEnabled(not running)
        has_results = bool(self._results)
        self.export_table_button.setEnabled(has_results)
        self.confusion_tab.save_matrix_button.setEnabled(has_results)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")

    # --- runner events ---------------------------------------------------------------------------
    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)

    def _on_finished(self, results: list) -> None:
        self.progress_bar.setVisible(False)
        self._results = results
        images = len(results[0].result.per_image) if results else 0
        skipped = results[0].result.skipped if results else []
        text = f"Scored {images} image{'s' if images != 1 else ''} of '{self._split}'."
        if skipped:
            text += f" {len(skipped)} could not be read and were left out: {'; '.join(skipped[:3])}"
        self._show_message(text, error=bool(skipped))
        self._show_results()
        self.evaluation_finished.emit(results)
        self._update_buttons()

    def _end_run(self, text: str, error: bool = False) -> None:
        self.progress_bar.setVisible(False)
        self._show_message(text, error=error)
        self._update_buttons()

    # --- results ---------------------------------------------------------------------------------
    def _show_results(self) -> None:
        self.class_iou_tab.show_results(self._results, self._split)
        self.confusion_tab.show_results(self._results)
        self.images_tab.show_results(self._results)

    def _clear_results(self) -> None:
        self._results = []
        self.class_iou_tab.clear()
        self.confusion_tab.clear()
        self.images_tab.clear()
        self._update_buttons()

    def _open_sample(self, name: str) -> None:
        self.open_sample_requested.emit(self._split, name, "error")


def install_evaluation_pane(window) -> EvaluationPane:
    """Dock the pane and connect it to the main window's data set, model and viewer hooks."""
    pane = EvaluationPane()
    window.add_pane("Evaluation", pane, Qt.DockWidgetArea.RightDockWidgetArea)
    window.dataset_opened.connect(pane.set_dataset)
    if window.dataset is not None:
        pane.set_dataset(window.dataset)
    window.model_loaded.connect(lambda path: pane.add_checkpoint_choice(path, select_if_empty=True))

    def open_in_viewer(split: str, name: str, mode: str) -> None:
        # The error map compares with the viewer's model: show the evaluated one there.
        checkpoint = pane.shown_checkpoint()
        current = getattr(window.predictions, "checkpoint", None)
        if checkpoint is not None and (current is None or Path(current).resolve() != checkpoint.resolve()):
            window.load_checkpoint(checkpoint)
        window.open_sample(split, name, mode)

    pane.open_sample_requested.connect(open_in_viewer)
    window.add_shutdown(pane.shutdown)
    pane.set_runs_folder(None)
    return pane
