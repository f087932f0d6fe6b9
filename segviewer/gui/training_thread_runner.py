"""`ThreadTrainingRunner`: iterates the core training generator in a QThread of the UI process.

Data is loaded on that thread (`num_workers = 0`): forking a process that runs Qt threads is unsafe.
"""

from __future__ import annotations

import dataclasses
import threading

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from segviewer.gui.training_loop import (
    DEFAULT_TRAIN_FUNCTION,
    failed_event,
    failure_message,
    iterate_training,
    preload_training_modules,
    resolve_train_function,
)
from segviewer.gui.training_runner_base import TrainingRunner


class _TrainThread(QThread):
    event_ready = Signal(object)

    def __init__(self, train_fn, cfg, stop: threading.Event, pause: threading.Event) -> None:
        super().__init__()
        self._train_fn, self._cfg, self._stop, self._pause = train_fn, cfg, stop, pause

    def run(self) -> None:
        iterate_training(self._train_fn, self._cfg, self._stop, self._pause, self.event_ready.emit)


class ThreadTrainingRunner(TrainingRunner):
    kind = "thread"

    def __init__(self, train_function: str = DEFAULT_TRAIN_FUNCTION, parent: QObject | None = None) -> None:
        super().__init__(train_function, parent)
        self._stop_flag = threading.Event()
        self._pause_flag = threading.Event()
        self._thread: _TrainThread | None = None

    def prepare_config(self, cfg):
        """As the base, and load data on the training thread: forking a process that runs Qt
        threads is unsafe, so no DataLoader worker processes."""
        cfg = super().prepare_config(cfg)
        return dataclasses.replace(cfg, num_workers=0) if getattr(cfg, "num_workers", 0) != 0 else cfg

    def _start(self, cfg) -> None:
        preload_training_modules()
        self._stop_flag.clear()
        self._pause_flag.clear()
        try:
            train_fn = resolve_train_function(self.train_function)
        except Exception as exc:  # noqa: BLE001 - shown in the pane, never a crash
            self.event_received.emit(failed_event(failure_message(exc)))
            QTimer.singleShot(0, self._mark_finished)
            return
        thread = _TrainThread(train_fn, cfg, self._stop_flag, self._pause_flag)
        thread.event_ready.connect(self.event_received)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        thread.start()

    def pause(self) -> None:
        super().pause()
        self._pause_flag.set()

    def resume(self) -> None:
        super().resume()
        self._pause_flag.clear()

    def stop(self) -> None:
        super().stop()
        self._stop_flag.set()
        self._pause_flag.clear()

    def _on_thread_finished(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self._mark_finished()
