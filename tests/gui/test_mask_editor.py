"""Editing a mask on the real window: paint, fill, polygon, undo, redo; what is on screen and on disk."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from segviewer.core.imageio import read_label
from segviewer.core.labels import get_scheme
from segviewer.core.overlay import compose
from segviewer.gui.image_utils import qimage_to_array
from tests.gui.conftest import CAR, ROAD, SKY, known_mask, open_and_wait

PERSON = 11
PALETTE = get_scheme("bdd100k").palette


def colour(class_id: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in PALETTE[class_id])


def to_view(window, x: float, y: float) -> QPoint:
    """The viewport position of image pixel (x, y)'s centre."""
    return window.viewer.view.mapFromScene(QPointF(x + 0.5, y + 0.5))


def screen_colour(window, x: int, y: int) -> tuple[int, int, int]:
    grabbed = qimage_to_array(window.viewer.view.viewport().grab().toImage())
    pos = to_view(window, x, y)
    return tuple(int(v) for v in grabbed[pos.y(), pos.x()])


def drag(window, points: list[tuple[int, int]]) -> None:
    viewport = window.viewer.view.viewport()
    left = Qt.MouseButton.LeftButton
    QTest.mousePress(viewport, left, Qt.KeyboardModifier.NoModifier, to_view(window, *points[0]))
    for point in points[1:]:
        QTest.mouseMove(viewport, to_view(window, *point))
    QTest.mouseRelease(viewport, left, Qt.KeyboardModifier.NoModifier, to_view(window, *points[-1]))


def click(window, x: int, y: int) -> None:
    QTest.mouseClick(window.viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=to_view(window, x, y))


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def editing(qtbot, window, tiny_bdd):
    """The window on train_000 at full opacity, in edit mode; yields (window, original mask file, its digest)."""
    open_and_wait(qtbot, window, tiny_bdd)
    with qtbot.waitSignal(window.viewer.frame_shown):
        window.session.set_opacity(1.0)
    original = tiny_bdd / "labels" / "sem_seg" / "masks" / "train" / "train_000.png"
    before = digest(original)
    window.mask_editor.toolbar.edit_action.trigger()
    assert window.mask_editor.editing()
    yield window, original, before
    assert digest(original) == before  # the original mask file is never written


def saved_after_next_sample(qtbot, window) -> np.ndarray:
    """Go to the next sample (autosave) and read the correction PNG that was written."""
    with qtbot.waitSignal(window.mask_editor.correction_saved, timeout=5000) as blocker:
        window.dataset_pane.select_relative(1)
    mask, kind = read_label(blocker.args[0])
    assert kind == "index"
    return mask


def test_brush_stroke_is_drawn_and_saved_as_a_correction(qtbot, editing, tiny_bdd):
    window, original, _ = editing
    editor = window.mask_editor
    editor.toolbar.set_tool("brush")
    editor.toolbar.set_paint_class(PERSON)
    editor.toolbar.size_box.setValue(3)
    assert screen_colour(window, 20, 20) == colour(ROAD)
    drag(window, [(10, 20), (15, 20), (20, 20), (25, 20)])
    assert screen_colour(window, 20, 20) == colour(PERSON)
    assert screen_colour(window, 20, 30) == colour(ROAD)  # outside the stroke
    saved = saved_after_next_sample(qtbot, window)
    expected = known_mask()
    expected[19:22, 9:27] = PERSON
    assert np.array_equal(saved, expected)
    path = tiny_bdd / ".segviewer" / "corrections" / "train" / "train_000.png"
    assert path.is_file()


def test_fill_changes_the_connected_region_on_screen_and_on_disk(qtbot, editing):
    window, _, _ = editing
    editor = window.mask_editor
    editor.toolbar.set_tool("fill")
    editor.toolbar.set_paint_class(SKY)
    click(window, 50, 30)  # inside the car
    assert screen_colour(window, 50, 30) == colour(SKY)
    assert screen_colour(window, 10, 30) == colour(ROAD)
    saved = saved_after_next_sample(qtbot, window)
    expected = known_mask()
    expected[expected == CAR] = SKY  # the car block is one connected region
    assert np.array_equal(saved, expected)


