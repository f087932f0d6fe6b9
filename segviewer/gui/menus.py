"""The main window's menus and keyboard shortcuts (Help › Keyboard shortcuts lists these actions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from segviewer.core.overlay import MODE_TITLES, MODES
from segviewer.gui import settings as prefs

if TYPE_CHECKING:
    from segviewer.gui.main_window import MainWindow


def add_action(
    win: MainWindow,
    menu: QMenu,
    text: str,
    slot: Callable[..., Any],
    keys: Any = None,
    checkable: bool = False,
) -> QAction:
    action = QAction(text, win)
    if keys:
        action.setShortcuts(keys if isinstance(keys, list) else [QKeySequence(keys)])
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    menu.addAction(action)
    win.addAction(action)  # shortcuts work while the menu bar is hidden, too
    return action


@dataclass
class WindowMenus:
    """The menus and actions other parts add to or reflect state in."""

    file: QMenu
    recent: QMenu
    view: QMenu
    panes: QMenu  # View › Panes: one toggle per docked pane
    model: QMenu
    mode_actions: dict[str, QAction]
    colorblind: QAction


def build_menus(win: MainWindow) -> WindowMenus:
    """File, View, Model, Help; checkable actions follow the session."""
    bar = win.menuBar()
    viewer, session = win.viewer, win.session
    file_menu = bar.addMenu("&File")
    add_action(win, file_menu, "&Open data set…", win.choose_dataset, QKeySequence.StandardKey.Open)
    recent = file_menu.addMenu("Open &recent")
    recent.aboutToShow.connect(lambda: fill_recent_menu(win, recent))
    add_action(win, file_menu, "Open the &demo data set", win.open_demo)
    file_menu.addSeparator()
    add_action(win, file_menu, "&Quit", win.close, QKeySequence.StandardKey.Quit)

    view = bar.addMenu("&View")
    panes = view.addMenu("&Panes")
    view.addSeparator()
    mode_actions: dict[str, QAction] = {}
    group = QActionGroup(win)
    for number, mode in enumerate(MODES, 1):
        title = f"Show {MODE_TITLES[mode].lower()}"
        action = add_action(win, view, title, lambda _=False, m=mode: viewer.set_mode(m), str(number))
        action.setCheckable(True)
        group.addAction(action)
        mode_actions[mode] = action
    view.addSeparator()
    add_action(win, view, "More opaque overlay", lambda: session.nudge_opacity(0.1), "]")
    add_action(win, view, "More transparent overlay", lambda: session.nudge_opacity(-0.1), "[")
    colorblind = add_action(
        win, view, "&Colour-blind-safe colours", lambda on: setattr(session, "colorblind", on), checkable=True
    )
    colorblind.setChecked(session.colorblind)
    session.events.colorblind.connect(lambda on: colorblind.setChecked(on))
    session.events.mode.connect(lambda mode: mode_actions[mode].setChecked(True))
    mode_actions[session.mode].setChecked(True)
    view.addSeparator()
    add_action(win, view, "&Fit to window", viewer.view.fit_to_window, "F")
    add_action(win, view, "&Actual size (1:1)", viewer.view.actual_size, "Ctrl+0")
    zoom_in = [QKeySequence("Ctrl++"), QKeySequence("+")]
    zoom_out = [QKeySequence("Ctrl+-"), QKeySequence("-")]
    add_action(win, view, "Zoom &in", lambda: viewer.view.zoom_by(1.25), zoom_in)
    add_action(win, view, "Zoom &out", lambda: viewer.view.zoom_by(0.8), zoom_out)
    view.addSeparator()
    add_action(win, view, "&Next sample", lambda: win.dataset_pane.select_relative(1), "N")
    add_action(win, view, "&Previous sample", lambda: win.dataset_pane.select_relative(-1), "P")
    add_action(win, view, "Filter samples by &name", win.focus_filter, QKeySequence.StandardKey.Find)

    model = bar.addMenu("&Model")
    add_action(win, model, "&Load checkpoint…", win.choose_checkpoint, "Ctrl+L")
    unload = add_action(win, model, "&Unload model", win.predictions.unload)
    unload.setEnabled(False)
    session.events.checkpoint.connect(lambda path: unload.setEnabled(path is not None))

    help_menu = bar.addMenu("&Help")
    add_action(win, help_menu, "&Keyboard shortcuts", win.show_shortcuts, "F1")
    add_action(win, help_menu, "&About segviewer", win.show_about)
    return WindowMenus(file_menu, recent, view, panes, model, mode_actions, colorblind)


def fill_recent_menu(win: MainWindow, menu: QMenu) -> None:
    menu.clear()
    items = prefs.recent_datasets(win.settings)
    for item in items:
        root = Path(item["root"])
        scheme = item.get("scheme")
        action = menu.addAction(f"{root.name} — {root}")
        action.triggered.connect(lambda _=False, r=root, s=scheme: win.open_dataset(r, s))
    if not items:
        menu.addAction("No recent data sets").setEnabled(False)
    else:
        menu.addSeparator()
        menu.addAction("Clear the list").triggered.connect(lambda: prefs.clear_recent_datasets(win.settings))
