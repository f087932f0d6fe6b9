"""The data set pane as a user sees it: the split's samples, filters, counts, keyboard navigation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import open_and_wait, write_bdd10k


def _texts(pane) -> list[str]:
    model = pane.list_view.model()
    return [model.data(model.index(r), Qt.ItemDataRole.DisplayRole) for r in range(model.rowCount())]


def test_list_shows_the_split_samples(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    pane = window.dataset_pane
    assert _texts(pane) == ["train_000", "train_001", "train_002", "train_003"]
    assert pane.count_label.text() == "4 of 4 samples"
    splits = [pane.split_combo.itemText(i) for i in range(pane.split_combo.count())]
    assert splits == ["train — 4 samples", "val — 2 samples", "test — 1 sample (no masks)"]
    pane.split_combo.setCurrentIndex(2)
    assert _texts(pane) == ["test_000\n(no mask)"]


def test_name_filter_and_count(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    pane = window.dataset_pane
    assert window.current_sample().name == "train_000"
    qtbot.keyClicks(pane.filter_edit, "002")
    assert _texts(pane) == ["train_002"]
    assert pane.count_label.text() == "1 of 4 samples"
    qtbot.waitUntil(lambda: window.current_sample().name == "train_002")  # the one match, not a hidden one
    pane.filter_edit.clear()
    assert window.current_sample().name == "train_002" and len(_texts(pane)) == 4  # it stays current


def test_class_filter_uses_background_statistics(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    pane = window.dataset_pane
    car = pane.class_combo.findText("Contains: car")
    pane.class_combo.setCurrentIndex(car)
    qtbot.waitUntil(lambda: pane.count_label.text() == "2 of 4 samples", timeout=10000)
    assert _texts(pane) == ["train_000", "train_002"]
    pane.class_combo.setCurrentIndex(pane.class_combo.findText("Contains: sky"))
    assert pane.count_label.text() == "4 of 4 samples"  # statistics are kept per split, no second pass


def test_thumbnails_load_in_the_background(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    pane = window.dataset_pane
    model = pane.list_view.model()

    def loaded() -> bool:
        pix = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
        return pix is not pane.loader.placeholder

    qtbot.waitUntil(loaded, timeout=10000)
    pix = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
    assert pix.height() == pane.loader.size.height()  # 64x48 fits the box by height


def test_arrow_keys_change_the_viewer(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    view = window.dataset_pane.list_view
    view.setFocus()
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert "train_001" in window.viewer.caption.text()
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        qtbot.keyClick(view, Qt.Key.Key_End)
    assert "train_003" in window.viewer.caption.text()


def test_next_sample_shortcut(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        qtbot.keyClick(window.viewer.view, Qt.Key.Key_N)
    assert "train_001" in window.viewer.caption.text()


def test_not_a_dataset_folder_gives_a_message(qtbot, window, messages, tmp_path):
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    with qtbot.waitSignal(window.dataset_failed, timeout=10000):
        window.open_dataset(folder)
    assert len(messages) == 1
    title, text = messages[0]
    assert title == "Cannot open data set"
    assert "holiday-photos" in text and "Traceback" not in text
    assert window.dataset is None


def test_recent_data_sets_are_remembered(qtbot, window, tiny_bdd, tmp_path):
    open_and_wait(qtbot, window, tiny_bdd)
    other = write_bdd10k(tmp_path / "second", {"train": 2})
    open_and_wait(qtbot, window, other)
    window.menus.recent.aboutToShow.emit()
    texts = [a.text() for a in window.menus.recent.actions() if a.text()]
    assert texts[:2] == [f"second — {other}", f"bdd — {tiny_bdd}"]
    assert QMessageBox is not None


def test_open_sample_from_another_pane(qtbot, window, tiny_bdd):
    open_and_wait(qtbot, window, tiny_bdd)
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        assert window.open_sample("val", "val_001")
    assert window.dataset_pane.current_split() == "val"
    assert "val_001" in window.viewer.caption.text()
    assert not window.open_sample("val", "no-such-sample")


def test_camvid_from_shared_data(qtbot, window, shared_data):
    open_and_wait(qtbot, window, shared_data / "camvid")
    assert window.dataset.format == "camvid"
    assert window.viewer.legend.table.rowCount() == 11
    assert window.dataset_pane.list_view.model().rowCount() == len(window.dataset.splits["train"])
