"""The augmentations pane: what training will see — a grid of random versions of the current sample.

Each transform has an on/off box, a chance (probability) and a strength; presets load and save as
JSON (segviewer.core.augment). Previews are computed on a worker thread, newest request only, and are
repeatable: the grid shows seeds seed, seed + 1, …; Reshuffle moves on to the next seeds.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.augment import (
    TRANSFORM_NAMES,
    TRANSFORM_TITLES,
    Preset,
    TransformSpec,
    apply_single,
    builtin_presets,
    load_preset,
    preview_grid,
    save_preset,
)
from segviewer.core.errors import UserError
from segviewer.gui.image_utils import to_qimage
from segviewer.gui.overlay import blend
from segviewer.gui.workers import LatestTaskRunner

PREVIEW_MAX_WIDTH = 640  # previews are small tiles: augmenting a smaller copy keeps them quick
DEBOUNCE_MS = 150
CUSTOM = "custom"
ERROR_STYLE = "color: #a01010;"


class PreviewGrid(QWidget):
    """Tiles of equal size, each scaled to fit and captioned, laid out in `columns` columns."""

    def __init__(self, columns: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self._images: list = []  # QImage per tile
        self._captions: list[str] = []
        self._empty_text = "Select an image in the data set list to preview augmentations"
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_tiles(self, pictures: list[np.ndarray], captions: list[str]) -> None:
        self._images = [to_qimage(p) for p in pictures]
        self._captions = list(captions)
        self.update()

    def set_empty_text(self, text: str) -> None:
        self._images, self._captions, self._empty_text = [], [], text
        self.update()

    def tile_count(self) -> int:
        return len(self._images)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(45, 45, 48))
        if not self._images:
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._empty_text
            )
            return
        gap, caption_h = 6, painter.fontMetrics().height() + 2
        cols = min(self.columns, len(self._images))
        rows = math.ceil(len(self._images) / cols)
        aspect = self._images[0].height() / max(1, self._images[0].width())
        tile_w = (self.width() - gap * (cols + 1)) / cols
        tile_w = min(tile_w, ((self.height() - gap * (rows + 1)) / rows - caption_h) / aspect)
        tile_w, tile_h = max(8, int(tile_w)), max(8, int(tile_w * aspect))
        left = (self.width() - cols * tile_w - (cols - 1) * gap) // 2
        top = (self.height() - rows * (tile_h + caption_h) - (rows - 1) * gap) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setPen(QColor(225, 225, 225))
        for i, image in enumerate(self._images):
            r, c = divmod(i, cols)
            x, y = left + c * (tile_w + gap), top + r * (tile_h + caption_h + gap)
            painter.drawImage(QRect(x, y, tile_w, tile_h), image)
            caption = QRect(x, y + tile_h, tile_w, caption_h)
            painter.drawText(
                caption, Qt.AlignmentFlag.AlignCenter, self._captions[i] if i < len(self._captions) else ""
            )


class _TransformRow:
    """The controls of one transform: on/off, chance and strength (slider + spin box), Preview alone."""

    def __init__(self, name: str, grid: QGridLayout, row: int, changed, solo_toggled) -> None:
        self.name = name
        self.enabled = QCheckBox(TRANSFORM_TITLES.get(name, name))
        self.enabled.setToolTip("Use this transform when augmenting")
        self.p_slider, self.p_spin = _slider_pair("Chance that this transform is applied to an image")
        self.s_slider, self.s_spin = _slider_pair(
            "How strong the effect is, from mild (0 %) to strong (100 %)"
        )
        self.solo = QToolButton()
        self.solo.setText("Show alone")
        self.solo.setCheckable(True)
        self.solo.setToolTip("Preview only this transform, always applied, at its strength")
        if name == "hflip":  # a flip has no strength to set
            self.s_slider.setVisible(False)
            self.s_spin.setVisible(False)
        for col, widget in enumerate(
            (self.enabled, self.p_slider, self.p_spin, self.s_slider, self.s_spin, self.solo)
        ):
            grid.addWidget(widget, row, col)
        self.enabled.toggled.connect(lambda _on: (self._update_enabled(), changed()))
        for spin in (self.p_spin, self.s_spin):
            spin.valueChanged.connect(lambda _v: changed())
        self.solo.toggled.connect(lambda on: solo_toggled(self.name, on))

    def set_spec(self, spec: TransformSpec) -> None:
        self.enabled.setChecked(spec.enabled)
        self.p_spin.setValue(round(100 * spec.p))
        self.s_spin.setValue(round(100 * spec.strength))
        self._update_enabled()

    def spec(self) -> TransformSpec:
        return TransformSpec(
            self.name, self.p_spin.value() / 100, self.s_spin.value() / 100, self.enabled.isChecked()
        )

    def _update_enabled(self) -> None:
        on = self.enabled.isChecked()
        self.p_slider.setEnabled(on)
        self.p_spin.setEnabled(on)


def _slider_pair(tooltip: str) -> tuple[QSlider, QSpinBox]:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setMinimumWidth(70)
    spin = QSpinBox()
    spin.setRange(0, 100)
    spin.setSuffix(" %")
    for widget in (slider, spin):
        widget.setToolTip(tooltip)
    slider.valueChanged.connect(spin.setValue)
    spin.valueChanged.connect(slider.setValue)
    return slider, spin


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
        self._request = 0
        self._dirty = False
        self._solo: str | None = None
        self._loading_preset = False
        self._runner = LatestTaskRunner(self)
        self._runner.finished.connect(self._on_previews)
        self._runner.failed.connect(self._on_failed)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._request_previews)
        self._build(columns)
        self._presets = builtin_presets()
        for name in self._presets:
            self.preset_combo.addItem(name, name)
        self.select_preset("standard" if "standard" in self._presets else next(iter(self._presets), CUSTOM))

    # --- layout ----------------------------------------------------------------------------------
    def _build(self, columns: int) -> None:
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("A named set of transforms; editing a value makes it a custom preset")
        self.preset_combo.activated.connect(lambda _i: self.select_preset(self.preset_combo.currentData()))
        self.save_button = QPushButton("Save preset…")
        self.save_button.clicked.connect(self._ask_save)
        self.load_button = QPushButton("Load preset…")
        self.load_button.clicked.connect(self._ask_load)
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

        controls = QWidget()
        table = QGridLayout(controls)
        for col, title in enumerate(("Transform", "Chance", "", "Strength", "", "")):
            label = QLabel(f"<b>{title}</b>")
            table.addWidget(label, 0, col)
        self.rows = {
            name: _TransformRow(name, table, i + 1, self._on_controls_changed, self._on_solo_toggled)
            for i, name in enumerate(TRANSFORM_NAMES)
        }
        table.setColumnStretch(1, 1)
        table.setColumnStretch(3, 1)
        table.setRowStretch(len(TRANSFORM_NAMES) + 1, 1)  # rows packed at the top
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setMaximumHeight(controls.sizeHint().height() + 2 * scroll.frameWidth())

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
        if image is not None and image.shape[1] > PREVIEW_MAX_WIDTH:
            scale = PREVIEW_MAX_WIDTH / image.shape[1]
            size = (PREVIEW_MAX_WIDTH, max(1, round(image.shape[0] * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            if mask is not None:
                mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        if mask is not None and image is not None and mask.shape != image.shape[:2]:
            mask = None  # a mask of the wrong size: the viewer already says so
        self._image, self._mask, self._sample_name = image, mask, name
        self._ignore_index = int(ignore_index)
        if palette is not None:
            self._palette = np.asarray(palette, np.uint8)
        self._schedule(immediately=True)

    def current_preset(self) -> Preset:
        """The preset the controls describe (every transform, disabled ones included)."""
        name = self.preset_combo.currentData() or CUSTOM
        return Preset(name, [row.spec() for row in self.rows.values()])

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
        if name in self._presets:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(name))
            self.set_preset(self._presets[name])

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
            drawn = np.ones(256, bool)
            drawn[self._ignore_index] = False
            return [
                blend(im, m, self._palette, alpha, drawn) if m is not None else im for im, m in self._results
            ]
        return [im for im, _m in self._results]

    def save_preset_to(self, path: str | Path) -> bool:
        """Save the controls as a preset file; errors are shown in the pane. True when saved."""
        path = Path(path)
        preset = self.current_preset()
        preset.name = path.stem
        try:
            save_preset(preset, path)
        except UserError as exc:
            self._show_error(str(exc))
            return False
        self._show_error(None)
        self._presets[preset.name] = preset
        self._add_preset_item(preset.name)
        self.preset_saved.emit(str(path))
        return True

    def load_preset_from(self, path: str | Path) -> bool:
        """Load a preset file into the controls; errors (naming the file) are shown in the pane."""
        try:
            preset = load_preset(Path(path))
        except UserError as exc:
            self._show_error(str(exc))
            return False
        self._show_error(None)
        self._presets[preset.name] = preset
        self._add_preset_item(preset.name)
        self.select_preset(preset.name)
        return True

    def shutdown(self) -> None:
        self._debounce.stop()
        self._runner.wait(10000)

    # --- events ----------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._dirty:
            QTimer.singleShot(0, self._request_previews)  # after the pane has painted once

    def _on_controls_changed(self) -> None:
        if self._loading_preset:
            return
        if self.preset_combo.currentData() != CUSTOM:
            self._add_preset_item(CUSTOM, "custom (edited)")
        self._schedule()

    def _on_solo_toggled(self, name: str, on: bool) -> None:
        if on:
            for other, row in self.rows.items():
                if other != name and row.solo.isChecked():
                    row.solo.blockSignals(True)
                    row.solo.setChecked(False)
                    row.solo.blockSignals(False)
            self._solo = name
        elif self._solo == name:
            self._solo = None
        self._schedule(immediately=True)

    def _add_preset_item(self, name: str, text: str | None = None) -> None:
        if self.preset_combo.findData(name) < 0:
            self.preset_combo.addItem(text or name, name)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(name))

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
            self.grid.set_empty_text("Select an image in the data set list to preview augmentations")
            self.caption.setText("")
            return
        _import_albumentations()
        self._request += 1
        image, mask, seed, count, ignore = (
            self._image,
            self._mask,
            self.seed(),
            self.count,
            self._ignore_index,
        )
        if self._solo is not None:
            strength = self.rows[self._solo].spec().strength
            name = self._solo
            work = lambda: [apply_single(name, image, mask, strength, seed + i, ignore) for i in range(count)]  # noqa: E731
        else:
            preset = self.current_preset()
            work = lambda: preview_grid(image, mask, preset, count, seed, ignore)  # noqa: E731
        self._runner.submit(self._request, work)

    def _on_previews(self, request: int, results: list) -> None:
        if request != self._request:
            return  # a newer request is on its way
        self._results = results
        self._show_error(None)
        self._show_results()
        self.previews_updated.emit()

    def _on_failed(self, request: int, exc: BaseException) -> None:
        if request == self._request:
            self._show_error(f"Could not compute the previews: {exc}")

    def _show_results(self) -> None:
        if not self._results:
            return
        seed = self.seed()
        captions = [f"seed {seed + i}" for i in range(len(self._results))]
        self.grid.set_tiles(self.preview_pictures(), captions)
        what = self._sample_name or "this image"
        if self._solo is not None:
            row = self.rows[self._solo].spec()
            self.caption.setText(
                f"<b>{TRANSFORM_TITLES.get(self._solo, self._solo)}</b> alone, always applied, at strength "
                f"{row.strength:.0%}, on {what}"
            )
        else:
            active = sum(1 for r in self.rows.values() if r.spec().enabled and r.spec().p > 0)
            self.caption.setText(
                f"{len(self._results)} random versions of {what} as training may see them "
                f"(preset <b>{self.preset_combo.currentText()}</b>, {active} transforms on)"
            )

    def _show_error(self, text: str | None) -> None:
        self.message_label.setText(text or "")
        self.message_label.setVisible(bool(text))

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save augmentation preset", "my-preset.json", "Presets (*.json)"
        )
        if path:
            self.save_preset_to(path if path.lower().endswith(".json") else path + ".json")

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load augmentation preset", "", "Presets (*.json);;All files (*)"
        )
        if path:
            self.load_preset_from(path)


def _import_albumentations() -> None:
    """albumentations imports for ~1.5 s; doing it in the worker would hold the GIL and freeze the UI
    anyway, so it happens here, on the UI thread, once, before the first preview."""
    import os

    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations  # noqa: F401


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
    window.add_close_check(lambda _w: (pane.shutdown(), True)[1])
    return pane
