"""The evaluation pane's model A / model B choice boxes: past runs, checkpoints added by hand, Browse.

Each box lists the runs of the runs folder that have a best checkpoint (listed on a helper thread), any
checkpoint offered or chosen since (kept when the runs are listed again), and a last entry that opens a
file dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from segviewer.gui import background

BROWSE = "__browse__"
EMPTY_TEXTS = ("— choose a model —", "— none —")


class ModelChoices(QObject):
    """Owns the two model combo boxes (the pane lays them out); slot 0 is model A, slot 1 model B."""

    changed = Signal()  # a checkpoint was chosen (by the user or `set_checkpoint`), or runs were listed

    def __init__(self, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self._dialog_parent = dialog_parent
        self.runs_folder: Path | None = None  # whose runs are listed; where the Browse dialog opens
        self.listing = background.Latest()
        self.model_a_combo, self.model_b_combo = QComboBox(), QComboBox()
        for combo, slot in ((self.model_a_combo, 0), (self.model_b_combo, 1)):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(24)
            combo.activated.connect(lambda _i, slot=slot: self._on_model_chosen(slot))
        self.model_a_combo.setToolTip(
            "The trained model to score: a past run (its best checkpoint) or a .pt file"
        )
        self.model_b_combo.setToolTip("Optional second model, shown in its own columns for comparison")
        self.fill([])

    @property
    def combos(self) -> tuple[QComboBox, QComboBox]:
        return self.model_a_combo, self.model_b_combo

    def checkpoints(self) -> list[str]:
        """The chosen checkpoints or run folders, model A first; empty slots left out."""
        chosen = [combo.currentData() for combo in self.combos]
        return [c for c in chosen if c and c != BROWSE]

    def set_enabled(self, enabled: bool) -> None:
        for combo in self.combos:
            combo.setEnabled(enabled)

    def set_runs_folder(self, folder: str | Path | None) -> None:
        """List that folder's past runs (None: the default runs folder) on a helper thread."""
        from segviewer.core import paths
        from segviewer.core.runs import list_runs

        self.runs_folder = Path(folder if folder is not None else paths.runs_dir())
        self.listing.start(self._list(list_runs, self.runs_folder))

    async def _list(self, list_runs, folder: Path) -> None:
        self.fill(await self.listing.run(list_runs, folder))
        self.changed.emit()

    def refresh_runs(self) -> None:
        """List the runs folder again (runs may have finished since the last look), if one was set."""
        if self.runs_folder is not None:
            self.set_runs_folder(self.runs_folder)

    def fill(self, runs: list) -> None:
        """List these runs (from `list_runs`), keeping hand-added choices and the current selection."""
        keep = [combo.currentData() for combo in self.combos]
        extra = [
            (combo.itemData(i), combo.itemText(i))
            for combo in self.combos
            for i in range(combo.count())
            if combo.itemData(i) not in (None, BROWSE)
        ]
        for combo, empty in zip(self.combos, EMPTY_TEXTS, strict=True):
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
        for combo, data in zip(self.combos, keep, strict=True):
            index = combo.findData(data) if data else -1
            combo.setCurrentIndex(max(0, index))

    def add_choice(self, data: str, text: str) -> None:
        """Offer a checkpoint in both boxes (just above Browse) unless it is listed already."""
        for combo in self.combos:
            if combo.findData(data) < 0:
                combo.insertItem(combo.count() - 1, text, data)

    def set_checkpoint(self, slot: int, path: str | Path | None, label: str | None = None) -> None:
        """Choose a checkpoint file or run folder for model A (slot 0) or B (slot 1); None clears B."""
        combo = self.combos[slot]
        if path is None:
            combo.setCurrentIndex(0)
            return
        index = combo.findData(str(path))
        if index < 0:
            self.add_choice(str(path), label or choice_label(Path(path)))
            index = combo.findData(str(path))
        combo.setCurrentIndex(index)
        self.changed.emit()

    def _on_model_chosen(self, slot: int) -> None:
        combo = self.combos[slot]
        if combo.currentData() == BROWSE:
            path, _ = QFileDialog.getOpenFileName(
                self._dialog_parent,
                "Choose a checkpoint",
                str(self.runs_folder or Path.home()),
                "Models (*.pt *.onnx);;All files (*)",
            )
            if path:
                self.set_checkpoint(slot, path)
            else:
                combo.setCurrentIndex(0)
        self.changed.emit()


def choice_label(path: Path) -> str:
    """How a checkpoint outside the runs list is named: its folder and file name."""
    return f"{path.parent.name}/{path.name}" if path.is_file() or path.suffix else path.name


def _family(model: str) -> str:
    try:
        from segviewer.core.models import MODEL_TITLES
    except ImportError:
        return model
    return MODEL_TITLES.get(model, model)
