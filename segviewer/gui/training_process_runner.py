"""`ProcessTrainingRunner`: runs the core training generator in a spawned process.

No GIL is shared with the UI, so the run may use every core and DataLoader workers; the pickled
events come back through a queue that a QTimer drains. Starting costs a few seconds to import torch
again. `_process_main` is the spawned process's entry point.
"""

from __future__ import annotations

import dataclasses
import logging
import queue as queue_module
import time

from PySide6.QtCore import QObject, QTimer

from segviewer.gui.training_loop import (
    DEFAULT_TRAIN_FUNCTION,
    cpu_cores,
    failed_event,
    failure_message,
    iterate_training,
    resolve_train_function,
)
from segviewer.gui.training_runner_base import TrainingRunner

log = logging.getLogger(__name__)

_DONE = "__segviewer_training_done__"


def _process_main(spec: str, cfg, events, stop, pause) -> None:
    """Entry point of the spawned training process."""
    try:
        train_fn = resolve_train_function(spec)
    except BaseException as exc:  # noqa: BLE001
        events.put(failed_event(failure_message(exc)))
    else:
        iterate_training(train_fn, cfg, stop, pause, events.put)
    events.put(_DONE)
    events.close()
    events.join_thread()


class ProcessTrainingRunner(TrainingRunner):
    kind = "process"
    poll_ms = 30

    def __init__(self, train_function: str = DEFAULT_TRAIN_FUNCTION, parent: QObject | None = None) -> None:
        super().__init__(train_function, parent)
        import multiprocessing

        self._ctx = multiprocessing.get_context("spawn")
        self._process = None
        self._events = None
        self._stop_flag = None
        self._pause_flag = None
        self._timer = QTimer(self)
        self._timer.setInterval(self.poll_ms)
        self._timer.timeout.connect(self._drain)

    def prepare_config(self, cfg):
        """As the base; with two cores or fewer, DataLoader workers would only oversubscribe them."""
        cfg = super().prepare_config(cfg)
        if getattr(cfg, "num_workers", None) is None and cpu_cores() <= 2:
            cfg = dataclasses.replace(cfg, num_workers=0)
        return cfg

    def _start(self, cfg) -> None:
        self._events = self._ctx.Queue()
        self._stop_flag = self._ctx.Event()
        self._pause_flag = self._ctx.Event()
        args = (self.train_function, cfg, self._events, self._stop_flag, self._pause_flag)
        self._process = self._ctx.Process(
            target=_process_main, args=args, name="segviewer-training", daemon=False
        )
        self._process.start()
        self._timer.start()

    def pause(self) -> None:
        super().pause()
        if self._pause_flag is not None:
            self._pause_flag.set()

    def resume(self) -> None:
        super().resume()
        if self._pause_flag is not None:
            self._pause_flag.clear()

    def stop(self) -> None:
        super().stop()
        if self._stop_flag is not None:
            self._stop_flag.set()
            self._pause_flag.clear()

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            log.warning("training process did not stop in time; killing it")
            self._process.kill()
            self._process.join(10)
        self._drain()

    def _drain(self) -> None:
        if self._process is None:
            return
        done = False
        for _ in range(1000):  # bounded so a flood of events never starves the UI
            try:
                item = self._events.get_nowait()
            except queue_module.Empty:
                break
            if isinstance(item, str) and item == _DONE:
                done = True
                break
            self.event_received.emit(item)
        if not done and self._process is not None and not self._process.is_alive():
            time.sleep(0.05)  # let the feeder thread of a dying process flush
            if self._events.empty():
                code = self._process.exitcode
                self.event_received.emit(
                    failed_event(f"The training process ended unexpectedly (exit code {code}).")
                )
                done = True
        if done:
            self._timer.stop()
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None
            self._events.close()
            self._mark_finished()
