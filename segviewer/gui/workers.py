"""Running core functions and generators off the UI thread; results come back as Qt signals.

Three shapes cover the GUI's needs:
- `run_in_background(fn, on_done, on_failed)`: one call (open a data set, load a checkpoint).
- `LatestTaskRunner`: one task at a time, and only the newest request matters (the viewer's image
  loading and predictions while the user scrolls: stale requests are dropped, never queued up).
- `GeneratorThread`: iterates a Qt-free generator that yields progress; each item is a cancel point and
  items reach the UI in batches at about 10 Hz.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

log = logging.getLogger(__name__)


def lower_thread_priority(nice: int = 10) -> None:
    """Let the calling worker thread yield the CPU to the UI thread (Linux: per-thread niceness).

    On a busy 2-core machine this is what keeps the event loop on time while a model predicts or
    thumbnails decode. Elsewhere (or when not permitted) it does nothing.
    """
    if not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
    except OSError:
        pass


class _Relay(QObject):
    """Lives on the UI thread; a worker emits through it so the slots run on the UI thread."""

    done = Signal(object)
    failed = Signal(object)


class BackgroundTask(QRunnable):
    def __init__(self, fn: Callable[[], Any], background: bool = False) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.background = background
        self.relay = _Relay()

    def run(self) -> None:
        if self.background:
            lower_thread_priority()
        try:
            result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the UI as a message
            if not isinstance(exc, Exception):
                log.error("background task ended by %r", exc)
            elif not _is_user_error(exc):
                log.exception("background task failed")
            self.relay.failed.emit(exc)
        else:
            self.relay.done.emit(result)


_RUNNING: set[BackgroundTask] = set()


def _is_user_error(exc: BaseException) -> bool:
    from segviewer.core.errors import UserError

    return isinstance(exc, UserError)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_failed: Callable[[BaseException], None],
    pool: QThreadPool | None = None,
    background: bool = False,
) -> BackgroundTask:
    """Run `fn()` on a pool thread; `on_done(result)` or `on_failed(exception)` runs on the UI thread.

    `background=True` lowers the thread's priority (only for pools of background work: the thread
    keeps it).
    """
    task = BackgroundTask(fn, background)
    _RUNNING.add(task)

    def finish(callback: Callable[[Any], None], value: Any) -> None:
        _RUNNING.discard(task)
        callback(value)

    task.relay.done.connect(lambda value: finish(on_done, value))
    task.relay.failed.connect(lambda exc: finish(on_failed, exc))
    (pool or QThreadPool.globalInstance()).start(task)
    return task


class LatestTaskRunner(QObject):
    """One task at a time on its own thread; while busy, only the newest submitted request waits.

    When a newer request is waiting as a task finishes, the finished task's result is stale and is
    dropped, so holding an arrow key never builds a queue of decodes or predictions.
    """

    finished = Signal(object, object)  # key, result
    failed = Signal(object, object)  # key, exception

    def __init__(self, parent: QObject | None = None, background: bool = False) -> None:
        super().__init__(parent)
        self.background = background  # lower the worker's priority below the UI's
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._busy = False
        self._pending: tuple[Any, Callable[[], Any]] | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, key: Any, fn: Callable[[], Any]) -> None:
        if self._busy:
            self._pending = (key, fn)
        else:
            self._start(key, fn)

    def cancel_pending(self) -> None:
        self._pending = None

    def wait(self, msecs: int = 30000) -> bool:
        self._pending = None
        return self._pool.waitForDone(msecs)

    def _start(self, key: Any, fn: Callable[[], Any]) -> None:
        self._busy = True
        run_in_background(
            fn,
            lambda r: self._finish(key, r, True),
            lambda e: self._finish(key, e, False),
            self._pool,
            self.background,
        )

    def _finish(self, key: Any, value: Any, ok: bool) -> None:
        self._busy = False
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._start(*pending)
            return
        (self.finished if ok else self.failed).emit(key, value)


class GeneratorThread(QThread):
    """Iterates `make(should_stop)` on its own thread; yielded items reach the UI in batches.

    `produced(list)` carries the items yielded since the last batch (at most ~10 per second);
    `failed(str)` carries a message; `completed(bool)` tells whether it ran to the end (False when
    stopped). `stop()` asks the generator to end at its next yield.
    """

    produced = Signal(list)
    failed = Signal(str)
    completed = Signal(bool)

    def __init__(
        self,
        make: Callable[[Callable[[], bool]], Iterator[Any]],
        interval: float = 0.1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._make = make
        self._interval = interval

    def stop(self) -> None:
        self.requestInterruption()

    def run(self) -> None:
        lower_thread_priority()
        batch: list[Any] = []
        last = time.monotonic()
        try:
            for item in self._make(self.isInterruptionRequested):
                batch.append(item)
                now = time.monotonic()
                if now - last >= self._interval:
                    self.produced.emit(batch)
                    batch, last = [], now
                if self.isInterruptionRequested():
                    break
        except Exception as exc:  # noqa: BLE001 - shown to the user, logged for us
            if not _is_user_error(exc):
                log.exception("background job failed")
            if batch:
                self.produced.emit(batch)
            self.failed.emit(str(exc))
            return
        if batch:
            self.produced.emit(batch)
        self.completed.emit(not self.isInterruptionRequested())
