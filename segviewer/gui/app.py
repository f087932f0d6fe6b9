"""Starting the desktop application: QApplication, logging, the crash guard and the main window."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from segviewer.core import paths
from segviewer.core.errors import UserError
from segviewer.gui import background
from segviewer.gui import settings as prefs
from segviewer.gui.main_window import MainWindow
from segviewer.gui.qt_platform import startup_problem

log = logging.getLogger("segviewer")


def ensure_app(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (created on first use, with the names QSettings and the desktop need).

    Raises UserError naming the missing system package when Qt's platform plugin cannot load.
    """
    app = QApplication.instance()
    if app is None:
        problem = startup_problem()  # before Qt aborts the process with a less helpful message
        if problem:
            raise UserError(problem)
        import cv2

        cv2.setNumThreads(1)  # GUI work is small; leave the cores to the event loop and the workers
        app = QApplication([sys.argv[0] if sys.argv else "segviewer", *(argv or [])])
        app.setOrganizationName(prefs.ORGANISATION)
        app.setApplicationName(prefs.APPLICATION)
        app.setApplicationDisplayName("segviewer")
        app.setDesktopFileName("org.segviewer.SegViewer")
        try:
            from segviewer.resources import app_icon_path

            if app_icon_path().is_file():
                app.setWindowIcon(QIcon(str(app_icon_path())))
        except ImportError:
            pass
    return app  # type: ignore[return-value]


def create_main_window(
    root: Path | str | None = None,
    scheme: str | None = None,
    *,
    demo: bool = False,
    model: Path | str | None = None,
) -> MainWindow:
    """A main window opening `root` (or the demo data set when `demo`) and loading `model`; not shown yet."""
    ensure_app()
    window = MainWindow()
    if root is not None:
        window.open_dataset(Path(root), scheme)
    elif demo:
        window.open_demo()
    if model is not None:
        window.load_checkpoint(Path(model).expanduser())
    return window


def configure_logging() -> Path | None:
    """Warnings and errors go to stderr and to the log file in the user's cache folder."""
    logger = logging.getLogger("segviewer")
    if logger.handlers:
        return paths.log_path()
    logger.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(logging.WARNING)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    path = paths.log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    return path


def install_excepthook(window: Callable[[], MainWindow | None]) -> None:
    """Uncaught exceptions are logged (stderr + log file) and summed up in the status bar; the app goes on.

    The status bar is only touched on the UI thread: an exception raised on another thread is
    handed to the event loop first.
    """

    def tell(exc: BaseException) -> None:
        win = window()
        if win is None:
            return
        if isinstance(exc, UserError):
            win.show_status(str(exc), 20000)
        else:
            where = paths.log_path()
            win.show_status(
                f"Something went wrong, but you can keep working. Details were saved to {where}.", 20000
            )

    def hook(exc_type: type[BaseException], exc: BaseException, tb) -> None:  # noqa: ANN001
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)).rstrip())
        if threading.current_thread() is threading.main_thread():
            tell(exc)
        else:
            background.event_loop().call_soon_threadsafe(tell, exc)

    sys.excepthook = hook
    threading.excepthook = lambda args: hook(args.exc_type, args.exc_value, args.exc_traceback)
    background.on_failure(tell)


def run(root: Path | str | None = None, scheme: str | None = None, model: Path | str | None = None) -> int:
    """Open the window (on `root`, or the demo data set) and run the event loop until it closes."""
    app = ensure_app()
    configure_logging()
    window = create_main_window(root, scheme, demo=root is None, model=model)
    install_excepthook(lambda: window)
    # Ctrl+C in the terminal closes the window: Python only sees signals while its code runs.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    ticker = QTimer(interval=250)
    ticker.timeout.connect(lambda: None)
    ticker.start()
    show_window(window)
    return int(app.exec())


PANES_AT_THE_LATEST_MS = 2000


def show_window(window: MainWindow) -> None:
    """Show the window; the heavier panes (about a second to build) follow once the first sample is on
    screen, or after two seconds, so that neither the window nor the first picture waits for them."""
    window.show()
    window.viewer.sample_shown.connect(lambda _sample: QTimer.singleShot(0, window.install_panes))
    QTimer.singleShot(PANES_AT_THE_LATEST_MS, window.install_panes)


def main(argv: list[str] | None = None) -> int:
    """`python -m segviewer.gui.app [ROOT] [--scheme S] [--model FILE]`: the same as `segviewer gui`."""
    from segviewer.commands.gui import add_arguments

    parser = argparse.ArgumentParser(
        prog="segviewer gui", description="Open the segviewer desktop application."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args.root, args.scheme, args.model)
    except UserError as exc:
        print(f"segviewer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
