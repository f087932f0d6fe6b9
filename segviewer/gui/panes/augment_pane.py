"""The augmentations pane: what training will see — a grid of random versions of the current sample.

Each transform has an on/off box, a chance (probability) and a strength; presets load and save as
JSON (segviewer.core.augment). Previews are computed on a worker thread, newest request only, and are
repeatable: the grid shows seeds seed, seed + 1, …; Reshuffle moves on to the next seeds.

The parts live next door: the picture grid (augment_preview_grid), the transform table
(augment_transform_rows), the preset box with its files (augment_presets) and the widget-free
preview work (augment_preview_work).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.augment import Preset, TransformSpec
from segviewer.core.augment_preview import (
    grid_caption,
    import_albumentations,
    overlay_masks,
    preview_job,
    shrink_for_preview,
)
from segviewer.gui import background
from segviewer.gui.panes.augment_presets import PresetChooser
from segviewer.gui.panes.augment_preview_grid import NO_SAMPLE_TEXT, PreviewGrid
from segviewer.gui.panes.augment_transform_rows import build_transform_table

DEBOUNCE_MS = 150
ERROR_STYLE = "color: #a01010;"


class AugmentPane(QWidget):
    """Preview grid, seed and overlay controls, preset load/save and one row of controls per transform."""

    preset_saved = Signal(str)  # path of a preset JSON file the user saved
    previews_updated = Signal()  # the grid shows new pictures

    def __init__(self, count: int = 8, columns: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = count
        self._image: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._palette = np.zeros((256, 3), np.uint8)
        self._ignore_index = 255
        self._sample_name = ""
        self._results: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._dirty = False
        self._solo: str | None = None
        self._loading_preset = False
        self._previews = background.Latest()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._request_previews)
        self._build(columns)
        self.preset_chooser.select_default()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self, columns: int) -> None:
        self.preset_chooser = PresetChooser(
            self, self.current_preset, self.set_preset, self._show_error, self.preset_saved.emit
        )
        self.preset_combo = self.preset_chooser.combo
        self.save_button = self.preset_chooser.save_button
        self.load_button = self.preset_chooser.load_button
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_000_000_000)
        self.seed_spin.setMinimumWidth(90)
        self.seed_spin.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.seed_spin.setToolTip("The same seed always gives the same pictures")
        self.seed_spin.valueChanged.connect(lambda _v: self._schedule())
        self.reshuffle_button = QPushButton("Reshuffle")
        self.reshuffle_button.setToolTip("Show new random versions (moves the seed on)")
        self.reshuffle_button.clicked.connect(self.reshuffle)
        self.mask_check = QCheckBox("Show mask")
        self.mask_check.setChecked(True)
        self.mask_check.setToolTip("Draw the (augmented) ground truth over each picture")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(40)
        self.opacity_slider.setMaximumWidth(120)
        self.opacity_slider.setToolTip("Mask opacity")
        self.mask_check.toggled.connect(lambda _on: self._show_results())
        self.opacity_slider.valueChanged.connect(lambda _v: self._show_results())
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.setVisible(False)
        self.grid = PreviewGrid(columns)

        top = QHBoxLayout()
        top.addWidget(QLabel("Preset:"))
        top.addWidget(self.preset_combo, 1)
        top.addWidget(self.save_button)
        top.addWidget(self.load_button)
        second = QHBoxLayout()
        second.addWidget(QLabel("Seed:"))
        second.addWidget(self.seed_spin)
        second.addWidget(self.reshuffle_button)
        second.addStretch(1)
        second.addWidget(self.mask_check)
        second.addWidget(QLabel("Opacity:"))
        second.addWidget(self.opacity_slider)

        scroll, self.rows = build_transform_table(self._on_controls_changed, self._on_solo_toggled)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(self.caption)
        upper_layout.addWidget(self.grid, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.message_label)
        layout.addWidget(splitter, 1)

    # --- public API ------------------------------------------------------------------------------
    def set_sample(
        self,
        image: np.ndarray | None,
        mask: np.ndarray | None,
        palette: np.ndarray | None = None,
        ignore_index: int = 255,
        name: str = "",
    ) -> None:
        """The pair to augment (RGB uint8 and training ids), the colours to draw the mask with."""
        image, mask = shrink_for_preview(image, mask)
        self._image, self._mask, self._sample_name = image, mask, name
        self._ignore_index = int(ignore_index)
        if palette is not None:
            self._palette = np.asarray(palette, np.uint8)
        self._schedule(immediately=True)

    def current_preset(self) -> Preset:
        """The preset the controls describe (every transform, disabled ones included)."""
        return Preset(self.preset_chooser.name(), [row.spec() for row in self.rows.values()])

    def set_preset(self, preset: Preset) -> None:
        """Show `preset` in the controls (transforms it does not list are switched off)."""
        listed = {spec.name: spec for spec in preset.transforms}
        self._loading_preset = True
        try:
            for name, row in self.rows.items():
                row.set_spec(listed.get(name) or TransformSpec(name, 0.5, 0.5, enabled=False))
        finally:
            self._loading_preset = False
        self._schedule()

    def select_preset(self, name: str) -> None:
        self.preset_chooser.select(name)

    def seed(self) -> int:
        return self.seed_spin.value()

    def set_seed(self, seed: int) -> None:
        self.seed_spin.setValue(int(seed))

    def reshuffle(self) -> None:
        """New random versions: move on by `count` seeds so no picture repeats."""
        self.seed_spin.setValue(self.seed_spin.value() + self.count)

    def preview_results(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """The augmented (image, mask) pairs the grid shows, in order."""
        return list(self._results)

    def preview_pictures(self) -> list[np.ndarray]:
        """The pictures drawn in the grid (with the mask overlay when it is on)."""
        if self.mask_check.isChecked():
            alpha = self.opacity_slider.value() / 100
            return overlay_masks(self._results, self._palette, alpha, self._ignore_index)
        return [im for im, _m in self._results]

    def save_preset_to(self, path: str | Path) -> bool:
        """Save the controls as a preset file; errors are shown in the pane. True when saved."""
        return self.preset_chooser.save_to(path)

    def load_preset_from(self, path: str | Path) -> bool:
        """Load a preset file into the controls; errors (naming the file) are shown in the pane."""
        return self.preset_chooser.load_from(path)

    def shutdown(self) -> None:
        self._debounce.stop()
        self._previews.shutdown()

    # --- events ----------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._dirty:
            QTimer.singleShot(0, self._request_previews)  # after the pane has painted once

    def _on_controls_changed(self) -> None:
        if self._loading_preset:
            return
        self.preset_chooser.mark_edited()
        self._schedule()

    def _on_solo_toggled(self, name: str, on: bool) -> None:
        if on:  # the table has let go of any other Show alone
            self._solo = name
        elif self._solo == name:
            self._solo = None
        self._schedule(immediately=True)

    def _schedule(self, immediately: bool = False) -> None:
        if self._loading_preset:
            return
        self._dirty = True
        self._debounce.start(0 if immediately else DEBOUNCE_MS)

    def _request_previews(self) -> None:
        if not self.isVisible():
            return  # computed when the pane is shown (showEvent)
        self._dirty = False
        if self._image is None:
            self._results = []
            self.grid.set_empty_text(NO_SAMPLE_TEXT)
            self.caption.setText("")
            return
        import_albumentations()
        sample = (self._image, self._mask, self.seed(), self.count, self._ignore_index)
        if self._solo is not None:
            work = preview_job(*sample, solo=self._solo, strength=self.rows[self._solo].spec().strength)
        else:
            work = preview_job(*sample, preset=self.current_preset())
        self._previews.start(self._compute(work))

    async def _compute(self, work) -> None:
        try:
            self._results = await self._previews.run(work)
        except Exception as exc:  # noqa: BLE001 - shown in the pane
            self._show_error(f"Could not compute the previews: {exc}")
            return
        self._show_error(None)
        self._show_results()
        self.previews_updated.emit()

    def _show_results(self) -> None:
        if not self._results:
            return
        seed = self.seed()
        captions = [f"seed {seed + i}" for i in range(len(self._results))]
        self.grid.set_tiles(self.preview_pictures(), captions)
        title, specs = self.preset_combo.currentText(), [row.spec() for row in self.rows.values()]
        self.caption.setText(grid_caption(len(self._results), self._sample_name, title, specs, self._solo))

    def _show_error(self, text: str | None) -> None:
        self.message_label.setText(text or "")
        self.message_label.setVisible(bool(text))


def install_augment_pane(window) -> AugmentPane:
    """Dock the pane and keep it on the viewer's current sample."""
    pane = AugmentPane()
    window.add_pane("Augmentations", pane, Qt.DockWidgetArea.RightDockWidgetArea)

    def follow_viewer(sample=None) -> None:
        viewer = window.viewer
        scheme = viewer.scheme
        pane.set_sample(
            viewer.current_image(),
            viewer.current_mask(),
            palette=viewer.palette(),
            ignore_index=scheme.ignore_index if scheme is not None else 255,
            name=getattr(sample, "name", ""),
        )

    window.viewer.sample_shown.connect(follow_viewer)
    window.add_shutdown(pane.shutdown)
    return pane
