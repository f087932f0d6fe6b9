"""The label review's suspect pixels, drawn over the picture as semi-transparent magenta stripes.

Stripes, not a flat tint: over the ground-truth view a flat magenta would look like one more class (the
sidewalk colour is magenta too), while a hatched region reads as a mark on top of the mask. The review pane sends (split, name, bool mask) when the user chooses an image; the layer waits for that
sample to be on screen, draws the mask over it, and clears itself as soon as another sample is shown.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem

from segviewer.core.datasets import Sample
from segviewer.gui.mask_editor import EDIT_Z

MAGENTA = (255, 0, 255)
STRONG, WEAK = 176, 72  # alpha of the stripes and of the gaps between them: the picture shows through
STRIPES_ACROSS = 80  # about this many stripe periods across the longer side, whatever the image size
MIN_PERIOD = 6  # pixels: thinner stripes blur into a flat tint when a large image is fitted to the window


def suspect_rgba(suspect: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8: diagonal magenta stripes over the suspect pixels, transparent elsewhere."""
    suspect = np.asarray(suspect, bool)
    h, w = suspect.shape
    period = max(MIN_PERIOD, round(max(h, w) / STRIPES_ACROSS))
    yy, xx = np.ogrid[:h, :w]
    strong = ((xx + yy) % period) < period // 2
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = MAGENTA
    rgba[..., 3] = np.where(suspect, np.where(strong, STRONG, WEAK), 0)
    return rgba


class SuspectLayer(QGraphicsPixmapItem):
    """One sample's suspect pixels over the viewer's picture; empty for every other sample."""

    def __init__(self, window) -> None:
        super().__init__()
        self._window = window
        self._target: tuple[str, str, np.ndarray] | None = None  # split, sample name, (H, W) bool
        self.setVisible(False)
        window.viewer.view.add_layer(self)
        self.setZValue(EDIT_Z + 1.5)  # over the mask being edited, under the editor's cursor
        window.viewer.sample_shown.connect(self._on_sample_shown)

    def show_for(self, split: str, name: str, suspect: np.ndarray | None) -> None:
        """Draw `suspect` once sample `name` of `split` is on screen (at once when it is already)."""
        self._target = None if suspect is None else (split, name, np.asarray(suspect, bool))
        if self._target is not None and self._matches(self._window.viewer.current_sample()):
            self._draw()
        else:
            self.setVisible(False)

    def _on_sample_shown(self, sample: Sample) -> None:
        if self._target is not None and self._matches(sample):
            self._draw()
            return
        self.setVisible(False)
        chosen = self._window.session.sample  # the one selected, perhaps still loading
        if self._target is not None and getattr(chosen, "name", None) != self._target[1]:
            self._target = None  # the user moved on: this overlay was only for the chosen sample

    def _matches(self, sample: Sample | None) -> bool:
        image = self._window.viewer.current_image()
        split, name, suspect = self._target
        return (
            sample is not None
            and sample.name == name
            and self._window.current_split() == split
            and image is not None
            and suspect.shape == image.shape[:2]
        )

    def _draw(self) -> None:
        rgba = np.ascontiguousarray(suspect_rgba(self._target[2]))
        h, w = rgba.shape[:2]
        image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self.setPixmap(QPixmap.fromImage(image))
        self.setVisible(True)


def install_suspect_layer(window, review_pane) -> SuspectLayer:
    """Open the sample the review pane chose, with its suspect pixels drawn over it."""
    layer = SuspectLayer(window)

    def open_with_overlay(split: str, name: str, suspect: object) -> None:
        window.open_sample(split, name)  # first: a split change may show another sample on the way
        layer.show_for(split, name, None if suspect is None else np.asarray(suspect))

    review_pane.open_sample_requested.connect(open_with_overlay)
    return layer
