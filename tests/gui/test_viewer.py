"""The viewer as a user sees it: legend, hover readout, class visibility, broken files, models."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from segviewer.core.labels import get_scheme
from segviewer.core.overlay import ERROR_COLORS, SIDE_GAP
from segviewer.gui.image_utils import qimage_to_array
from tests.gui.conftest import CAR, ROAD, known_mask, open_and_wait

CAR_PIXEL = (50, 30)  # (x, y) inside the car region of known_mask()
ROAD_PIXEL = (10, 30)


def _screen_colour(viewer, x: int, y: int) -> tuple[int, int, int]:
    """The colour the user sees at image pixel (x, y)."""
    view = viewer.view
    pos = view.mapFromScene(QPointF(x + 0.5, y + 0.5))
    grabbed = qimage_to_array(view.viewport().grab().toImage())
    return tuple(int(v) for v in grabbed[pos.y(), pos.x()])


def _hover(viewer, x: int, y: int) -> None:
    view = viewer.view
    QTest.mouseMove(view.viewport(), view.mapFromScene(QPointF(x + 0.5, y + 0.5)))


def test_legend_lists_the_scheme_classes(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    table = window.viewer.legend.table
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert names == get_scheme("bdd100k").names
    shares = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    mask = known_mask()
    assert shares["car"] == f"{100 * (mask == CAR).mean():.1f}%"
    assert shares["person"] == "–"


def test_hover_names_the_class_in_the_status_bar(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    _hover(window.viewer, *CAR_PIXEL)
    qtbot.waitUntil(lambda: "ground truth: car" in window.hover_label.text(), timeout=5000)
    assert f"x {CAR_PIXEL[0]}, y {CAR_PIXEL[1]}" in window.hover_label.text()
    _hover(window.viewer, *ROAD_PIXEL)
    qtbot.waitUntil(lambda: "ground truth: road" in window.hover_label.text(), timeout=5000)


def test_hidden_class_is_not_drawn(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    viewer = window.viewer
    with qtbot.waitSignal(viewer.frame_shown):
        viewer.opacity_slider.setValue(100)
    car_colour = tuple(int(v) for v in get_scheme("bdd100k").palette[CAR])
    assert _screen_colour(viewer, *CAR_PIXEL) == car_colour
    with qtbot.waitSignal(viewer.frame_shown):
        viewer.legend.set_class_visible(CAR, False)
    assert _screen_colour(viewer, *CAR_PIXEL) != car_colour
    assert _screen_colour(viewer, *CAR_PIXEL) == tuple(
        int(v) for v in viewer.current_image()[CAR_PIXEL[1], CAR_PIXEL[0]]
    )
    road_colour = tuple(int(v) for v in get_scheme("bdd100k").palette[ROAD])
    assert _screen_colour(viewer, *ROAD_PIXEL) == road_colour  # other classes still drawn


def test_colour_blind_palette_changes_the_overlay(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    viewer = window.viewer
    with qtbot.waitSignal(viewer.frame_shown):
        viewer.opacity_slider.setValue(100)
    before = _screen_colour(viewer, *CAR_PIXEL)
    with qtbot.waitSignal(viewer.frame_shown):
        window.menus.colorblind.trigger()
    assert viewer.legend.colorblind.isChecked()
    assert _screen_colour(viewer, *CAR_PIXEL) != before


def test_corrupt_image_shows_a_placeholder_and_keeps_working(qtbot, window, tiny_bdd):
    broken = tiny_bdd / "images" / "10k" / "train" / "train_000.jpg"
    broken.write_bytes(b"this is not a JPEG")
    open_and_wait(qtbot, window, tiny_bdd)
    assert "train_000.jpg" in window.statusBar().currentMessage()
    grey = _screen_colour(window.viewer, 5, 5)
    assert grey == (110, 110, 110)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(1)
    assert "train_001" in window.viewer.caption.text()
    assert window.viewer.current_image() is not None


class FakePredictor:
    """Predicts road everywhere with 90% confidence."""

    model_name = "fake"

    def __init__(self, scheme_name: str = "bdd100k") -> None:
        self.scheme = get_scheme(scheme_name)

    def predict(self, image):
        h, w = image.shape[:2]
        return np.full((h, w), ROAD, np.uint8), np.full((h, w), 0.9, np.float32)


def _load_fake_model(qtbot, window, monkeypatch, tmp_path, scheme_name="bdd100k"):
    from segviewer.core import predict

    monkeypatch.setattr(
        predict.Predictor, "from_checkpoint", classmethod(lambda cls, path, **kw: FakePredictor(scheme_name))
    )
    with qtbot.waitSignal(window.model_loaded, timeout=10000):
        window.load_checkpoint(tmp_path / "fake.pt")
    qtbot.waitUntil(lambda: window.viewer.current_prediction() is not None, timeout=10000)


def test_prediction_overlay_error_map_and_hover(qtbot, window, tiny_bdd, monkeypatch, tmp_path):
    open_and_wait(qtbot, window, tiny_bdd)
    _load_fake_model(qtbot, window, monkeypatch, tmp_path)
    viewer = window.viewer
    assert viewer.mode_buttons["error"].isEnabled()
    with qtbot.waitSignal(viewer.frame_shown):
        viewer.opacity_slider.setValue(100)
    with qtbot.waitSignal(viewer.frame_shown):
        qtbot.keyClick(viewer.view, Qt.Key.Key_5)
    assert viewer.mode() == "error"
    assert _screen_colour(viewer, *ROAD_PIXEL) == ERROR_COLORS["correct"]
    assert _screen_colour(viewer, *CAR_PIXEL) == ERROR_COLORS["wrong"]
    assert _screen_colour(viewer, 5, 46) == ERROR_COLORS["ignored"]
    assert viewer.legend.error_key.isVisible()
    _hover(viewer, *CAR_PIXEL)
    qtbot.waitUntil(lambda: "prediction: road (90% sure)" in window.hover_label.text(), timeout=5000)
    assert "ground truth: car" in window.hover_label.text()
    assert "Model: fake" in window.model_label.text()


def test_checkpoint_for_other_classes_warns(qtbot, window, tiny_bdd, monkeypatch, tmp_path, messages):
    open_and_wait(qtbot, window, tiny_bdd)
    _load_fake_model(qtbot, window, monkeypatch, tmp_path, scheme_name="camvid")
    assert messages and messages[-1][0] == "Checkpoint for other classes"
    assert "camvid" in messages[-1][1] and "bdd100k" in messages[-1][1]


def test_foreign_checkpoint_gives_a_message(qtbot, window, tiny_bdd, tmp_path, messages):
    open_and_wait(qtbot, window, tiny_bdd)
    foreign = tmp_path / "downloaded-model.pt"
    foreign.write_bytes(b"\x80\x04 definitely not a segviewer checkpoint")
    with qtbot.waitSignal(window.predictions.load_failed, timeout=60000):
        window.load_checkpoint(foreign)
    assert messages and messages[-1][0] == "Cannot load checkpoint"
    assert "downloaded-model.pt" in messages[-1][1] and "Traceback" not in messages[-1][1]
    assert window.predictions.predictor is None
    assert not window.viewer.mode_buttons["prediction"].isEnabled()


def test_side_by_side_hover_maps_to_the_image(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    viewer = window.viewer
    with qtbot.waitSignal(viewer.frame_shown):
        viewer.set_mode("side")
    h, w = viewer.picture().shape[:2]
    stacked = h > 2 * 48
    assert (h, w) == ((2 * 48 + SIDE_GAP, 64) if stacked else (48, 2 * 64 + SIDE_GAP))
    assert ("top: ground truth" if stacked else "left: ground truth") in viewer.caption.text()
    x, y = CAR_PIXEL

    def hover_second_half() -> bool:  # mapped again each try: the docks may still be settling
        _hover(viewer, x, h - 48 + y) if stacked else _hover(viewer, w - 64 + x, y)
        return f"x {x}, y {y}" in window.hover_label.text()

    qtbot.waitUntil(hover_second_half, timeout=5000)
    assert "ground truth: car" in window.hover_label.text()


def test_real_checkpoint_predicts_in_the_background(qtbot, window, tiny_bdd, tmp_path):
    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.models import build_model

    model = build_model("ulite", 19, widths=[4, 4, 8, 8])
    path = save_checkpoint(
        tmp_path / "tiny.pt", make_checkpoint(model, get_scheme("bdd100k"), (32, 48), 1, 0.1)
    )
    open_and_wait(qtbot, window, tiny_bdd)
    with qtbot.waitSignal(window.model_loaded, timeout=60000):
        window.load_checkpoint(path)
    qtbot.waitUntil(lambda: window.viewer.current_prediction() is not None, timeout=60000)
    mask, confidence = window.viewer.current_prediction()
    assert mask.shape == (48, 64) and confidence.shape == (48, 64)
    assert not window.viewer.legend.table.isColumnHidden(2)
    assert "prediction ready" in window.viewer.caption.text()
    assert "Model: U-Lite (paper) (tiny.pt)" in window.model_label.text()


def test_a_layer_is_drawn_over_the_picture(qtbot, window, tiny_bdd):
    from PySide6.QtGui import QBrush, QColor, QPen
    from PySide6.QtWidgets import QGraphicsRectItem

    open_and_wait(qtbot, window, tiny_bdd)
    viewer = window.viewer
    layer = QGraphicsRectItem(CAR_PIXEL[0] - 2, CAR_PIXEL[1] - 2, 5, 5)
    layer.setBrush(QBrush(QColor(255, 0, 255)))
    layer.setPen(QPen(Qt.PenStyle.NoPen))
    viewer.view.add_layer(layer)
    qtbot.waitUntil(lambda: _screen_colour(viewer, *CAR_PIXEL) == (255, 0, 255), timeout=5000)
    assert _screen_colour(viewer, *ROAD_PIXEL) != (255, 0, 255)


def test_model_given_on_the_command_line_is_loaded_at_start(qtbot, tiny_bdd, tmp_path, messages):
    """`segviewer gui ROOT --model best.pt`: the demo for a non-programmer starts with the model in."""
    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.models import build_model
    from segviewer.gui.app import create_main_window

    model = build_model("ulite", 19, widths=[4, 4, 8, 8])
    path = save_checkpoint(
        tmp_path / "start.pt", make_checkpoint(model, get_scheme("bdd100k"), (32, 48), 1, 0.1)
    )
    win = create_main_window(tiny_bdd, model=path)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.viewer.current_prediction() is not None, timeout=60000)
        assert "Model: U-Lite (paper) (start.pt)" in win.model_label.text() and not messages
    finally:
        win.shutdown()
