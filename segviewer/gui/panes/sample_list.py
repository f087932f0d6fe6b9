"""The list model behind the data set pane: one split's samples, filtered, thumbnails on demand."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from segviewer.core.datasets import Sample
from segviewer.gui.thumbnails import ThumbnailLoader

SAMPLE_ROLE = Qt.ItemDataRole.UserRole + 1


class SampleListModel(QAbstractListModel):
    """The samples of one split, filtered to `rows`; thumbnails are asked for only when a row is painted."""

    def __init__(self, loader: ThumbnailLoader, parent: Any = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self._samples: list[Sample] = []
        self._rows = np.zeros(0, np.int64)  # sample index per visible row
        self._row_of = np.zeros(0, np.int64)  # visible row per sample index, -1 when filtered out
        self._index_of_key: dict[str, int] = {}
        self._edited: set[str] = set()  # `Sample.key` of samples with a correction

    def set_samples(self, samples: list[Sample]) -> None:
        self.beginResetModel()
        self._samples = list(samples)
        self._index_of_key = {s.key: i for i, s in enumerate(self._samples)}
        self._edited.update(s.key for s in self._samples if s.corrected)
        self._set_rows(np.arange(len(self._samples)))
        self.endResetModel()

    def set_rows(self, rows: np.ndarray) -> None:
        """Show only these sample indices (in this order)."""
        self.beginResetModel()
        self._set_rows(np.asarray(rows, np.int64))
        self.endResetModel()

    def _set_rows(self, rows: np.ndarray) -> None:
        self._rows = rows
        self._row_of = np.full(len(self._samples), -1, np.int64)
        self._row_of[rows] = np.arange(len(rows))

    def mark_edited(self, sample: Sample) -> None:
        """A correction of `sample` was saved: its row says "edited" from now on."""
        key = sample.key
        if key in self._edited:
            return
        self._edited.add(key)
        row = self.row_of_key(key)
        if row >= 0:
            self.dataChanged.emit(self.index(row), self.index(row))

    def forget_edited(self) -> None:
        """Another data set: only its own corrected samples count as edited."""
        self._edited.clear()

    def edited_flags(self) -> np.ndarray:
        """(n,) bool per sample of the split: True where it has a correction."""
        return np.fromiter((s.key in self._edited for s in self._samples), bool, len(self._samples))

    @property
    def samples(self) -> list[Sample]:
        return self._samples

    def sample_at(self, row: int) -> Sample | None:
        return self._samples[int(self._rows[row])] if 0 <= row < len(self._rows) else None

    def row_of(self, sample_index: int) -> int:
        return int(self._row_of[sample_index]) if 0 <= sample_index < len(self._row_of) else -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        sample = self.sample_at(index.row()) if index.isValid() else None
        if sample is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if sample.key in self._edited:
                return f"{sample.name}\n✎ edited"
            return sample.name if sample.mask is not None else f"{sample.name}\n(no mask)"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.loader.request(sample.image, sample.frame) or self.loader.placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{sample.image}\nmask: {sample.mask or 'none'}"
        if role == SAMPLE_ROLE:
            return sample
        return None

    def row_of_key(self, key: str) -> int:
        """Visible row of the sample whose `Sample.key` is `key`; -1 when not shown."""
        index = self._index_of_key.get(key)
        return self.row_of(index) if index is not None else -1
