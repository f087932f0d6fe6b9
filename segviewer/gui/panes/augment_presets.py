"""The augmentations pane's presets: the preset box, its Save / Load buttons and the presets it knows.

Presets are JSON files (segviewer.core.augment); the built-in ones are listed first, files the user saves
or loads are added by name, and editing any value switches the box to "custom (edited)".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFileDialog, QPushButton, QWidget

from segviewer.core.augment import Preset, builtin_presets, load_preset, save_preset
from segviewer.core.errors import UserError

CUSTOM = "custom"


class PresetChooser:
    """The preset widgets (the pane lays them out) and the presets by name.

    It does not know the transform controls; it talks to them through plain callables: `current()` gives
    the preset the controls describe, `show(preset)` puts one into them, `report(text)` shows an error
    (None clears it) and `saved(path)` says that a preset file was written.
    """

    def __init__(
        self,
        dialog_parent: QWidget,
        current: Callable[[], Preset],
        show: Callable[[Preset], None],
        report: Callable[[str | None], None],
        saved: Callable[[str], None],
    ) -> None:
        self._dialog_parent = dialog_parent
        self._current, self._show, self._report, self._saved = current, show, report, saved
        self.combo = QComboBox()
        self.combo.setToolTip("A named set of transforms; editing a value makes it a custom preset")
        self.combo.activated.connect(lambda _i: self.select(self.combo.currentData()))
        self.save_button = QPushButton("Save preset…")
        self.save_button.clicked.connect(self._ask_save)
        self.load_button = QPushButton("Load preset…")
        self.load_button.clicked.connect(self._ask_load)
        self._presets = builtin_presets()
        for name in self._presets:
            self.combo.addItem(name, name)

    def name(self) -> str:
        """The name of the chosen preset, "custom" once a value was edited."""
        return self.combo.currentData() or CUSTOM

    def select(self, name: str) -> None:
        """Choose a known preset and show it in the controls; unknown names are ignored."""
        if name in self._presets:
            self.combo.setCurrentIndex(self.combo.findData(name))
            self._show(self._presets[name])

    def select_default(self) -> None:
        self.select("standard" if "standard" in self._presets else next(iter(self._presets), CUSTOM))

    def mark_edited(self) -> None:
        if self.combo.currentData() != CUSTOM:
            self._add_item(CUSTOM, "custom (edited)")

    def save_to(self, path: str | Path) -> bool:
        """Save the controls as a preset file named after it; errors are reported. True when saved."""
        path = Path(path)
        preset = self._current()
        preset.name = path.stem
        try:
            save_preset(preset, path)
        except UserError as exc:
            self._report(str(exc))
            return False
        self._keep(preset)
        self._saved(str(path))
        return True

    def load_from(self, path: str | Path) -> bool:
        """Load a preset file and choose it; errors (naming the file) are reported. True when loaded."""
        try:
            preset = load_preset(Path(path))
        except UserError as exc:
            self._report(str(exc))
            return False
        self._keep(preset)
        self.select(preset.name)
        return True

    def _keep(self, preset) -> None:
        """A preset saved or loaded without error: clear the message and offer it in the list."""
        self._report(None)
        self._presets[preset.name] = preset
        self._add_item(preset.name)

    def _add_item(self, name: str, text: str | None = None) -> None:
        if self.combo.findData(name) < 0:
            self.combo.addItem(text or name, name)
        self.combo.setCurrentIndex(self.combo.findData(name))

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._dialog_parent, "Save augmentation preset", "my-preset.json", "Presets (*.json)"
        )
        if path:
            self.save_to(path if path.lower().endswith(".json") else path + ".json")

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._dialog_parent, "Load augmentation preset", "", "Presets (*.json);;All files (*)"
        )
        if path:
            self.load_from(path)
