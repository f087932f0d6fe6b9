"""Runs the core training generator off the UI thread and hands its events to Qt as signals.

Two interchangeable runners with the same API (start / pause / resume / stop / wait):

- `ThreadTrainingRunner` iterates `train()` in a QThread. On this project's 2-core reference machine
  it keeps the event loop responsive only when training leaves one core to the UI, so it sets
  `threads = cores - 1` and `num_workers = 0` (forking a process that runs Qt threads is unsafe).
- `ProcessTrainingRunner` runs `train()` in a spawned process (no GIL shared with the UI, may use
  every core and DataLoader workers) and forwards the pickled events through a queue that a QTimer
  drains; it pays a few seconds of start-up to import torch again.

Both leave one core to the UI (`threads = cores - 1`). benchmarks/ui_latency.py measured both on the
2-core reference machine (shared, noisy): thread p99 ~3-5 ms, max ~16-28 ms at ~5.5 images/s;
process p99 ~4 ms, max ~40 ms at ~5 images/s plus seconds of start-up; the thread runner at all
cores stalled the UI up to ~200 ms. So `create_runner()` defaults to the thread runner
($SEGVIEWER_TRAINING_RUNNER=process picks the other).
Events arrive on the UI thread in order; `finished` follows the last event. Any exception escaping
the generator becomes a `Failed` event, so the pane shows a message and the app keeps running.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import queue as queue_module
import threading
import time
import traceback
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Signal

log = logging.getLogger(__name__)

DEFAULT_TRAIN_FUNCTION = "segviewer.core.training:train"
_DONE = "__segviewer_training_done__"
# What a run imports lazily; torch._dynamo is pulled in by the first torch.optim optimizer (~1 s).
PRELOAD_MODULES = (
    "torch",
    "torch._dynamo",
    "torch.utils.data",
    "torch.utils.serialization",
    "cv2",
    "albumentations",
    "segviewer.core.training",
    "segviewer.core.pipeline",
    "segviewer.core.models",
    "segviewer.core.metrics",
    "segviewer.core.checkpoint",
    "segviewer.core.augment",
    "segviewer.core.layouts",
    "segviewer.core.devices",
)


def preload_training_modules() -> None:
    """Import the heavy libraries on the calling (UI) thread: importing them inside the worker
    thread holds the GIL for seconds and freezes the window."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    for name in PRELOAD_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a missing optional piece shows up later as a Failed event
            log.debug("preload of %s failed: %s", name, exc)


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_train_function(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "train")


def failure_message(exc: BaseException) -> str:
    """A user-facing sentence: UserErrors as they are, bugs with their type (traceback to the log)."""
    from segviewer.core.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    return f"Training stopped by an unexpected error: {type(exc).__name__}: {exc}"


def _failed_event(message: str) -> Any:
    from segviewer.core.events import Failed

    return Failed(message)


def iterate_training(train_fn, cfg, stop: Any, pause: Any, emit) -> None:
    """Shared worker loop: forward events; block between batches while paused; never raise."""
    try:
        for event in train_fn(cfg, should_stop=stop.is_set):
            emit(event)
            while pause.is_set() and not stop.is_set():
                time.sleep(0.05)
    except BaseException as exc:  # noqa: BLE001 - the worker must never die silently
        log.error("training failed:\n%s", traceback.format_exc())
        emit(_failed_event(failure_message(exc)))


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
            self.event_received.emit(_failed_event(failure_message(exc)))
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


def _process_main(spec: str, cfg, events, stop, pause) -> None:
    """Entry point of the spawned training process."""
    try:
        train_fn = resolve_train_function(spec)
    except BaseException as exc:  # noqa: BLE001
        events.put(_failed_event(failure_message(exc)))
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
                    _failed_event(f"The training process ended unexpectedly (exit code {code}).")
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


def create_runner(kind: str | None = None, parent: QObject | None = None, **kwargs) -> TrainingRunner:
    """The runner the GUI uses: $SEGVIEWER_TRAINING_RUNNER ("thread"/"process") or the default."""
    kind = kind or os.environ.get("SEGVIEWER_TRAINING_RUNNER") or "thread"
    cls = {"thread": ThreadTrainingRunner, "process": ProcessTrainingRunner}.get(kind)
    if cls is None:
        raise ValueError(f"unknown training runner {kind!r}; use 'thread' or 'process'")
    return cls(parent=parent, **kwargs)


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
        thread.finished.connect(self._on_finished)  # a bound slot: dropped if this object is deleted
        thread.start()

    def _on_finished(self) -> None:
        thread = self.sender()
        token = self._threads.pop(thread, None)
        if token is None:
            return
        thread.wait()
        thread.deleteLater()
        self.done.emit(token, thread.result)

    def join(self, timeout_s: float = 30.0) -> None:
        """Wait for running calls; their results are dropped."""
        for thread in list(self._threads):
            thread.finished.disconnect(self._on_finished)
            thread.wait(int(timeout_s * 1000))
            thread.deleteLater()
        self._threads.clear()


class EtaEstimator:
    """Time left in a run: from measured epoch durations once one epoch is done (they include
    validation), before that from the batch rate."""

    def __init__(self) -> None:
        self.reset(1, 1, 1)

    def reset(self, epochs: int, steps: int, start_epoch: int = 1) -> None:
        self.epochs, self.steps, self.start_epoch = max(1, epochs), max(1, steps), start_epoch
        self._t0 = time.monotonic()
        self._epoch_t0 = self._t0
        self._epoch_seconds: list[float] = []
        self._batches = 0
        self._epoch, self._step = start_epoch, 0

    def on_batch(self, epoch: int, step: int, steps: int) -> None:
        if epoch != self._epoch:
            self._epoch_t0 = time.monotonic()
        self._epoch, self._step, self.steps = epoch, step, max(1, steps)
        self._batches += 1

    def on_epoch(self, epoch: int, seconds: float) -> None:
        self._epoch_seconds.append(max(0.0, float(seconds)))
        self._epoch, self._step = epoch + 1, 0
        self._epoch_t0 = time.monotonic()

    def fraction_done(self) -> float:
        total = (self.epochs - self.start_epoch + 1) * self.steps
        done = (self._epoch - self.start_epoch) * self.steps + self._step
        return min(1.0, max(0.0, done / total))

    def eta_seconds(self) -> float | None:
        now = time.monotonic()
        epochs_left_after_this = max(0, self.epochs - self._epoch)
        if self._epoch_seconds:
            per_epoch = sum(self._epoch_seconds[-3:]) / len(self._epoch_seconds[-3:])
            in_epoch = max(0.0, per_epoch - (now - self._epoch_t0)) if self._epoch <= self.epochs else 0.0
            return in_epoch + epochs_left_after_this * per_epoch
        if self._batches < 2:
            return None
        per_step = (now - self._t0) / self._batches
        return per_step * ((self.steps - self._step) + epochs_left_after_this * self.steps)


def format_duration(seconds: float | None) -> str:
    """'1:05:09', '4:12' or '—' when unknown."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
