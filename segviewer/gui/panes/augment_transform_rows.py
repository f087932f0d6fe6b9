"""The augmentations pane's transform table: per transform an on/off box, chance, strength, Show alone."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from segviewer.core.augment import TRANSFORM_NAMES, TRANSFORM_TITLES, TransformSpec


class TransformRow:
    """The controls of one transform: on/off, chance and strength (slider + spin box), Preview alone."""

    def __init__(self, name: str, grid: QGridLayout, row: int, changed, solo_toggled) -> None:
        self.name = name
        self.enabled = QCheckBox(TRANSFORM_TITLES.get(name, name))
        self.enabled.setToolTip("Use this transform when augmenting")
        self.p_slider, self.p_spin = slider_pair("Chance that this transform is applied to an image")
        self.s_slider, self.s_spin = slider_pair(
            "How strong the effect is, from mild (0 %) to strong (100 %)"
        )
        self.solo = QToolButton()
        self.solo.setText("Show alone")
        self.solo.setCheckable(True)
        self.solo.setToolTip("Preview only this transform, always applied, at its strength")
        self.sliders = (self.p_slider, self.s_slider)  # the ones this row shows
        if name == "hflip":  # a flip has no strength to set
            self.sliders = (self.p_slider,)
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


def slider_pair(tooltip: str) -> tuple[QSlider, QSpinBox]:
    """A 0–100 % slider and spin box that follow each other."""
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setMinimumWidth(48)
    spin = QSpinBox()
    spin.setRange(0, 100)
    spin.setSuffix(" %")
    for widget in (slider, spin):
        widget.setToolTip(tooltip)
    slider.valueChanged.connect(spin.setValue)
    spin.valueChanged.connect(slider.setValue)
    return slider, spin


class _TransformTable(QWidget):
    """The table's widget: without its sliders (the spin boxes set the same values) when the pane is
    too narrow for them, so that every column, Show alone included, stays in view on a laptop screen."""

    def measure(self, rows: list[TransformRow]) -> None:
        self._sliders = [slider for row in rows for slider in row.sliders]
        self._full_width = self.layout().totalMinimumSize().width()
        self._show_sliders(False)
        self._compact_width = self.layout().totalMinimumSize().width()
        self._show_sliders(True)

    def _show_sliders(self, on: bool) -> None:
        self.sliders_shown = on
        for slider in self._sliders:
            slider.setVisible(on)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self._compact_width), hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        wide = event.size().width() >= self._full_width
        if wide != self.sliders_shown:
            self._show_sliders(wide)
        super().resizeEvent(event)


def build_transform_table(
    changed: Callable[[], None], solo_toggled: Callable[[str, bool], None]
) -> tuple[QScrollArea, dict[str, TransformRow]]:
    """A titled table with one row per transform, in a scroll area no taller than the table needs.

    `changed()` is called when any value is edited, `solo_toggled(name, on)` when a Show alone button is;
    pressing one lets go of any other first, so at most one is down.
    """
    controls = _TransformTable()
    table = QGridLayout(controls)
    table.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # the scroll area may narrow it
    table.setContentsMargins(4, 4, 4, 4)  # the scroll area frames it already
    table.setHorizontalSpacing(4)
    for col, span, title in ((0, 1, "Transform"), (1, 2, "Chance"), (3, 2, "Strength")):
        table.addWidget(QLabel(f"<b>{title}</b>"), 0, col, 1, span)  # over a slider and its spin box

    def on_solo_toggled(name: str, on: bool) -> None:
        if on:
            for other, row in rows.items():
                if other != name and row.solo.isChecked():
                    row.solo.blockSignals(True)
                    row.solo.setChecked(False)
                    row.solo.blockSignals(False)
        solo_toggled(name, on)

    rows = {
        name: TransformRow(name, table, i + 1, changed, on_solo_toggled)
        for i, name in enumerate(TRANSFORM_NAMES)
    }
    table.setColumnStretch(1, 1)
    table.setColumnStretch(3, 1)
    table.setRowStretch(len(TRANSFORM_NAMES) + 1, 1)  # rows packed at the top
    controls.measure(list(rows.values()))
    scroll = QScrollArea()
    scroll.setWidget(controls)
    scroll.setWidgetResizable(True)
    scroll.setMaximumHeight(controls.sizeHint().height() + 2 * scroll.frameWidth())
    return scroll, rows
