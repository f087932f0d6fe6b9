"""`TrainingRunner`: the API both training runners share (start / pause / resume / stop / wait).

Subclasses (training_thread_runner.py, training_process_runner.py) only start the work and carry the
pause and stop requests to it; this base keeps the running state and emits the Qt signals.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

from segviewer.gui.training_loop import DEFAULT_TRAIN_FUNCTION, cpu_cores


class TrainingRunner(QObject):
    """Common API; subclasses start the work. Signals are delivered on the UI thread."""

    event_received = Signal(object)  # one core event (Started, Batch, Epoch, ... Finished/Failed)
    running_changed = Signal(bool)
    finished = Signal()  # the worker has ended and every event was delivered

    kind = "base"

    def __init__(self, train_function: str = DEFAULT_TRAIN_FUNCTION, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.train_function = train_function
        self._running = False
        self._paused = False

    def is_running(self) -> bool:
        return self._running

    def is_paused(self) -> bool:
        return self._paused

    def start(self, cfg) -> None:
        if self._running:
            raise RuntimeError("a training run is already in progress")
        self._paused = False
        self._running = True
        self.running_changed.emit(True)
        self._start(self.prepare_config(cfg))

    def prepare_config(self, cfg):
        """Leave one core to the event loop unless the user chose a thread count."""
        if getattr(cfg, "threads", None) is None:
            return dataclasses.replace(cfg, threads=max(1, cpu_cores() - 1))
        return cfg

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def stop(self) -> None:
        """Ask the run to end: effective after the current batch; best.pt is kept."""
        self._paused = False

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Process Qt events until the worker has ended (True) or `timeout_s` passed (False)."""
        if not self._running:
            return True
        loop = QEventLoop()
        self.finished.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        if self._running:
            loop.exec()
        self.finished.disconnect(loop.quit)
        return not self._running

    def kill(self) -> None:
        """Last resort when a stop request was not honoured in time (only a process can be killed)."""

    def _start(self, cfg) -> None:
        raise NotImplementedError

    def _mark_finished(self) -> None:
        if self._running:
            self._running = False
            self._paused = False
            self.running_changed.emit(False)
            self.finished.emit()
