"""`BackgroundCall`: small blocking calls (model sizes, run listing) on helper QThreads, with the
results handed back on the UI thread."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

log = logging.getLogger(__name__)

# Every started call thread until it has been waited for on the UI thread. Qt aborts the process when
# a QThread object is destroyed while its thread runs, which would happen if the owner of a
# BackgroundCall were deleted (and Python dropped the owner's references) mid-call.
_ALIVE: set[QThread] = set()


class _CallThread(QThread):
    """Runs one call; the result is read on the UI thread after `finished` (no Python object
    crosses threads inside a signal)."""

    def __init__(self, fn, args: tuple) -> None:
        super().__init__()
        self._fn, self._args = fn, args
        self.result: Any = None

    def run(self) -> None:
        try:
            self.result = self._fn(*self._args)
        except Exception as exc:  # noqa: BLE001 - handed to the caller to show
            log.debug("background call failed", exc_info=True)
            self.result = exc


class BackgroundCall(QObject):
    """Runs small blocking calls (model sizes, run listing) on helper QThreads; results come back
    as `done(token, result)` on the UI thread. `join()` before the owner goes away."""

    done = Signal(object, object)  # token, result (an Exception instance when the call raised)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: dict[_CallThread, Any] = {}

    def submit(self, token: Any, fn, *args) -> None:
        thread = _CallThread(fn, args)
        self._threads[thread] = token
        _ALIVE.add(thread)
        thread.finished.connect(self._on_finished)  # a bound slot: dropped if this object is deleted
        thread.start()

    def _on_finished(self) -> None:
        thread = self.sender()
        token = self._threads.pop(thread, None)
        if token is None:
            return
        thread.wait()
        _ALIVE.discard(thread)
        thread.deleteLater()
        self.done.emit(token, thread.result)

    def join(self, timeout_s: float = 30.0) -> None:
        """Wait for running calls; their results are dropped."""
        for thread in list(self._threads):
            thread.finished.disconnect(self._on_finished)
            if thread.wait(int(timeout_s * 1000)):
                _ALIVE.discard(thread)
                thread.deleteLater()
        self._threads.clear()