def test_polygon_closed_by_enter_and_by_double_click(qtbot, editing):
    window, _, _ = editing
    editor = window.mask_editor
    editor.toolbar.set_tool("polygon")
    editor.toolbar.set_paint_class(PERSON)
    for x, y in [(4, 14), (20, 14), (20, 30), (4, 30)]:
        click(window, x, y)
    assert screen_colour(window, 12, 22) == colour(ROAD)  # nothing painted until it is closed
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_Return)
    assert screen_colour(window, 12, 22) == colour(PERSON)
    editor.toolbar.set_paint_class(SKY)
    for x, y in [(40, 14), (56, 14)]:
        click(window, x, y)
    QTest.mouseDClick(window.viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=to_view(window, 48, 28))
    assert screen_colour(window, 48, 18) == colour(SKY)
    saved = saved_after_next_sample(qtbot, window)
    assert (saved[15:30, 5:20] == PERSON).all()
    assert saved[18, 48] == SKY and saved[40, 48] == CAR


def test_undo_and_redo_per_stroke_with_the_shortcuts(qtbot, editing):
    window, _, _ = editing
    editor = window.mask_editor
    editor.toolbar.set_tool("brush")
    editor.toolbar.set_paint_class(PERSON)
    editor.toolbar.size_box.setValue(5)
    assert not editor.toolbar.undo_action.isEnabled()
    drag(window, [(10, 20), (14, 20), (18, 20)])  # stroke 1
    drag(window, [(10, 30), (14, 30), (18, 30)])  # stroke 2
    assert screen_colour(window, 14, 20) == colour(PERSON) == screen_colour(window, 14, 30)
    view = window.viewer.view
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert screen_colour(window, 14, 30) == colour(ROAD)  # the whole second stroke is gone
    assert screen_colour(window, 14, 20) == colour(PERSON)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert screen_colour(window, 14, 20) == colour(ROAD)
    assert not editor.toolbar.undo_action.isEnabled() and editor.toolbar.redo_action.isEnabled()
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(view, Qt.Key.Key_Z, redo)
    assert screen_colour(window, 14, 20) == colour(PERSON)
    assert screen_colour(window, 14, 30) == colour(ROAD)
    saved = saved_after_next_sample(qtbot, window)
    assert saved[20, 14] == PERSON and saved[30, 14] == ROAD


def test_incremental_repaint_matches_a_full_recompose(qtbot, editing):
    window, _, _ = editing
    editor = window.mask_editor
    editor.toolbar.set_tool("brush")
    editor.toolbar.set_paint_class(PERSON)
    drag(window, [(5, 5), (30, 25), (60, 40)])
    editor.toolbar.set_tool("eraser")
    drag(window, [(40, 5), (40, 45)])
    viewer = window.viewer
    drawn = viewer.drawn_classes()
    full = compose(viewer.current_image(), editor.session().mask, None, "gt", PALETTE, 1.0, drawn, 255)
    assert np.array_equal(editor.layer.picture(), full)
    assert screen_colour(window, 40, 20) == tuple(int(v) for v in viewer.current_image()[20, 40])  # erased


def test_brush_keys_and_wheel_size_the_brush_only_while_editing(qtbot, editing):
    window, _, _ = editing
    toolbar = window.mask_editor.toolbar
    toolbar.size_box.setValue(10)
    opacity = window.session.opacity
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_BracketRight)
    assert toolbar.size() > 10 and window.session.opacity == opacity
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_BracketLeft)
    assert toolbar.size() < 10
    toolbar.edit_action.trigger()  # leave edit mode: [ is the opacity key again
    assert not toolbar.size_box.isEnabled()
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_BracketLeft)
    assert window.session.opacity < opacity


