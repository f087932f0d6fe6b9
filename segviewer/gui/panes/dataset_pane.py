"""The data set pane: split, name and class filters, and a virtualised list of every sample with thumbnails."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.class_presence import class_presence
from segviewer.core.datasets import Dataset, Sample
from segviewer.gui import background
from segviewer.gui.image_utils import swatch_icon
from segviewer.gui.panes.sample_list import SampleListModel
from segviewer.gui.thumbnails import ThumbnailLoader

FORMAT_TITLES = {
    "bdd100k-10k": "BDD100K 10K layout",
    "bdd100k-2018": "BDD100K 2018 layout",
    "cityscapes": "Cityscapes layout",
    "camvid": "CamVid layout",
    "folder": "Plain folder",
}


class DatasetPane(QWidget):
    """Lists the chosen split; `sample_selected(Sample)` fires whenever the current row changes."""

    sample_selected = Signal(object)
    split_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Dataset | None = None
        self.loader = ThumbnailLoader(parent=self)
        self.model = SampleListModel(self.loader, self)
        self._presence: dict[
            str, tuple[np.ndarray, np.ndarray]
        ] = {}  # split -> (present (n,256), known (n,))
        self._stats_task: asyncio.Task | None = None
        self._stats_split = ""
        self._quiet = False
        self._build()

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.info_label = QLabel("No data set open")
        self.info_label.setWordWrap(True)
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which part of the data set to list")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("Show only images whose ground truth contains this class")
        self.edited_only = QCheckBox("Edited only")
        self.edited_only.setToolTip("List only the samples whose mask was corrected")
        self.count_label = QLabel("")
        self.stats_bar = QProgressBar()
        self.stats_bar.setTextVisible(True)
        self.stats_bar.setFormat("Finding classes… %p%")
        self.stats_cancel = QPushButton("Stop")
        self.stats_cancel.setToolTip("Stop looking through the masks")
        self.list_view = QListView()
        self.list_view.setModel(self.model)
        self.list_view.setViewMode(QListView.ViewMode.ListMode)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setIconSize(self.loader.size)
        self.list_view.setSpacing(1)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

        form = QHBoxLayout()
        form.addWidget(QLabel("Split"))
        form.addWidget(self.split_combo, 1)
        stats = QHBoxLayout()
        stats.addWidget(self.stats_bar, 1)
        stats.addWidget(self.stats_cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.info_label)
        layout.addLayout(form)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.class_combo)
        layout.addWidget(self.edited_only)
        layout.addLayout(stats)
        layout.addWidget(self.count_label)
        layout.addWidget(self.list_view, 1)
        self._show_stats_progress(False)
        self._inputs = (
            self.split_combo,
            self.filter_edit,
            self.class_combo,
            self.edited_only,
            self.list_view,
        )
        for widget in self._inputs:
            widget.setEnabled(False)  # until a data set is open

        self.split_combo.currentIndexChanged.connect(self._on_split_changed)
        self.filter_edit.textChanged.connect(self._refilter)
        self.class_combo.currentIndexChanged.connect(self._on_class_filter_changed)
        self.edited_only.toggled.connect(self._refilter)
        self.stats_cancel.clicked.connect(self.stop_class_statistics)
        self.list_view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.loader.loaded.connect(self._on_thumbnail_loaded)
        self._refilter_timer = QTimer(self, singleShot=True, interval=300)
        self._refilter_timer.timeout.connect(self._refilter)

    # --- public API ----------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset | None) -> None:
        """Show a newly opened data set (None: nothing); cancels work still running for the old one."""
        self.stop_class_statistics()
        self.loader.clear()
        self._presence.clear()
        self.model.forget_edited()
        self.dataset = dataset
        self.split_combo.blockSignals(True)
        self.class_combo.blockSignals(True)
        self.split_combo.clear()
        self.class_combo.clear()
        self.filter_edit.clear()
        if dataset is not None:
            self._fill_splits(dataset)
            self.class_combo.addItem("Any class", None)
            for cls in dataset.scheme.classes:
                self.class_combo.addItem(swatch_icon(cls.color), f"Contains: {cls.name}", cls.id)
            layout = FORMAT_TITLES.get(dataset.format, dataset.format)
            scheme = dataset.scheme
            self.info_label.setText(
                f"<b>{dataset.root.name}</b><br>{layout} · {scheme.num_classes} classes ({scheme.name})"
            )
            self.info_label.setToolTip(str(dataset.root) + _problems_text(dataset.problems))
        else:
            self.info_label.setText("No data set open")
        self.split_combo.blockSignals(False)
        self.class_combo.blockSignals(False)
        for widget in self._inputs:
            widget.setEnabled(dataset is not None)
        self._on_split_changed()

    def grow(self, dataset: Dataset) -> None:
        """The open data set again, with more samples (the demo set while it is being drawn).

        The split, the filters and the selected sample stay; new samples join the list.
        """
        if self.dataset is None or dataset.root != self.dataset.root:
            self.set_dataset(dataset)
            return
        current = self.current_sample()
        self.stop_class_statistics()
        self._presence.clear()
        self.dataset = dataset
        self.split_combo.blockSignals(True)
        self._fill_splits(dataset, keep=self.current_split())
        self.split_combo.blockSignals(False)
        self.model.set_samples(self._samples())
        self._names_lower = [s.name.lower() for s in self.model.samples]
        self._refilter(select_first=current is None)
        if current is not None and current in self.model.samples:
            self._select_row(self.model.row_of(self.model.samples.index(current)), emit=False)
        self._maybe_start_statistics()

    def _fill_splits(self, dataset: Dataset, keep: str | None = None) -> None:
        self.split_combo.clear()
        for name, samples in dataset.splits.items():
            labelled = sum(s.mask is not None for s in samples)
            note = (
                ""
                if labelled == len(samples)
                else (" (no masks)" if labelled == 0 else f" ({labelled} with masks)")
            )
            self.split_combo.addItem(f"{name} — {_count(len(samples), 'sample')}{note}", name)
        index = self.split_combo.findData(keep) if keep else -1
        if index < 0:
            index = next((i for i, n in enumerate(dataset.splits) if dataset.splits[n]), 0)
        self.split_combo.setCurrentIndex(index)

    def current_split(self) -> str | None:
        return self.split_combo.currentData()

    def current_sample(self) -> Sample | None:
        return self.model.sample_at(self.list_view.currentIndex().row())

    def set_split(self, split: str) -> bool:
        index = self.split_combo.findData(split)
        if index < 0:
            return False
        self.split_combo.setCurrentIndex(index)
        return True

    def select_sample(self, name: str) -> bool:
        """Make the sample called `name` (in the current split) current; clears filters hiding it."""
        names = [s.name for s in self.model.samples]
        if name not in names:
            return False
        index = names.index(name)
        if self.model.row_of(index) < 0:
            self.filter_edit.clear()
            self.class_combo.setCurrentIndex(0)
            self.edited_only.setChecked(False)
        self._select_row(self.model.row_of(index))
        return True

    def neighbour(self, step: int) -> Sample | None:
        """The sample `step` rows from the current one in the filtered list (None past the ends)."""
        row = self.list_view.currentIndex().row()
        return self.model.sample_at(row + step) if row >= 0 else None

    def select_relative(self, step: int) -> None:
        """Next (+1) or previous (-1) sample of the filtered list."""
        row = self.list_view.currentIndex().row()
        self._select_row(max(0, min(self.model.rowCount() - 1, row + step)))

    def mark_edited(self, sample: Sample) -> None:
        """`sample` now has a correction (the mask editor saved one)."""
        self.model.mark_edited(sample)

    def stop_class_statistics(self) -> None:
        if self._stats_task is not None:
            self._stats_task.cancel()  # the generator stops at its next sample
        self._stats_task = None
        self._show_stats_progress(False)

    def shutdown(self) -> None:
        """Stop every background job (window closing)."""
        self.stop_class_statistics()
        self.loader.shutdown()

    # --- internals -----------------------------------------------------------------------------
    def _samples(self) -> list[Sample]:
        split = self.current_split()
        return self.dataset.splits.get(split, []) if self.dataset is not None and split else []

    def _on_split_changed(self) -> None:
        self.stop_class_statistics()
        self.model.set_samples(self._samples())
        self._names_lower = [s.name.lower() for s in self.model.samples]
        self._refilter(select_first=True)
        self._maybe_start_statistics()
        self.split_changed.emit(self.current_split() or "")

    def _on_class_filter_changed(self) -> None:
        self._maybe_start_statistics()
        self._refilter()

    def _maybe_start_statistics(self) -> None:
        split = self.current_split()
        if self.class_combo.currentData() is None or self.dataset is None or not split:
            return
        n = len(self.model.samples)
        present, known = self._presence.setdefault(split, (np.zeros((n, 256), bool), np.zeros(n, bool)))
        if known.all() or (self._stats_task is not None and self._stats_split == split):
            return
        self.stop_class_statistics()
        self.stats_bar.setRange(0, n)
        self.stats_bar.setValue(int(known.sum()))
        self._show_stats_progress(True)
        self._stats_split = split
        self._stats_task = background.spawn(self._find_classes(split, np.flatnonzero(~known)))

    async def _find_classes(self, split: str, todo: np.ndarray) -> None:
        """Look through the masks of `todo` (rows of `split`) for the class filter, in the background."""
        dataset, samples = self.dataset, self.model.samples
        chosen = [samples[i] for i in todo]
        try:
            async for items in background.stream(lambda stop: class_presence(dataset, chosen, stop)):
                self._on_presence(split, todo, items)
        finally:
            if self._stats_task is asyncio.current_task():
                self._stats_task = None
                self._show_stats_progress(False)
                self._refilter()

    def _on_presence(self, split: str, todo: np.ndarray, items: list) -> None:
        present, known = self._presence[split]
        for item in items:
            index = todo[item.index]
            known[index] = True
            if item.present is not None:
                present[index] = item.present
        self.stats_bar.setValue(int(known.sum()))
        if not self._refilter_timer.isActive():
            self._refilter_timer.start()

    def _show_stats_progress(self, visible: bool) -> None:
        self.stats_bar.setVisible(visible)
        self.stats_cancel.setVisible(visible)

    def _refilter(self, *_args: Any, select_first: bool = False) -> None:
        current = self.current_sample()
        total = len(self.model.samples)
        keep = np.ones(total, bool)
        text = self.filter_edit.text().strip().lower()
        if text:
            keep &= np.fromiter((text in n for n in self._names_lower), bool, total)
        if self.edited_only.isChecked():
            keep &= self.model.edited_flags()
        class_id = self.class_combo.currentData()
        note = ""
        split = self.current_split()
        if class_id is not None and split in self._presence:
            present, known = self._presence[split]
            keep &= present[:, class_id]
            if not known.all():
                note = f" · searched {int(known.sum()):,} of {total:,}"
        self.model.set_rows(np.flatnonzero(keep))
        shown = self.model.rowCount()
        self.count_label.setText(f"{shown:,} of {_count(total, 'sample')}{note}")
        names = self.model.samples
        row = self.model.row_of(names.index(current)) if current is not None and current in names else -1
        if row >= 0:
            self._select_row(row, emit=False)
        elif shown and (select_first or current is not None):
            self._select_row(0)  # the viewer shows a sample of the list, not one the filters hide

    def _select_row(self, row: int, emit: bool = True) -> None:
        if row < 0 or row >= self.model.rowCount():
            return
        index = self.model.index(row)
        self._quiet = not emit
        try:
            self.list_view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        finally:
            self._quiet = False
        self.list_view.scrollTo(index)

    def _on_thumbnail_loaded(self, key: str) -> None:
        # Repaint just that item. (dataChanged would make QListView walk every row: 20 ms at 10,000.)
        row = self.model.row_of_key(key)
        if row >= 0:
            rect = self.list_view.visualRect(self.model.index(row))
            if rect.intersects(self.list_view.viewport().rect()):
                self.list_view.viewport().update(rect)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        sample = self.model.sample_at(current.row())
        if sample is not None and not self._quiet:
            self.sample_selected.emit(sample)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _problems_text(problems: list[str]) -> str:
    if not problems:
        return ""
    lines = "\n".join(problems[:15])
    more = f"\n… and {len(problems) - 15} more" if len(problems) > 15 else ""
    return f"\n\n{len(problems)} problem(s) found while listing:\n{lines}{more}"
