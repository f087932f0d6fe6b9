"""The Review pane: runs label review (core/review.py) in the background and lists images worst first.

Choosing an image asks the window to open it with its suspect pixels (`open_sample_requested`), and
'Mark as reviewed' is remembered per sample in the data set's corrections folder. All background work
goes through `_start_review` and `_start_overlay`, so switching to another worker model touches only them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.corrections import Corrections
from segviewer.core.datasets import Dataset
from segviewer.gui import background
from segviewer.gui.suspect_layer import install_suspect_layer

COLUMNS = ("Sample", "Score", "Suspect px", "Top pairs (given → predicted)", "Reviewed")
REVIEWED_MARK = "✓"


class _Loaded:
    """First item of a review job: the model and the data set it reviews (kept to draw overlays)."""

    def __init__(self, predictor: Any, dataset: Dataset) -> None:
        self.predictor, self.dataset = predictor, dataset


class ReviewPane(QWidget):
    # split, sample name, suspect pixels (H, W) bool at the image's size
    open_sample_requested = Signal(str, str, object)
    review_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dataset: Dataset | None = None
        self._checkpoint: Path | None = None
        self._task: asyncio.Task | None = None
        self._loaded: _Loaded | None = None
        self._result: Any = None
        self._build()
        self._update_buttons()

    # --- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.checkpoint_label = QLabel("Model: none (load a checkpoint)")
        self.checkpoint_label.setWordWrap(True)
        layout.addWidget(self.checkpoint_label)
        row = QHBoxLayout()
        row.addWidget(QLabel("Split"))
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Review a split the model was not trained on: its scores are unbiased")
        row.addWidget(self.split_combo, 1)
        self.run_button = QPushButton("Review labels")
        self.run_button.clicked.connect(self.start_review)
        row.addWidget(self.run_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setFormat("")  # no "0 / 100" before a review has counted its images
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)  # one line per image, elided, so the list stays a list
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):  # the class pairs get the room the short columns do not need
            mode = QHeaderView.ResizeMode.Stretch if col == 3 else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(col, mode)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.reviewed_button = QPushButton("Mark as reviewed")
        self.reviewed_button.clicked.connect(self._on_mark_reviewed)
        row.addWidget(self.reviewed_button)
        row.addStretch(1)
        layout.addLayout(row)

    # --- inputs --------------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        """Offer the data set's labelled splits, val first (a model is rarely trained on it)."""
        if self._task is not None:  # a review of the previous data set: stop it, drop what it sends
            self._task.cancel()
            self._task = None
        self._dataset = dataset
        self._clear_results()
        self.split_combo.clear()
        if dataset is not None:
            labelled = [name for name in dataset.splits if dataset.labelled(name)]
            labelled.sort(key=lambda name: (name != "val", name))
            self.split_combo.addItems(labelled)
        self._update_buttons()

    def set_checkpoint(self, path: str | Path | None) -> None:
        self._checkpoint = Path(path) if path else None
        self.checkpoint_label.setText(
            f"Model: {self._checkpoint}" if path else "Model: none (load a checkpoint)"
        )
        self._update_buttons()

    # --- running -------------------------------------------------------------------------------
    def start_review(self) -> None:
        if self._dataset is None or self._checkpoint is None or self.running:
            return
        self._clear_results()
        self.status.setText("Loading the model…")
        self._start_review(self._checkpoint, self._dataset.root, self.split_combo.currentText())
        self._update_buttons()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def running(self) -> bool:
        return self._task is not None

    def shutdown(self) -> None:
        """Stop a running review (the window is closing)."""
        self.cancel()
        self._task = None

    def _start_review(self, checkpoint: Path, root: Path, split: str) -> None:
        """The review job as a background stream: `_Loaded`, then (done, total) items, then the result."""

        def make(should_stop):
            from segviewer.core import paths
            from segviewer.core.evaluation import open_for_checkpoint
            from segviewer.core.predict import Predictor
            from segviewer.core.review import iter_review

            predictor = Predictor.from_checkpoint(checkpoint, threads=paths.background_cores())
            dataset = open_for_checkpoint(predictor, root)
            yield _Loaded(predictor, dataset)
            for item in iter_review(predictor, dataset, split):
                if should_stop():
                    return
                yield item

        self._task = background.spawn(self._review(make))

    async def _review(self, make) -> None:
        mine = asyncio.current_task()
        message = None
        try:
            async for items in background.stream(make):
                self._on_produced(items)
        except asyncio.CancelledError:
            if self._task is mine:
                self._end(mine, "Review cancelled.")
            raise
        except Exception as exc:  # noqa: BLE001 - shown in the pane
            message = str(exc)
        self._end(mine, message)

    def _start_overlay(self, split: str, name: str) -> None:
        """Suspect pixels of one image, computed off the UI thread, then the open request."""
        from segviewer.core.review import suspect_overlay

        loaded, result = self._loaded, self._result
        sample = next(s for s in loaded.dataset.labelled(split) if s.name == name)

        def compute() -> np.ndarray:
            image, mask = loaded.dataset.load_image(sample), loaded.dataset.load_mask(sample)
            return suspect_overlay(loaded.predictor, image, mask, result)

        async def open_with_overlay() -> None:
            try:
                overlay = await background.call(compute, low_priority=True)
            except Exception as exc:  # noqa: BLE001 - shown in the pane
                self.status.setText(str(exc))
                return
            self.open_sample_requested.emit(split, name, overlay)

        background.spawn(open_with_overlay())

    # --- results -------------------------------------------------------------------------------
    def _on_produced(self, items: list) -> None:
        from segviewer.core.review import ReviewResult

        for item in items:
            if isinstance(item, _Loaded):
                self._loaded = item
                self.status.setText("Reviewing…")
            elif isinstance(item, ReviewResult):
                self._result = item
            else:
                done, total = item
                self.progress.setFormat("%p%")  # two passes over the images: a share, not a count
                self.progress.setMaximum(total)
                self.progress.setValue(done)

    def _end(self, task: asyncio.Task | None, message: str | None) -> None:
        if task is not self._task:  # a review that was replaced: nothing of it is shown
            return
        self._task = None
        if message is not None or self._result is None:
            self._result = None
            self.status.setText(message or "Review cancelled.")
        else:
            self._show_result()
            self.review_finished.emit()
        self._update_buttons()

    def _show_result(self) -> None:
        result = self._result
        reviewed = self._reviewed(result.split)
        self.table.setRowCount(len(result.images))
        for row, image in enumerate(result.images):
            pairs = ", ".join(f"{g} → {p}: {n}" for g, p, n in image.pairs[:3]) or "–"
            cells = (
                image.sample,
                f"{image.score:.4f}",
                str(image.suspect_pixels),
                pairs,
                REVIEWED_MARK if image.sample in reviewed else "",
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (1, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 3:  # a narrow pane elides the pairs; the tooltip has every one of them
                    item.setToolTip("\n".join(f"{g} → {p}: {n} px" for g, p, n in image.pairs))
                self.table.setItem(row, col, item)
        notes = [f"{len(result.images)} images of '{result.split}', most suspicious first."]
        notes += result.warnings
        if result.skipped:
            notes.append(f"{len(result.skipped)} images skipped: {result.skipped[0]}")
        self.status.setText("\n".join(notes))

    def _clear_results(self) -> None:
        self._result = None
        self._loaded = None
        self.table.setRowCount(0)
        self.progress.setValue(0)
        self.status.setText("")

    # --- choosing and marking ------------------------------------------------------------------
    def _selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def _on_selection_changed(self) -> None:
        name = self._selected()
        self._update_buttons()
        if name is not None and self._result is not None and self._loaded is not None:
            self._start_overlay(self._result.split, name)

    def _on_mark_reviewed(self) -> None:
        name = self._selected()
        if name is None or self._result is None or self._dataset is None:
            return
        split = self._result.split
        done = name not in self._reviewed(split)
        try:
            Corrections(self._dataset.root).set_reviewed(split, name, done)
        except Exception as exc:  # noqa: BLE001 - a message, never a crash
            self.status.setText(str(exc))
            return
        row = self.table.selectionModel().selectedRows()[0].row()
        self.table.item(row, 4).setText(REVIEWED_MARK if done else "")
        self._update_buttons()

    def _reviewed(self, split: str) -> set[str]:
        if self._dataset is None:
            return set()
        try:
            return Corrections(self._dataset.root).reviewed(split)
        except Exception as exc:  # noqa: BLE001 - an unreadable marks file is reported, not fatal
            self.status.setText(str(exc))
            return set()

    def _update_buttons(self) -> None:
        ready = self._dataset is not None and self._checkpoint is not None and self.split_combo.count() > 0
        self.run_button.setEnabled(ready and not self.running)
        self.cancel_button.setEnabled(self.running)
        self.split_combo.setEnabled(not self.running)
        name = self._selected() if self._result is not None else None
        self.reviewed_button.setEnabled(name is not None)
        if name is not None and self._result is not None:
            marked = self.table.item(self.table.selectionModel().selectedRows()[0].row(), 4).text()
            self.reviewed_button.setText("Mark as not reviewed" if marked else "Mark as reviewed")
        else:
            self.reviewed_button.setText("Mark as reviewed")
        self.run_button.setToolTip(
            "Rank the split's images by how confidently the model disagrees with their masks"
            if ready or self.running
            else "Open a data set with labelled images and load a checkpoint first"
        )


def install_review_pane(window) -> ReviewPane:
    """Dock the pane and connect it to the window's data set, model and viewer hooks.

    Choosing an image opens it in the viewer with its suspect pixels drawn over it (gui/suspect_layer.py).
    """
    pane = ReviewPane()
    window.add_pane("Review", pane, Qt.DockWidgetArea.RightDockWidgetArea)
    window.dataset_opened.connect(pane.set_dataset)
    if window.dataset is not None:
        pane.set_dataset(window.dataset)
    window.model_loaded.connect(pane.set_checkpoint)
    install_suspect_layer(window, pane)
    window.add_shutdown(pane.shutdown)
    return pane
