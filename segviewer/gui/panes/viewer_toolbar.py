"""The viewer's tool row: what to show (image, ground truth, prediction, both, errors), opacity, zoom."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolBar,
    QToolButton,
    QWidget,
)

from segviewer.core.overlay import MODE_TITLES, MODES

NEEDS_MODEL = ("prediction", "error")


class ViewerToolbar(QWidget):
    """A QToolBar inside: on a narrow screen what does not fit folds into its » menu instead of
    widening the window past the screen."""

    mode_clicked = Signal(str)
    opacity_changed = Signal(float)
    fit_clicked = Signal()
    actual_size_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QToolBar(self)
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setStyleSheet("QToolBar { border: none; spacing: 2px; }")
        layout.addWidget(bar)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode in MODES:
            button = QToolButton(text=MODE_TITLES[mode], checkable=True)
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            button.clicked.connect(lambda _=False, m=mode: self.mode_clicked.emit(m))
            bar.addWidget(button)
        bar.addWidget(_gap(16))
        bar.addWidget(QLabel("Opacity"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(120)
        self.opacity_slider.setToolTip("How strongly the class colours cover the image ([ and ] keys)")
        self.opacity_label = QLabel("50%")
        self.opacity_label.setMinimumWidth(36)
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        bar.addWidget(self.opacity_slider)
        bar.addWidget(self.opacity_label)
        stretch = QWidget()
        stretch.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(stretch)
        self.zoom_label = QLabel("")
        self.fit_button = QToolButton(text="Fit")
        self.fit_button.setToolTip("Fit the image to the window (F)")
        self.one_button = QToolButton(text="1:1")
        self.one_button.setToolTip("Show the image at its actual size (Ctrl+0)")
        self.fit_button.clicked.connect(self.fit_clicked)
        self.one_button.clicked.connect(self.actual_size_clicked)
        for widget in (self.zoom_label, self.fit_button, self.one_button):
            bar.addWidget(widget)
        self.set_model_available(False)

    def set_mode(self, mode: str) -> None:
        self.mode_buttons[mode].setChecked(True)

    def set_opacity(self, value: float) -> None:
        """Show `value` (0..1) without sending it back as a change."""
        self.opacity_slider.blockSignals(True)
        self.opacity_slider.setValue(round(100 * value))
        self.opacity_slider.blockSignals(False)
        self.opacity_label.setText(f"{round(100 * value)}%")

    def set_zoom(self, scale: float) -> None:
        self.zoom_label.setText(f"{100 * scale:.0f}%")

    def set_model_available(self, available: bool) -> None:
        """Prediction and error map need a model: disabled, with a tooltip saying so, until one is loaded."""
        for number, mode in enumerate(MODES, 1):
            tip = f"{MODE_TITLES[mode]} (key {number})"
            button = self.mode_buttons[mode]
            if mode in NEEDS_MODEL:
                button.setEnabled(available)
                tip = tip if available else f"{tip}: load a checkpoint first (Model menu)"
            button.setToolTip(tip)

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        self.opacity_changed.emit(value / 100.0)


def _gap(width: int) -> QWidget:
    gap = QWidget()
    gap.setFixedWidth(width)
    return gap
