"""The viewer: one sample with its ground truth and prediction overlays, a legend and a hover readout.

Pictures are composed in numpy (segviewer.gui.overlay) and converted to a QImage once per change;
images load and models predict off the UI thread, the newest request first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError
from segviewer.core.labels import LabelScheme, colorblind_palette
from segviewer.gui.image_utils import placeholder_image, to_qimage
from segviewer.gui.overlay import MODE_TITLES, MODES, class_shares, compose, source_pixel
from segviewer.gui.panes.image_view import ImageView
from segviewer.gui.panes.legend import LegendWidget
from segviewer.gui.prediction import PredictionService
from segviewer.gui.workers import LatestTaskRunner

NEEDS_MODEL = ("prediction", "error")
WELCOME = "Open a data set with File › Open data set… (Ctrl+O)"


def load_sample(dataset: Dataset, sample: Sample) -> dict[str, Any]:
    """Decode image and mask (worker thread). A bad mask is reported, not fatal; a bad image raises."""
    image = dataset.load_image(sample)
    gt, note = None, None
    if sample.mask is not None:
        try:
            gt = dataset.load_mask(sample)
        except UserError as exc:
            note = str(exc)
        else:
            if gt.shape != image.shape[:2]:
                note = (
                    f"{sample.mask}: the mask is {gt.shape[1]}x{gt.shape[0]} but the image is "
                    f"{image.shape[1]}x{image.shape[0]}; replace the mask with one of the image's size"
                )
                gt = None
    return {"image": image, "gt": gt, "gt_shares": class_shares(gt) if gt is not None else None, "note": note}


class ViewerPane(QWidget):
    sample_shown = Signal(object)  # the Sample whose image (or placeholder) is now on screen
    frame_shown = Signal()  # a new picture was drawn
    hover_text_changed = Signal(str)
    status_message = Signal(str)
    mode_changed = Signal(str)

    def __init__(self, predictions: PredictionService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.predictions = predictions
        self.scheme: LabelScheme | None = None
        self._colorblind = False
        self._mode = "gt"
        self._sample: Sample | None = None
        self._image: np.ndarray | None = None
        self._gt: np.ndarray | None = None
        self._gt_shares: np.ndarray | None = None
        self._pred: tuple[np.ndarray, np.ndarray] | None = None
        self._broken = False
        self._picture: np.ndarray | None = None
        self._hover = (-1, -1)
        self._loader = LatestTaskRunner(self)
        self._loader.finished.connect(self._on_loaded)
        self._loader.failed.connect(self._on_load_failed)
        self._render_timer = QTimer(self, singleShot=True, interval=0)
        self._render_timer.timeout.connect(self._render)
        self._build()
        predictions.model_changed.connect(self._on_model_changed)
        predictions.prediction_ready.connect(self._on_prediction)
        predictions.prediction_failed.connect(self._on_prediction_failed)
        self._show_message(WELCOME)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.mode_group = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setSpacing(2)
        self.mode_buttons: dict[str, QToolButton] = {}
        for number, mode in enumerate(MODES, 1):
            button = QToolButton()
            button.setText(MODE_TITLES[mode])
            button.setCheckable(True)
            button.setToolTip(f"{MODE_TITLES[mode]} (key {number})")
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            bar.addWidget(button)
        self.mode_buttons[self._mode].setChecked(True)
        bar.addSpacing(16)
        bar.addWidget(QLabel("Opacity"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(120)
        self.opacity_slider.setToolTip("How strongly the class colours cover the image ([ and ] keys)")
        self.opacity_label = QLabel("50%")
        self.opacity_label.setMinimumWidth(36)
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        bar.addWidget(self.opacity_slider)
        bar.addWidget(self.opacity_label)
        bar.addStretch(1)
        self.zoom_label = QLabel("")
        self.fit_button = QToolButton(text="Fit")
        self.fit_button.setToolTip("Fit the image to the window (F)")
        self.one_button = QToolButton(text="1:1")
        self.one_button.setToolTip("Show the image at its actual size (Ctrl+0)")
        bar.addWidget(self.zoom_label)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.one_button)

        self.caption = QLabel("")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view = ImageView()
        self.legend = LegendWidget()
        self.legend.setMinimumWidth(230)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.legend)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([800, 250])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.caption)
        layout.addWidget(self.splitter, 1)

        self.fit_button.clicked.connect(self.view.fit_to_window)
        self.one_button.clicked.connect(self.view.actual_size)
        self.view.zoom_changed.connect(lambda s: self.zoom_label.setText(f"{100 * s:.0f}%"))
        self.view.hovered.connect(self._on_hover)
        self.legend.visibility_changed.connect(self.request_render)
        self.legend.colorblind_toggled.connect(self.set_colorblind)
        self._update_mode_buttons()

    # --- public API ----------------------------------------------------------------------------
    def set_scheme(self, scheme: LabelScheme | None) -> None:
        self.scheme = scheme
        if scheme is not None:
            self.legend.set_scheme(scheme, self.palette())
        self.clear()

    def palette(self, scheme: LabelScheme | None = None) -> np.ndarray:
        scheme = scheme or self.scheme
        if scheme is None:
            return np.zeros((256, 3), np.uint8)
        return colorblind_palette(scheme) if self._colorblind else scheme.palette

    def show_sample(self, dataset: Dataset, sample: Sample) -> None:
        """Load and show `sample` (asynchronously: `sample_shown` then `frame_shown` follow)."""
        self._loader.submit(sample, lambda: load_sample(dataset, sample))

    def clear(self) -> None:
        self._sample, self._image, self._gt, self._pred, self._broken = None, None, None, None, False
        self.caption.setText("")
        self.legend.set_shares(None, None)
        self._show_message(WELCOME if self.scheme is None else "No sample selected")

    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown viewer mode {mode!r}; use one of {', '.join(MODES)}")
        if mode in NEEDS_MODEL and self.predictions.predictor is None:
            self.status_message.emit("Load a checkpoint (Model › Load checkpoint…) to see predictions and errors.")
        self._mode = mode
        self.mode_buttons[mode].setChecked(True)
        self.legend.set_error_key_visible(mode == "error")
        self._update_caption()
        self.mode_changed.emit(mode)
        self.request_render()

    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0

    def set_opacity(self, value: float) -> None:
        self.opacity_slider.setValue(round(100 * max(0.0, min(1.0, value))))

    def set_colorblind(self, enabled: bool) -> None:
        self._colorblind = bool(enabled)
        if self.legend.colorblind.isChecked() != self._colorblind:
            self.legend.colorblind.setChecked(self._colorblind)
        if self.scheme is not None:
            self.legend.set_palette(self.palette())
        self.request_render()

    def colorblind(self) -> bool:
        return self._colorblind

    def current_sample(self) -> Sample | None:
        return self._sample

    def current_image(self) -> np.ndarray | None:
        """RGB uint8 of the sample on screen (None when nothing, or a placeholder, is shown)."""
        return None if self._broken else self._image

    def current_mask(self) -> np.ndarray | None:
        return self._gt

    def current_prediction(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self._pred

    def picture(self) -> np.ndarray | None:
        """The composed RGB picture on screen, at image resolution."""
        return self._picture

    def refresh_prediction(self) -> None:
        """Ask the model for the current image again (e.g. after a new checkpoint was loaded)."""
        self._pred = None
        if self._sample is not None and not self._broken and self._image is not None:
            self.predictions.request(str(self._sample.image), self._image)
        self._update_caption()
        self.request_render()

    def request_render(self) -> None:
        if not self._render_timer.isActive():
            self._render_timer.start()

    def shutdown(self) -> None:
        self._loader.wait(5000)

    # --- internals -----------------------------------------------------------------------------
    def _on_loaded(self, sample: Sample, result: dict[str, Any]) -> None:
        self._sample, self._broken = sample, False
        self._image, self._gt = result["image"], result["gt"]
        self._gt_shares = result["gt_shares"]
        self._pred = None
        if result["note"]:
            self.status_message.emit(result["note"])
        hit = self.predictions.cached(str(sample.image)) if self.predictions.predictor is not None else None
        if hit is not None:
            self._pred = hit
        else:
            self.predictions.request(str(sample.image), self._image)
        self._update_legend()
        self._update_caption()
        self.request_render()
        self.sample_shown.emit(sample)

    def _on_load_failed(self, sample: Sample, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, UserError) else f"{sample.image}: could not be shown ({type(exc).__name__}: {exc})"
        self._sample, self._broken = sample, True
        self._gt, self._pred, self._gt_shares = None, None, None
        self._image = placeholder_image(640, 360, f"This image cannot be shown.\n\n{message}")
        self.legend.set_shares(None, None)
        self.status_message.emit(message)
        self._update_caption()
        self.request_render()
        self.sample_shown.emit(sample)

    def _on_prediction(self, key: str, mask: np.ndarray, confidence: np.ndarray) -> None:
        if self._sample is None or key != str(self._sample.image) or self._broken:
            return
        if self._image is not None and mask.shape != self._image.shape[:2]:
            self.status_message.emit(f"The model's prediction is {mask.shape[1]}x{mask.shape[0]}, not the image's size; it is not shown.")
            return
        self._pred = (mask, confidence)
        self._update_legend()
        self._update_caption()
        self.request_render()

    def _on_prediction_failed(self, key: str, message: str) -> None:
        if self._sample is not None and key == str(self._sample.image):
            self.status_message.emit(message)
            self._update_caption()

    def _on_model_changed(self, predictor: Any) -> None:
        self.legend.set_prediction_column(predictor is not None and self._same_scheme(predictor))
        self._update_mode_buttons()
        if predictor is None and self._mode in NEEDS_MODEL:
            self.set_mode("gt")
        self.refresh_prediction()

    def _same_scheme(self, predictor: Any) -> bool:
        other = getattr(predictor, "scheme", None)
        return self.scheme is not None and other is not None and other.names == self.scheme.names

    def _update_mode_buttons(self) -> None:
        has_model = self.predictions.predictor is not None
        for mode in NEEDS_MODEL:
            button = self.mode_buttons[mode]
            button.setEnabled(has_model)
            tip = f"{MODE_TITLES[mode]} (key {MODES.index(mode) + 1})"
            button.setToolTip(tip if has_model else f"{tip}: load a checkpoint first (Model menu)")

    def _update_legend(self) -> None:
        pred_shares = class_shares(self._pred[0]) if self._pred is not None else None
        self.legend.set_shares(self._gt_shares, pred_shares)

    def _update_caption(self) -> None:
        if self._sample is None:
            self.caption.setText("")
            return
        parts = [f"<b>{self._sample.name}</b>"]
        if self._image is not None and not self._broken:
            parts.append(f"{self._image.shape[1]} × {self._image.shape[0]}")
        if self._sample.mask is None:
            parts.append("no ground truth")
        if self.predictions.predictor is not None and not self._broken:
            parts.append("prediction ready" if self._pred is not None else "predicting…")
        if self._mode == "side":
            parts.append("left: ground truth · right: " + ("prediction" if self.predictions.predictor is not None else "image"))
        self.caption.setText("  ·  ".join(parts))

    def _on_opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        self.request_render()

    def _show_message(self, text: str) -> None:
        self._picture = None
        self.view.set_image(to_qimage(placeholder_image(640, 360, text)))

    def _render(self) -> None:
        if self._image is None or self.scheme is None:
            return
        if self._broken:
            picture = self._image
        else:
            pred = self._pred[0] if self._pred is not None else None
            palette, drawn = self.palette(), self.legend.drawn_lut(self.scheme.ignore_index)
            predictor = self.predictions.predictor
            if self._mode == "prediction" and predictor is not None and not self._same_scheme(predictor):
                # a model trained for other classes: draw its own colours, every class
                pred_scheme = predictor.scheme
                palette = self.palette(pred_scheme)
                drawn = np.ones(256, bool)
                drawn[pred_scheme.ignore_index] = False
            picture = compose(self._image, self._gt, pred, self._mode, palette, self.opacity(), drawn, self.scheme.ignore_index)
        self._picture = picture
        self.view.set_image(to_qimage(picture))
        self._on_hover(*self._hover)
        self.frame_shown.emit()

    def _on_hover(self, x: int, y: int) -> None:
        self._hover = (x, y)
        self.hover_text_changed.emit(self._hover_text(x, y))

    def _hover_text(self, x: int, y: int) -> str:
        if x < 0 or self._image is None or self._broken or self.scheme is None:
            return ""
        h, w = self._image.shape[:2]
        pos = source_pixel(x, y, self._mode, w, h)
        if pos is None:
            return ""
        x, y = pos
        r, g, b = (int(v) for v in self._image[y, x])
        parts = [f"x {x}, y {y}", f"RGB {r}, {g}, {b}"]
        if self._gt is not None:
            parts.append(f"ground truth: {self.scheme.name_of(int(self._gt[y, x]))}")
        if self._pred is not None:
            pred_scheme = getattr(self.predictions.predictor, "scheme", None) or self.scheme
            mask, confidence = self._pred
            parts.append(f"prediction: {pred_scheme.name_of(int(mask[y, x]))} ({100 * float(confidence[y, x]):.0f}% sure)")
        return "  ·  ".join(parts)
