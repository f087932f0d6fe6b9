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

This module holds `create_runner()` and re-exports the pieces that live in their own modules:
training_loop.py (worker loop and helpers in plain Python), training_runner_base.py, training_thread_runner.py,
training_process_runner.py, background_call.py and training_eta.py.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject

from segviewer.gui.background_call import BackgroundCall
from segviewer.gui.training_eta import EtaEstimator, format_duration
from segviewer.gui.training_loop import (
    DEFAULT_TRAIN_FUNCTION,
    PRELOAD_MODULES,
    cpu_cores,
    failure_message,
    iterate_training,
    preload_training_modules,
    resolve_train_function,
)
from segviewer.gui.training_process_runner import ProcessTrainingRunner
from segviewer.gui.training_runner_base import TrainingRunner
from segviewer.gui.training_thread_runner import ThreadTrainingRunner

__all__ = [
    "DEFAULT_TRAIN_FUNCTION",
    "PRELOAD_MODULES",
    "BackgroundCall",
    "EtaEstimator",
    "ProcessTrainingRunner",
    "ThreadTrainingRunner",
    "TrainingRunner",
    "cpu_cores",
    "create_runner",
    "failure_message",
    "format_duration",
    "iterate_training",
    "preload_training_modules",
    "resolve_train_function",
]


def create_runner(kind: str | None = None, parent: QObject | None = None, **kwargs) -> TrainingRunner:
    """The runner the GUI uses: $SEGVIEWER_TRAINING_RUNNER ("thread"/"process") or the default."""
    kind = kind or os.environ.get("SEGVIEWER_TRAINING_RUNNER") or "thread"
    cls = {"thread": ThreadTrainingRunner, "process": ProcessTrainingRunner}.get(kind)
    if cls is None:
        raise ValueError(f"unknown training runner {kind!r}; use 'thread' or 'process'")
    return cls(parent=parent, **kwargs)
