"""The evaluation pane: score one or two checkpoints on a split and see where they go wrong.

Per-class IoU in the style of the paper's Table 1 (figures with 3 decimals, exactly the values of
`segviewer evaluate --json`), a confusion-matrix heatmap whose cells list the images with most of that
mistake, and every image sorted worst first. Choosing an image asks the viewer to show its error map.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError
from segviewer.gui.eval_runner import EvaluationRunner, ModelEvaluation
from segviewer.gui.panes.confusion_view import ConfusionMatrixView
from segviewer.gui.panes.evaluation_table import (
    NUMBER_ALIGN,
    SUMMARY_ROWS,
    ClassIouModel,
    _compact_rows,
    _csv,
    _markdown,
    fmt3,
)
from segviewer.gui.training_runner import BackgroundCall

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

BROWSE = "__browse__"
ERROR_STYLE = "color: #a01010;"


class EvaluationPane(QWidget):
    """Choose checkpoints and a split, evaluate in the background, explore the results."""

    open_sample_requested = Signal(str, str, str)  # split, sample name, viewer mode ("error")
    evaluation_finished = Signal(list)  # list[ModelEvaluation]

    def __init__(self, parent: QWidget | None = None, runner: EvaluationRunner | None = None) -> None:
        super().__init__(parent)
        self._dataset = None
        self._results: list[ModelEvaluation] = []
        self._split = ""
        self._runs_folder: Path | None = None
        self._runner = runner or EvaluationRunner(parent=self)
        self._runner.progressed.connect(self._on_progress)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)
        self._runner.running_changed.connect(lambda _running: self._update_buttons())
        self._background = BackgroundCall(self)
        self._background.done.connect(self._on_runs_listed)
        self._build()
        self._update_buttons()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_a_combo, self.model_b_combo = QComboBox(), QComboBox()
        for combo, slot in ((self.model_a_combo, 0), (self.model_b_combo, 1)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(24)
            combo.activated.connect(lambda _i, slot=slot: self._on_model_chosen(slot))
        self.model_a_combo.setToolTip(
            "The trained model to score: a past run (its best checkpoint) or a .pt file"
        )
        self.model_b_combo.setToolTip("Optional second model, shown in its own columns for comparison")
        self._fill_model_combos([])
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

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_table_tab(), "Class IoU")
        self.tabs.addTab(self._build_matrix_tab(), "Confusion matrix")
        self.tabs.addTab(self._build_images_tab(), "Images, worst first")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.message_label)
        layout.addWidget(self.tabs, 1)

    def _build_table_tab(self) -> QWidget:
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
        self.summary_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        _compact_rows(self.summary_table)
        rows_height = sum(self.summary_table.rowHeight(r) for r in range(len(SUMMARY_ROWS)))
        self.summary_table.setFixedHeight(
            rows_height + self.summary_table.horizontalHeader().sizeHint().height() + 4
        )
        self.export_table_button = QPushButton("Export table…")
        self.export_table_button.setToolTip("Save the per-class table and the summary as CSV or Markdown")
        self.export_table_button.clicked.connect(self._ask_export_table)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_table_button)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.models_label)
        layout.addWidget(self.class_table, 1)
        layout.addWidget(self.summary_table)
        layout.addLayout(buttons)
        return tab

    def _build_matrix_tab(self) -> QWidget:
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
        self.save_matrix_button.clicked.connect(self._ask_export_matrix)
        self.confusion_label = QLabel("Click a cell to list the images with the most pixels of that mistake.")
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
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(note)
        return tab

    def _build_images_tab(self) -> QWidget:
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
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(self.images_label)
        layout.addWidget(self.image_table, 1)
        return tab

    # --- public API ------------------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        """The data set whose splits can be evaluated (None: nothing open)."""
        if dataset is not self._dataset:
            self._runner.cancel()  # results of another data set would open the wrong images
            self._clear_results()
        self._dataset = dataset
        previous = self.split_combo.currentData()
        self.split_combo.clear()
        splits = dataset.splits if dataset is not None else {}
        for name, samples in splits.items():
            labelled = sum(1 for s in samples if s.mask is not None)
            text = (
                f"{name} ({labelled} labelled images)" if labelled else f"{name} (no masks: cannot be scored)"
            )
            self.split_combo.addItem(text, name)
        preferred = [previous, "val", "test", "train"]
        for name in preferred:
            index = self.split_combo.findData(name)
            if name and index >= 0 and self._labelled_count(name):
                self.split_combo.setCurrentIndex(index)
                break
        self._update_buttons()

    def set_split(self, name: str) -> bool:
        index = self.split_combo.findData(name)
        if index >= 0:
            self.split_combo.setCurrentIndex(index)
        return index >= 0

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._runs_folder is not None:
            self.set_runs_folder(self._runs_folder)  # runs may have finished since the last look

    def set_runs_folder(self, folder: str | Path | None) -> None:
        """List that folder's past runs in the model choices (on a helper thread)."""
        if folder is None:
            from segviewer.core.runs import default_runs_dir

            folder = default_runs_dir()
        self._runs_folder = Path(folder)
        from segviewer.core.runs import list_runs

        self._background.submit(str(self._runs_folder), list_runs, self._runs_folder)

    def set_checkpoint(self, slot: int, path: str | Path | None, label: str | None = None) -> None:
        """Choose a checkpoint file or run folder for model A (slot 0) or B (slot 1); None clears B."""
        combo = (self.model_a_combo, self.model_b_combo)[slot]
        if path is None:
            combo.setCurrentIndex(0)
            return
        index = combo.findData(str(path))
        if index < 0:
            self._add_choice(str(path), label or _choice_label(Path(path)))
            index = combo.findData(str(path))
        combo.setCurrentIndex(index)
        self._update_buttons()

    def add_checkpoint_choice(self, path: str | Path, select_if_empty: bool = False) -> None:
        """Offer a checkpoint (e.g. the one just loaded in the viewer) in both model lists."""
        self._add_choice(str(path), f"in the viewer: {_choice_label(Path(path))}")
        if select_if_empty and self.model_a_combo.currentData() is None and not self._runner.is_running():
            self.set_checkpoint(0, path)
        self._update_buttons()

    def shown_checkpoint(self) -> Path | None:
        """The checkpoint whose confusion matrix and image list are shown."""
        current = self._current_result()
        return current.checkpoint if current is not None else None

    def checkpoints(self) -> list[str]:
        chosen = [self.model_a_combo.currentData(), self.model_b_combo.currentData()]
        return [c for c in chosen if c and c != BROWSE]

    def current_split(self) -> str | None:
        return self.split_combo.currentData()

    def is_running(self) -> bool:
        return self._runner.is_running()

    def results(self) -> list[ModelEvaluation]:
        return list(self._results)

    def start_evaluation(self) -> bool:
        """Start scoring the chosen checkpoints; False (with a message shown) when something is missing."""
        if self._runner.is_running():
            return False
        checkpoints, split = self.checkpoints(), self.current_split()
        problem = None
        if self._dataset is None:
            problem = "Open a data set first (File > Open data set)."
        elif not checkpoints:
            problem = "Choose a model to evaluate: a past run or a checkpoint file (Browse…)."
        elif split is None:
            problem = "This data set has no splits to evaluate."
        elif not self._labelled_count(split):
            others = [n for n in self._dataset.splits if n != split and self._labelled_count(n)]
            hint = f" Choose {others[0]!r} instead." if others else ""
            problem = f"The '{split}' split has no masks, so there is nothing to compare the predictions with.{hint}"
        if problem:
            self._show_message(problem, error=True)
            return False
        self._split = split
        total = self._labelled_count(split) * len(checkpoints)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self._show_message(f"Evaluating on '{split}'…")
        self._runner.start(checkpoints, self._dataset, split)
        self._update_buttons()
        return True

    def cancel_evaluation(self) -> None:
        if self._runner.is_running():
            self._runner.cancel()
            self._show_message("Cancelling after the current image…")

    def wait(self, timeout_s: float = 60.0) -> bool:
        return self._runner.wait(timeout_s)

    def shutdown(self) -> None:
        self._runner.shutdown()
        self._background.join()

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

    def export_table(self, path: str | Path, fmt: str | None = None) -> Path:
        """Write the table as CSV or Markdown (by `fmt` or the file suffix), atomically."""
        path = Path(path)
        fmt = fmt or ("markdown" if path.suffix.lower() in (".md", ".markdown") else "csv")
        rows = self.table_rows()
        text = _markdown(rows) if fmt == "markdown" else _csv(rows)
        _export_atomic(path, text.encode("utf-8"))
        return path

    def export_matrix_png(self, path: str | Path) -> Path:
        """Save the shown confusion matrix as a PNG at a readable size, atomically."""
        path = Path(path)
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.matrix_view.render_image().save(buffer, "PNG"):
            raise UserError(f"{path}: the confusion matrix could not be encoded as PNG")
        _export_atomic(path, bytes(data))
        return path

    # --- choices ---------------------------------------------------------------------------------
    def _fill_model_combos(self, runs: list) -> None:
        keep = [self.model_a_combo.currentData(), self.model_b_combo.currentData()]
        extra = [
            (combo.itemData(i), combo.itemText(i))
            for combo in (self.model_a_combo, self.model_b_combo)
            for i in range(combo.count())
            if combo.itemData(i) not in (None, BROWSE)
        ]
        for combo, empty in ((self.model_a_combo, "— choose a model —"), (self.model_b_combo, "— none —")):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(empty, None)
            for run in runs:
                if run.best_checkpoint is not None:
                    miou = f", best mIoU {run.best_miou:.3f}" if run.best_miou is not None else ""
                    combo.addItem(f"{run.name} ({_family(run.model)}{miou})", str(run.path))
            for data, text in extra:
                if combo.findData(data) < 0:
                    combo.addItem(text, data)
            combo.addItem("Browse for a checkpoint file…", BROWSE)
            combo.blockSignals(False)
        for combo, data in zip((self.model_a_combo, self.model_b_combo), keep, strict=True):
            index = combo.findData(data) if data else -1
            combo.setCurrentIndex(max(0, index))

    def _add_choice(self, data: str, text: str) -> None:
        for combo in (self.model_a_combo, self.model_b_combo):
            if combo.findData(data) < 0:
                combo.insertItem(combo.count() - 1, text, data)

    def _on_model_chosen(self, slot: int) -> None:
        combo = (self.model_a_combo, self.model_b_combo)[slot]
        if combo.currentData() == BROWSE:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Choose a checkpoint",
                str(self._runs_folder or Path.home()),
                "Checkpoints (*.pt);;All files (*)",
            )
            if path:
                self.set_checkpoint(slot, path)
            else:
                combo.setCurrentIndex(0)
        self._update_buttons()

    def _on_runs_listed(self, _token, result) -> None:
        if isinstance(result, list):
            self._fill_model_combos(result)
            self._update_buttons()

    def _labelled_count(self, split: str) -> int:
        if self._dataset is None or split not in self._dataset.splits:
            return 0
        return sum(1 for s in self._dataset.splits[split] if s.mask is not None)

    def _update_buttons(self) -> None:
        running = self._runner.is_running()
        self.evaluate_button.setEnabled(
            not running and self._dataset is not None and bool(self.checkpoints())
        )
        self.cancel_button.setEnabled(running)
        for widget in (self.model_a_combo, self.model_b_combo, self.split_combo):
            widget.setEnabled(not running)
        has_results = bool(self._results)
        self.export_table_button.setEnabled(has_results)
        self.save_matrix_button.setEnabled(has_results)

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

    def _on_failed(self, message: str) -> None:
        self.progress_bar.setVisible(False)
        self._show_message(message, error=True)
        self._update_buttons()

    def _on_cancelled(self) -> None:
        self.progress_bar.setVisible(False)
        self._show_message("Evaluation cancelled; the results shown (if any) are from the previous run.")
        self._update_buttons()

    # --- results ---------------------------------------------------------------------------------
    def _show_results(self) -> None:
        results = self._results
        letters = "AB"
        self.class_model.set_results(results)
        self.class_table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.class_model.sort(-1)
        self.models_label.setText(
            "  ".join(f"<b>{letters[i]}</b> = {r.title}" for i, r in enumerate(results))
            + f" — split '{self._split}', {len(results[0].result.per_image)} images"
        )
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.summary_table.setColumnCount(len(results))
        self.summary_table.setHorizontalHeaderLabels([f"Model {letters[i]}" for i in range(len(results))])
        self.summary_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for row, (_title, key) in enumerate(SUMMARY_ROWS):
            for col, r in enumerate(results):
                value = getattr(r.result.metrics, key)
                item = QTableWidgetItem(fmt3(value))
                item.setTextAlignment(NUMBER_ALIGN)
                if math.isnan(value):
                    item.setToolTip("NaN: no labelled pixels were scored")
                self.summary_table.setItem(row, col, item)
        self.matrix_model_combo.blockSignals(True)
        self.matrix_model_combo.clear()
        for i, r in enumerate(results):
            self.matrix_model_combo.addItem(f"Model {letters[i]}: {r.title}", i)
        self.matrix_model_combo.setVisible(len(results) > 1)
        self.matrix_model_combo.blockSignals(False)
        self._show_model_details()
        self._show_images()

    def _clear_results(self) -> None:
        self._results = []
        self.class_model.set_results([])
        self.summary_table.clearContents()
        self.models_label.setText("")
        self.matrix_view.clear()
        self.confusion_list.clear()
        self.image_table.setRowCount(0)
        self._update_buttons()

    def _current_result(self) -> ModelEvaluation | None:
        if not self._results:
            return None
        index = max(0, self.matrix_model_combo.currentIndex())
        return self._results[min(index, len(self._results) - 1)]

    def _show_model_details(self) -> None:
        current = self._current_result()
        if current is None:
            return
        scheme = current.scheme
        names = [c.name for c in scheme.classes]
        colors = [tuple(int(v) for v in c.color) for c in scheme.classes]
        self.matrix_view.set_matrix(current.result.confusion.matrix, names, colors, title=current.title)
        self.confusion_list.clear()
        self.confusion_label.setText("Click a cell to list the images with the most pixels of that mistake.")

    def _show_images(self) -> None:
        """Every image with each model's mIoU and pixel accuracy, sorted by model A's mIoU, worst first."""
        letters = ["A", "B"] if len(self._results) > 1 else [""]
        headers = ["Image"]
        for kind in ("mIoU", "Pixel accuracy"):
            headers += [f"{kind} {letter}".strip() for letter in letters[: len(self._results)]]
        scores = [{name: (miou, acc) for name, miou, acc in r.result.per_image} for r in self._results]
        order = sorted(self._results[0].result.per_image, key=lambda t: (math.isnan(t[1]), t[1], t[0]))
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
        by = ", sorted by model A" if len(self._results) > 1 else ""
        self.images_label.setText(
            f"Each image's mean IoU (over the classes in its mask or its prediction), worst first{by}. "
            "Click one to see its error map in the viewer."
        )

    def _on_cell_clicked(self, gt_id: int, pred_id: int) -> None:
        current = self._current_result()
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
            self.open_sample_requested.emit(self._split, name, "error")

    def _open_image_row(self, row: int) -> None:
        item = self.image_table.item(row, 0)
        if item is not None:
            self.open_sample_requested.emit(self._split, item.text(), "error")

    # --- export dialogs --------------------------------------------------------------------------
    def _ask_export_table(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export table", "class_iou.csv", "CSV (*.csv);;Markdown (*.md)"
        )
        if path:
            fmt = "markdown" if chosen.startswith("Markdown") or path.lower().endswith(".md") else "csv"
            self._export(lambda: self.export_table(path, fmt), path)

    def _ask_export_matrix(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save confusion matrix", "confusion_matrix.png", "PNG (*.png)"
        )
        if path:
            self._export(lambda: self.export_matrix_png(path), path)

    def _export(self, write, path: str) -> None:
        try:
            write()
        except UserError as exc:
            self._show_message(str(exc), error=True)
        except OSError as exc:
            self._show_message(
                f"{path}: could not be saved ({exc.strerror or exc}); choose another folder.", error=True
            )
        else:
            self._show_message(f"Saved {path}")


def _export_atomic(path: Path, data: bytes) -> None:
    atomic_write(
        path,
        lambda f: f.write(data),
        what="could not be saved",
        fix="choose another folder",
        create_folder=False,
    )


def _family(model: str) -> str:
    try:
        from segviewer.core.models import MODEL_TITLES
    except ImportError:
        return model
    return MODEL_TITLES.get(model, model)


def _choice_label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.is_file() or path.suffix else path.name


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
    window.add_close_check(lambda _w: (pane.shutdown(), True)[1])
    pane.set_runs_folder(None)
    return pane