def test_picker_and_legend_choose_the_paint_class(qtbot, editing):
    window, _, _ = editing
    toolbar = window.mask_editor.toolbar
    toolbar.set_tool("picker")
    click(window, 50, 30)
    assert toolbar.class_box.currentText() == "car"
    assert toolbar.tool() == "brush"  # back to the tool used before picking
    table = window.viewer.legend.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "sky")
    table.cellDoubleClicked.emit(row, 0)
    assert toolbar.class_box.currentText() == "sky"


def test_only_overwrite_keeps_protected_classes(qtbot, editing):
    window, _, _ = editing
    toolbar = window.mask_editor.toolbar
    for action in toolbar.only_menu.actions():
        if action.text() == "car":
            action.setChecked(False)
    toolbar.set_tool("brush")
    toolbar.set_paint_class(PERSON)
    toolbar.size_box.setValue(9)
    drag(window, [(26, 30), (40, 30)])  # across the road/car border
    assert screen_colour(window, 28, 30) == colour(PERSON)
    assert screen_colour(window, 36, 30) == colour(CAR)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(2)  # train_002 has a car too
    assert toolbar.class_box.currentText() == "person" and CAR not in toolbar.only_overwrite()
    drag(window, [(26, 30), (40, 30)])  # the choices still apply on the next sample
    assert screen_colour(window, 28, 30) == colour(PERSON)
    assert screen_colour(window, 36, 30) == colour(CAR)


class BlockPredictor:
    """Predicts road, with a person block at x 4..20, y 12..24 (connected) and one at x 40..48, y 12..20."""

    model_name = "fake"

    def __init__(self) -> None:
        self.scheme = get_scheme("bdd100k")

    def predict(self, image):
        h, w = image.shape[:2]
        mask = np.full((h, w), ROAD, np.uint8)
        mask[12:24, 4:20] = PERSON
        mask[12:20, 40:48] = PERSON
        return mask, np.full((h, w), 0.9, np.float32)


def load_block_model(qtbot, window, monkeypatch, tmp_path) -> None:
    from segviewer.core import predict

    monkeypatch.setattr(
        predict.Predictor, "from_checkpoint", classmethod(lambda cls, path, **kw: BlockPredictor())
    )
    with qtbot.waitSignal(window.model_loaded, timeout=10000):
        window.load_checkpoint(tmp_path / "fake.pt")
    qtbot.waitUntil(lambda: window.viewer.current_prediction() is not None, timeout=10000)


def test_model_tools_need_a_prediction_and_copy_it(qtbot, editing, monkeypatch, tmp_path):
    window, _, _ = editing
    toolbar = window.mask_editor.toolbar
    assert not toolbar.tool_actions["accept_rect"].isEnabled()
    assert "load a checkpoint" in toolbar.tool_actions["accept_rect"].toolTip()
    load_block_model(qtbot, window, monkeypatch, tmp_path)
    qtbot.waitUntil(lambda: toolbar.tool_actions["accept_rect"].isEnabled(), timeout=5000)
    assert window.viewer.mode() == "gt" and window.mask_editor.editing()

    toolbar.set_tool("accept_rect")
    drag(window, [(2, 10), (8, 14), (12, 30)])  # a box over the left half of the first block
    assert screen_colour(window, 10, 18) == colour(PERSON)
    assert screen_colour(window, 16, 18) == colour(ROAD)  # outside the box
    toolbar.set_tool("accept_lasso")
    drag(window, [(14, 8), (30, 8), (30, 30), (14, 30)])  # an outline over the right end of the first block
    assert screen_colour(window, 17, 18) == colour(PERSON)
    assert screen_colour(window, 13, 18) == colour(ROAD)  # between the box and the lasso
    toolbar.set_tool("fill_prediction")
    click(window, 44, 16)  # the second block: its predicted region lands in the mask
    assert screen_colour(window, 41, 13) == colour(PERSON) and screen_colour(window, 47, 19) == colour(PERSON)
    assert screen_colour(window, 50, 16) == colour(CAR)
    saved = saved_after_next_sample(qtbot, window)
    assert (saved[12:24, 4:13] == PERSON).all() and (saved[12:24, 15:20] == PERSON).all()
    assert (saved[12:20, 40:48] == PERSON).all() and saved[18, 13] == ROAD


