"""The main window: panes, menus, shortcuts help, remembered settings and the crash guard."""

from __future__ import annotations

import sys
import threading
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel

from segviewer.gui import settings as prefs


def test_add_pane_docks_and_tabifies_right_panes(qtbot, window):
    first = window.add_pane("Training", QLabel("training"))
    second = window.add_pane("Evaluation", QLabel("evaluation"))
    assert window.dockWidgetArea(first) == Qt.DockWidgetArea.RightDockWidgetArea
    qtbot.waitUntil(lambda: second in window.tabifiedDockWidgets(first))  # tab bars update lazily
    toggles = [a.text() for a in window.menus.panes.actions()]
    assert toggles == ["Data set", "Classes", "Training", "Evaluation"]
    second.toggleViewAction().trigger()
    assert not second.isVisible()


def test_no_placeholder_panes(window):
    titles = [d.windowTitle() for d in window.findChildren(QDockWidget)]
    assert titles == ["Data set", "Classes"]


def test_first_start_opens_large_with_the_picture_widest(qtbot, messages):
    from segviewer.gui.app import create_main_window

    win = create_main_window(None)
    qtbot.addWidget(win)
    win.show()
    win.install_panes()
    screen = win.screen().availableGeometry()
    assert win.width() >= 0.85 * screen.width() and win.height() >= 0.85 * screen.height()
    docks = [d for d in win.findChildren(QDockWidget) if d.isVisible()]
    qtbot.waitUntil(lambda: win.viewer.width() > max(d.width() for d in docks))
    classes = next(d for d in docks if d.windowTitle() == "Classes")
    assert win.dockWidgetArea(classes) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert "Open &run…" in [a.text() for a in win.menus.file.actions()]  # the training pane's entry
    win.close()


def test_menus(window):
    assert [a.text() for a in window.menuBar().actions()] == ["&File", "&View", "&Model", "&Help"]


def test_shortcuts_dialog_lists_the_actions(qtbot, window):
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    table = dialog.table
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert rows["Fit to window"] == "F"
    assert rows["Show error map"] == "5"
    assert rows["Load checkpoint"] == "Ctrl+L"
    assert "Home / End" in rows.values()


def test_view_settings_survive_a_restart(qtbot, window):
    from segviewer.gui.app import create_main_window

    window.viewer.opacity_slider.setValue(80)
    window.menus.colorblind.setChecked(True)
    window.close()
    again = create_main_window(None)
    qtbot.addWidget(again)
    assert again.viewer.opacity_slider.value() == 80
    assert again.menus.colorblind.isChecked() and again.viewer.legend.colorblind.isChecked()
    assert prefs.make_settings().value("window/geometry") is not None


def test_close_check_can_keep_the_window_open(qtbot, window):
    answers = [False]
    window.add_close_check(lambda parent: answers[0])
    assert not window.close()
    answers[0] = True
    assert window.close()


def test_uncaught_exception_is_logged_not_shown_as_a_traceback(qtbot, window, tmp_path, capsys):
    from segviewer.gui.app import configure_logging, install_excepthook

    old_hook = sys.excepthook
    try:
        log_file = configure_logging()
        install_excepthook(lambda: window)
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old_hook
    message = window.statusBar().currentMessage()
    assert "Something went wrong" in message and "Traceback" not in message
    assert log_file is not None and log_file.parent == tmp_path / "cache"
    assert "boom in a slot" in log_file.read_text()
    assert "RuntimeError: boom in a slot" in capsys.readouterr().err


def test_demo_is_created_with_progress_then_opened(qtbot, window, tiny_bdd, monkeypatch):
    from segviewer.core import demo

    seen = []

    def fake_ensure_demo(path=None, progress=None, should_stop=None, **kwargs):
        for done in range(1, 4):
            progress(done, 3)
        time.sleep(0.3)  # the bar shows the last progress before the set is opened
        return tiny_bdd

    def look() -> None:
        bar = window.busy_bar
        seen.append((bar.value(), bar.maximum(), bar.isVisible()))

    monkeypatch.setattr(demo, "ensure_demo", fake_ensure_demo)
    timer = QTimer(interval=20)
    timer.timeout.connect(look)
    timer.start()
    with qtbot.waitSignal(window.dataset_opened, timeout=10000):
        window.open_demo()
    timer.stop()
    assert (3, 3, True) in seen  # progress was on screen
    assert not window.busy_bar.isVisible()
    assert window.dataset.root == tiny_bdd


def test_demo_samples_are_browsable_while_the_set_is_drawn(qtbot, window, tmp_path, monkeypatch):
    """The list grows as scenes are written; what the user selected meanwhile stays selected."""
    from segviewer.core import demo
    from tests.gui.conftest import write_bdd10k

    gate = threading.Event()
    total = 6

    def fake_ensure_demo(path=None, progress=None, should_stop=None, **kwargs):
        for done in range(1, total + 1):
            write_bdd10k(path, {"train": done}, seed=0)  # the scenes so far, in order
            progress(done, total)
            if done == 3:
                assert gate.wait(20)  # the test browses a half-drawn set here
            time.sleep(0.15)
        return path

    monkeypatch.setattr(demo, "ensure_demo", fake_ensure_demo)
    window.open_demo()
    rows = window.dataset_pane.model.rowCount
    qtbot.waitUntil(lambda: rows() == 3, timeout=10_000)
    assert window.busy_bar.isVisible()  # still drawing
    window.dataset_pane.select_sample("train_001")
    qtbot.waitUntil(
        lambda: getattr(window.viewer.current_sample(), "name", None) == "train_001", timeout=10_000
    )
    with qtbot.waitSignal(window.dataset_opened, timeout=20_000):
        gate.set()
    assert rows() == total and not window.busy_bar.isVisible()
    assert window.dataset_pane.current_sample().name == "train_001"
    assert window.viewer.current_sample().name == "train_001"


def test_gui_command_checks_its_arguments_before_qt(tmp_path, capsys):
    from segviewer.cli import main

    assert main(["gui", str(tmp_path / "missing")]) == 2
    assert "missing: folder not found" in capsys.readouterr().err
    assert main(["gui", "--scheme", "no-such-scheme"]) == 2
    assert "unknown label scheme" in capsys.readouterr().err
