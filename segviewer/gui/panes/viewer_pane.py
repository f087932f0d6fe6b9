"""The viewer: one sample with its ground truth and prediction overlays, its legend and a hover readout.

Pictures are composed in numpy (segviewer.core.overlay) and converted to a QImage once per change;
images load and models predict off the UI thread, the newest request first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError
from segviewer.core.labels import LabelScheme, colorblind_palette
from segviewer.core.lru import LruCache
from segviewer.core.overlay import class_shares, compose, source_pixel, stack_side_by_side
from segviewer.core.sample_view import load_sample, nbytes, pixel_readout
from segviewer.core.session import Session
from segviewer.gui import background
from segviewer.gui.image_utils import placeholder_image, to_qimage
from segviewer.gui.panes.image_view import ImageView
from segviewer.gui.panes.legend import LegendWidget
from segviewer.gui.panes.viewer_toolbar import NEEDS_MODEL, ViewerToolbar
from segviewer.gui.prediction import PredictionService

DECODED_CACHE_BYTES = 128 * 2**20
WELCOME = "Open a data set with File › Open data set… (Ctrl+O),\nor try File › Open the demo data set"


class ViewerPane(QWidget):
    sample_shown = Signal(object)  # the Sample whose image (or placeholder) is now on screen
    frame_shown = Signal()  # a new picture was drawn
    hover_text_changed = Signal(str)
    status_message = Signal(str)

    def __init__(
        self, predictions: PredictionService, session: Session, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.predictions = predictions
        self.session = session
        self.scheme: LabelScheme | None = None
        self._sample: Sample | None = None
        self._image: np.ndarray | None = None
        self._gt: np.ndarray | None = None
        self._gt_shares: np.ndarray | None = None
        self._pred_shares: np.ndarray | None = None
        self._pred: tuple[np.ndarray, np.ndarray] | None = None
        self._broken = False
        self._stacked = False
        self._picture: np.ndarray | None = None
        self._hover = (-1, -1)
        self._wanted: Sample | None = None  # the sample asked for last; older answers are dropped
        self._decoded = LruCache(DECODED_CACHE_BYTES)  # recent and prefetched samples, ready to show
        self._loader = background.Latest()
        self._prefetcher = background.Latest(low_priority=True)
        self._render_timer = QTimer(self, singleShot=True, interval=0)
        self._render_timer.timeout.connect(self._render)
        self._build()
        predictions.model_changed.connect(self._on_model_changed)
        predictions.prediction_ready.connect(self._on_prediction)
        predictions.prediction_failed.connect(self._on_prediction_failed)
        self._show_message(WELCOME)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        session = self.session
        self.toolbar = ViewerToolbar()
        self.toolbar.set_mode(session.mode)
        self.toolbar.set_opacity(session.opacity)
        self.mode_buttons = self.toolbar.mode_buttons
        self.opacity_slider = self.toolbar.opacity_slider
        self.caption = QLabel("")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.view = ImageView()
        self.legend = LegendWidget(session)  # docked by the window beside the data set list

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

        self.toolbar.mode_clicked.connect(self.set_mode)
        self.toolbar.opacity_changed.connect(session.set_opacity)
        self.toolbar.fit_clicked.connect(self.view.fit_to_window)
        self.toolbar.actual_size_clicked.connect(self.view.actual_size)
        self.view.zoom_changed.connect(self.toolbar.set_zoom)
        self.view.hovered.connect(self._on_hover)
        self.view.resized.connect(self._on_view_resized)
        session.events.mode.connect(self._on_mode)
        session.events.opacity.connect(self._on_opacity)
        session.events.hidden_classes.connect(self.request_render)
        session.events.colorblind.connect(self._on_colorblind)

    # --- public API ----------------------------------------------------------------------------
    def set_scheme(self, scheme: LabelScheme | None) -> None:
        """A new data set: its classes go into the legend; cached pictures are forgotten."""
        self.scheme = scheme
        self._decoded.clear()
        self._wanted = None
        if scheme is not None:
            self.legend.set_scheme(scheme, self.palette())
        self.clear()

    def palette(self, scheme: LabelScheme | None = None) -> np.ndarray:
        scheme = scheme or self.scheme
        if scheme is None:
            return np.zeros((256, 3), np.uint8)
        return colorblind_palette(scheme) if self.session.colorblind else scheme.palette

    def show_sample(self, dataset: Dataset, sample: Sample) -> None:
        """Load and show `sample`: `sample_shown` then `frame_shown` follow (at once when prefetched)."""
        self._wanted = sample
        hit = self._decoded.get(sample)
        if hit is not None:
            self._loader.cancel()
            self._on_loaded(sample, hit)
        else:
            self._loader.start(self._load(dataset, sample))

    async def _load(self, dataset: Dataset, sample: Sample) -> None:
        try:
            result = await self._loader.run(load_sample, dataset, sample)
        except Exception as exc:  # noqa: BLE001 - a placeholder with the message instead
            self._on_load_failed(sample, exc)
        else:
            self._on_loaded(sample, result)

    def prefetch(self, dataset: Dataset, samples: list[Sample]) -> None:
        """Decode `samples` (the neighbours) in the background so that showing one next is immediate."""
        self._prefetcher.start(self._prefetch(dataset, samples))

    async def _prefetch(self, dataset: Dataset, samples: list[Sample]) -> None:
        for sample in samples:
            if sample == self._wanted or sample in self._decoded:
                continue
            try:
                result = await self._prefetcher.run(load_sample, dataset, sample)
            except Exception:  # noqa: BLE001 - it is shown (with its message) when the user gets there
                continue
            self._decoded.put(sample, result, nbytes(result))

    def clear(self) -> None:
        self._sample, self._image, self._gt, self._pred, self._broken = None, None, None, None, False
        self.caption.setText("")
        self.legend.set_shares(None, None)
        self._show_message(WELCOME if self.scheme is None else "No sample selected")

    def show_message(self, text: str) -> None:
        """Show `text` instead of a picture (e.g. while the first data set is being prepared)."""
        self._show_message(text)

    def mode(self) -> str:
        return self.session.mode

    def set_mode(self, mode: str) -> None:
        """The user asks for a view (toolbar, menu, keys); without a model, say how to get one."""
        if mode in NEEDS_MODEL and self.predictions.predictor is None:
            self.status_message.emit(
                "Load a checkpoint (Model › Load checkpoint…) to see predictions and errors."
            )
        self.session.set_mode(mode)

    def _on_mode(self, mode: str) -> None:
        self.toolbar.set_mode(mode)
        self.legend.set_error_key_visible(mode == "error")
        self._update_caption()
        self.request_render()

    def _on_opacity(self, value: float) -> None:
        self.toolbar.set_opacity(value)
        self.request_render()

    def _on_colorblind(self, _on: bool) -> None:
        if self.scheme is not None:
            self.legend.set_palette(self.palette())
        self.request_render()

    def current_sample(self) -> Sample | None:
        return self._sample

    def current_image(self) -> np.ndarray | None:
        """RGB uint8 of the sample on screen (None when nothing, or a placeholder, is shown)."""
        return None if self._broken else self._image

    def current_mask(self) -> np.ndarray | None:
        return self._gt

    def replace_mask(self, mask: np.ndarray, shares: np.ndarray | None = None, redraw: bool = True) -> None:
        """Show `mask` as this sample's ground truth from now on (an edit; no file is written).

        `shares` (its class shares) spares a pass over a large mask; `redraw=False` while a layer draws it.
        """
        self._gt = mask
        self._gt_shares = class_shares(mask) if shares is None else shares
        self._update_legend()
        if redraw:
            self.request_render()

    def current_prediction(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self._pred

    def picture(self) -> np.ndarray | None:
        """The composed RGB picture on screen, at image resolution."""
        return self._picture

    def refresh_prediction(self) -> None:
        """Ask the model for the current image again (e.g. after a new checkpoint was loaded)."""
        self._pred = None
        if self._sample is not None and not self._broken and self._image is not None:
            self.predictions.request(self._sample.key, self._image)
        self._update_caption()
        self.request_render()

    def request_render(self) -> None:
        if not self._render_timer.isActive():
            self._render_timer.start()

    def shutdown(self) -> None:
        self._loader.shutdown()
        self._prefetcher.shutdown()

    # --- internals -----------------------------------------------------------------------------
    def _on_loaded(self, sample: Sample, result: dict[str, Any]) -> None:
        if sample != self._wanted:
            return
        self._decoded.put(sample, result, nbytes(result))
        self._sample, self._broken = sample, False
        self._image, self._gt = result["image"], result["gt"]
        self._gt_shares = result["gt_shares"]
        self._pred = None
        if result["note"]:
            self.status_message.emit(result["note"])
        hit = self.predictions.cached(sample.key) if self.predictions.predictor is not None else None
        if hit is not None:
            self._pred, self._pred_shares = hit[:2], hit[2]
        else:
            self.predictions.request(sample.key, self._image)
        self._update_legend()
        self._update_caption()
        self.request_render()
        self.sample_shown.emit(sample)

    def _on_load_failed(self, sample: Sample, exc: BaseException) -> None:
        if sample != self._wanted:
            return
        message = (
            str(exc)
            if isinstance(exc, UserError)
            else f"{sample.image}: could not be shown ({type(exc).__name__}: {exc})"
        )
        self._sample, self._broken = sample, True
        self._gt, self._pred, self._gt_shares = None, None, None
        self._image = placeholder_image(640, 360, f"This image cannot be shown.\n\n{message}")
        self.legend.set_shares(None, None)
        self.status_message.emit(message)
        self._update_caption()
        self.request_render()
        self.sample_shown.emit(sample)

    def _on_prediction(self, key: str, mask: np.ndarray, confidence: np.ndarray, shares: np.ndarray) -> None:
        if self._sample is None or key != self._sample.key or self._broken:
            return
        if self._image is not None and mask.shape != self._image.shape[:2]:
            self.status_message.emit(
                f"The model's prediction is {mask.shape[1]}x{mask.shape[0]}, not the image's size; it is not shown."
            )
            return
        self._pred = (mask, confidence)
        self._pred_shares = shares
        self._update_legend()
        self._update_caption()
        self.request_render()

    def _on_prediction_failed(self, key: str, message: str) -> None:
        if self._sample is not None and key == self._sample.key:
            self.status_message.emit(message)
            self._update_caption()

    def _on_model_changed(self, predictor: Any) -> None:
        self.legend.set_prediction_column(predictor is not None and self._same_scheme(predictor))
        self.toolbar.set_model_available(predictor is not None)
        if predictor is None and self.session.mode in NEEDS_MODEL:
            self.set_mode("gt")
        self.refresh_prediction()

    def _same_scheme(self, predictor: Any) -> bool:
        other = getattr(predictor, "scheme", None)
        return self.scheme is not None and other is not None and other.names == self.scheme.names

    def _update_legend(self) -> None:
        self.legend.set_shares(self._gt_shares, self._pred_shares if self._pred is not None else None)

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
        if self.session.mode == "side":
            first, second = ("top", "bottom") if self._want_stacked() else ("left", "right")
            other = "prediction" if self.predictions.predictor is not None else "image"
            parts.append(f"{first}: ground truth · {second}: {other}")
        self.caption.setText("  ·  ".join(parts))

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
            mode = self.session.mode
            palette, drawn = self.palette(), self.drawn_classes()
            predictor = self.predictions.predictor
            if mode == "prediction" and predictor is not None and not self._same_scheme(predictor):
                # a model trained for other classes: draw its own colours, every class
                pred_scheme = predictor.scheme
                palette = self.palette(pred_scheme)
                drawn = np.ones(256, bool)
                drawn[pred_scheme.ignore_index] = False
            self._stacked = self._want_stacked()
            picture = compose(
                self._image,
                self._gt,
                pred,
                mode,
                palette,
                self.session.opacity,
                drawn,
                self.scheme.ignore_index,
                self._stacked,
            )
        self._picture = picture
        self.view.set_image(to_qimage(picture))
        self._on_hover(*self._hover)
        self.frame_shown.emit()

    def drawn_classes(self) -> np.ndarray:
        """(256,) bool: the scheme's classes the session does not hide (never the ignore index)."""
        lut = np.zeros(256, bool)
        hidden = self.session.hidden_classes
        for cls in self.scheme.classes:
            lut[cls.id] = cls.id not in hidden
        if 0 <= self.scheme.ignore_index < 256:
            lut[self.scheme.ignore_index] = False
        return lut

    def _want_stacked(self) -> bool:
        if self._image is None:
            return False
        h, w = self._image.shape[:2]
        return stack_side_by_side(self.view.viewport().width(), self.view.viewport().height(), w, h)

    def _on_view_resized(self) -> None:
        if self.session.mode == "side" and self._image is not None and self._want_stacked() != self._stacked:
            self._update_caption()
            self.request_render()

    def _on_hover(self, x: int, y: int) -> None:
        self._hover = (x, y)
        self.hover_text_changed.emit(self._hover_text(x, y))

    def _hover_text(self, x: int, y: int) -> str:
        if x < 0 or self._image is None or self._broken or self.scheme is None:
            return ""
        h, w = self._image.shape[:2]
        pos = source_pixel(x, y, self.session.mode, w, h, self._stacked)
        if pos is None:
            return ""
        pred_scheme = getattr(self.predictions.predictor, "scheme", None)
        return pixel_readout(*pos, self._image, self._gt, self.scheme, self._pred, pred_scheme)