def test_closing_the_window_saves_and_an_edited_sample_comes_back_edited(qtbot, editing, tiny_bdd):
    window, _, _ = editing
    toolbar = window.mask_editor.toolbar
    toolbar.set_tool("fill")
    toolbar.set_paint_class(SKY)
    click(window, 50, 30)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(1)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(-1)  # back to train_000: its correction is shown
    assert screen_colour(window, 50, 30) == colour(SKY)
    toolbar.edit_action.trigger()  # leave edit mode: the viewer itself now shows the edit
    qtbot.waitUntil(lambda: not window.mask_editor.layer.isVisible())
    assert screen_colour(window, 50, 30) == colour(SKY)

    toolbar.edit_action.trigger()
    toolbar.set_paint_class(PERSON)
    click(window, 10, 30)  # the road region
    path = tiny_bdd / ".segviewer" / "corrections" / "train" / "train_000.png"
    assert read_label(path)[0][30, 10] == ROAD  # not saved yet
    window.close()
    saved = read_label(path)[0]
    assert saved[30, 10] == PERSON and saved[30, 50] == SKY


def test_ctrl_wheel_sizes_the_brush_and_the_middle_button_pans(qtbot, editing):
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window, _, _ = editing
    toolbar, view = window.mask_editor.toolbar, window.viewer.view
    toolbar.size_box.setValue(10)
    scale = view.scale_factor()
    centre = QPointF(view.viewport().rect().center())

    def wheel(modifiers: Qt.KeyboardModifier) -> None:
        event = QWheelEvent(
            centre, view.viewport().mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
            Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(view.viewport(), event)

    wheel(Qt.KeyboardModifier.ControlModifier)
    assert toolbar.size() > 10 and view.scale_factor() == scale  # sized, not zoomed
    wheel(Qt.KeyboardModifier.NoModifier)
    assert view.scale_factor() > scale  # the plain wheel still zooms
    view.zoom_by(4)
    bar = view.horizontalScrollBar()
    start = bar.value()
    middle = Qt.MouseButton.MiddleButton
    QTest.mousePress(view.viewport(), middle, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(view.viewport(), QPoint(200, 300))
    QTest.mouseRelease(view.viewport(), middle, Qt.KeyboardModifier.NoModifier, QPoint(200, 300))
    assert bar.value() == start + 100
    assert not window.mask_editor.session().modified  # panning paints nothing


def test_the_cursor_shows_the_brush_size(qtbot, editing):
    window, _, _ = editing
    toolbar, view = window.mask_editor.toolbar, window.viewer.view
    toolbar.set_tool("brush")

    def outline_radius() -> float:
        """Viewport distance from the cursor centre to the furthest white outline pixel on its row."""
        QTest.mouseMove(view.viewport(), to_view(window, 30, 20))
        grabbed = qimage_to_array(view.viewport().grab().toImage()).astype(int)
        centre = to_view(window, 30, 20)
        row = grabbed[centre.y()]
        white = np.nonzero((row == 255).all(axis=1))[0]
        return float(np.abs(white - centre.x()).max()) if len(white) else 0.0

    toolbar.size_box.setValue(5)
    small = outline_radius()
    toolbar.size_box.setValue(15)
    large = outline_radius()
    scale = view.scale_factor()
    assert small == pytest.approx(2.5 * scale, abs=2)
    assert large == pytest.approx(7.5 * scale, abs=2)


def test_a_reopened_data_set_shows_the_saved_correction(qtbot, editing, tiny_bdd):
    window, _, _ = editing
    toolbar = window.mask_editor.toolbar
    toolbar.set_tool("fill")
    toolbar.set_paint_class(SKY)
    click(window, 50, 30)
    saved_after_next_sample(qtbot, window)
    toolbar.edit_action.trigger()
    with qtbot.waitSignal(window.dataset_opened, timeout=10000):
        window.open_dataset(tiny_bdd)  # open_dataset applies corrections
    listed = window.dataset.splits["train"]
    qtbot.waitUntil(lambda: window.viewer.current_sample() in listed, timeout=10000)
    if window.viewer.current_sample().name != "train_000":
        with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
            assert window.open_sample("train", "train_000")
    assert window.viewer.current_sample().corrected
    assert screen_colour(window, 50, 30) == colour(SKY)
    assert window.dataset_pane.model.index(0).data() == "train_000\n✎ edited"  # from open_dataset itself


def test_edited_samples_are_marked_in_the_list_and_can_be_filtered(qtbot, editing):
    window, _, _ = editing
    pane = window.dataset_pane
    toolbar = window.mask_editor.toolbar
    toolbar.set_tool("fill")
    toolbar.set_paint_class(SKY)
    click(window, 50, 30)

    def rows() -> list[str]:
        return [pane.model.index(r).data() for r in range(pane.model.rowCount())]

    assert not any("edited" in text for text in rows())  # nothing saved yet
    saved_after_next_sample(qtbot, window)
    assert rows()[0] == "train_000\n✎ edited" and rows()[1] == "train_001"
    pane.edited_only.setChecked(True)
    assert rows() == ["train_000\n✎ edited"]
    pane.edited_only.setChecked(False)
    assert len(rows()) == 4


def test_a_failed_save_says_why_and_keeps_the_edits(qtbot, editing, tiny_bdd, messages, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window, _, _ = editing
    blocker = tiny_bdd / ".segviewer" / "corrections" / "train"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the split folder should be")
    toolbar = window.mask_editor.toolbar
    toolbar.set_tool("fill")
    toolbar.set_paint_class(SKY)
    click(window, 50, 30)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(1)  # the autosave fails
    assert messages[-1][0] == "Cannot save the corrected mask" and str(blocker) in messages[-1][1]
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(-1)
    assert screen_colour(window, 50, 30) == colour(SKY)  # nothing painted is lost
    assert window.mask_editor.session().modified and toolbar.undo_action.isEnabled()
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[1])
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    window.close()
    assert asked == ["Close without the edits?"] and window.isVisible()  # the user chose to stay
    blocker.unlink()
    assert window.mask_editor.save()
    assert read_label(blocker / "train_000.png")[0][30, 50] == SKY


def test_the_legend_shares_follow_the_edits(qtbot, editing):
    window, _, _ = editing
    table = window.viewer.legend.table
    toolbar = window.mask_editor.toolbar

    def share(name: str) -> str:
        row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)
        return table.item(row, 1).text()

    assert share("person") == "–"
    toolbar.set_tool("fill")
    toolbar.set_paint_class(PERSON)
    click(window, 50, 30)  # the whole car becomes a person
    assert share("person") == f"{100 * (known_mask() == CAR).mean():.1f}%" and share("car") == "–"
    qtbot.keyClick(window.viewer.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert share("person") == "–"
    toolbar.set_tool("brush")
    toolbar.size_box.setValue(1)
    drag(window, [(2, 20), (16, 20), (30, 20)])  # a line of 29 pixels
    assert share("person") == f"{100 * 29 / known_mask().size:.1f}%"


def test_edits_whose_save_failed_are_saved_on_close(qtbot, editing, tiny_bdd, messages):
    window, _, _ = editing
    blocker = tiny_bdd / ".segviewer" / "corrections" / "train"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the split folder should be")
    toolbar = window.mask_editor.toolbar
    toolbar.set_tool("fill")
    toolbar.set_paint_class(SKY)
    click(window, 50, 30)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(1)  # the autosave of train_000 fails
    assert messages[-1][0] == "Cannot save the corrected mask"
    blocker.unlink()  # e.g. the disk has room again
    window.close()
    assert read_label(blocker / "train_000.png")[0][30, 50] == SKY
