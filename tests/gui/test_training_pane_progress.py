"""The training progress bar's text stays one readable colour across the fill and the groove."""

from __future__ import annotations

import numpy as np
import pytest

TEXT = "Epoch 4 of 15 · batch 31 of 53 · 2 min left · 12.0 images/s"


def _pixels(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    row = image.bytesPerLine()
    data = np.frombuffer(image.constBits(), np.uint8, count=row * height).reshape(height, row)
    return data[:, : width * 3].reshape(height, width, 3).astype(float)


def _luminance(rgb: np.ndarray) -> float:
    c = rgb / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def _contrast(a: np.ndarray, b: np.ndarray) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_progress_text_is_readable_over_the_fill_and_the_groove(qtbot):
    pytest.importorskip("segviewer.core.training")
    from segviewer.gui.panes.training_pane import TrainingPane

    pane = TrainingPane()
    qtbot.addWidget(pane)
    pane.show()
    bar = pane.view.progress
    bar.setFixedWidth(520)
    bar.setValue(bar.maximum() // 2)
    bar.setFormat(TEXT)
    qtbot.waitExposed(pane)
    with_text = _pixels(bar)
    bar.setTextVisible(False)
    background = _pixels(bar)
    bar.setTextVisible(True)
    h, w, _ = with_text.shape
    rows = slice(h // 4, h - h // 4)
    colours = []
    for cols in (slice(w // 8, w // 2 - 8), slice(w // 2 + 8, w - w // 8)):  # fill, then groove
        text, back = with_text[rows, cols].reshape(-1, 3), background[rows, cols].reshape(-1, 3)
        distance = np.abs(text - back).sum(axis=1)
        assert distance.max() > 100, "no text drawn there"
        ink = text[distance.argmax()]
        colours.append(ink)
        assert _contrast(ink, np.median(back, axis=0)) >= 4.5, (ink, np.median(back, axis=0))
    assert np.abs(colours[0] - colours[1]).max() < 60, colours  # one text colour, not white then black
    pane.shutdown()
