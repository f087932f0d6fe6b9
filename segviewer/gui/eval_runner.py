"""Evaluating one or two checkpoints on a data set split off the UI thread, with progress and cancel.

The work is `segviewer.core.evaluation.evaluate_split` (Qt-free); this module only runs it in a QThread,
turns its progress callback into rate-limited signals and its `should_stop` into a Cancel button.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QThread, QTimer, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1  # at most ~10 progress updates per second reach the UI


@dataclass
class ModelEvaluation:
    """One checkpoint's results on the split, with what the pane needs to label them."""

    checkpoint: Path
    title: str  # e.g. "U-Lite · ulite-20250101-120000"
    model_name: str
    result: Any  # segviewer.core.evaluation.EvaluationResult
    scheme: Any  # LabelScheme of the training ids


def model_title(model_name: str, checkpoint: Path) -> str:
    """A readable name: the model family and the run folder (or file name) it came from."""
    try:
        from segviewer.core.models import MODEL_TITLES

        family = MODEL_TITLES.get(model_name, model_name)
    except ImportError:
        family = model_name
    source = checkpoint.parent.name if checkpoint.name in ("best.pt", "last.pt") else checkpoint.stem
    return f"{family} · {source}" if source else family


def preload_evaluation_modules() -> None:
    """Import torch and the evaluation code on the UI thread: importing them in the worker would hold
    the GIL for seconds and freeze the window anyway."""
    for name in ("torch", "segviewer.core.predict", "segviewer.core.evaluation"):
        importlib.import_module(name)


def failure_message(exc: BaseException) -> str:
    from segviewer.core.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    return f"Evaluation stopped by an unexpected error: {type(exc).__name__}: {exc}"


def _worker_threads() -> int:
    from segviewer.gui.training_runner import cpu_cores

    return max(1, cpu_cores() - 1)  # leave a core to the UI


class _EvaluationThread(QThread):
    progressed = Signal(int, int)  # done, total (over all models)
    succeeded = Signal(list)
    failed = Signal(str)
    stopped = Signal()

    def __init__(
        self, checkpoints: list[Path], dataset, split: str, device: str, stop: threading.Event
    ) -> None:
        super().__init__()
        self._checkpoints, self._dataset, self._split = checkpoints, dataset, split
        self._device, self._stop = device, stop

    def run(self) -> None:
        try:
            results = self._evaluate_all()
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message in the pane
            from segviewer.core.errors import UserError

            if not isinstance(exc, UserError):
                log.exception("evaluation failed")
            self.failed.emit(failure_message(exc))
            return
        if results is None:
            self.stopped.emit()
        else:
            self.succeeded.emit(results)

    def _evaluate_all(self) -> list[ModelEvaluation] | None:
        from segviewer.core.checkpoint import check_compatible
        from segviewer.core.evaluation import evaluate_split, labelled_samples, resolve_checkpoint
        from segviewer.core.predict import Predictor

        per_model = len(labelled_samples(self._dataset, self._split))  # a clear error before loading models
        total = per_model * len(self._checkpoints)
        last = [0.0]

        results = []
        for index, checkpoint in enumerate(self._checkpoints):
            if self._stop.is_set():
                return None
            path = resolve_checkpoint(checkpoint)
            predictor = Predictor.from_checkpoint(path, device=self._device, threads=_worker_threads())
            check_compatible(predictor.meta, self._dataset.scheme)
            offset = index * per_model

            def progress(done: int, _total: int, offset: int = offset) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_INTERVAL_S or offset + done == total:
                    last[0] = now
                    self.progressed.emit(offset + done, total)

            result = evaluate_split(predictor, self._dataset, self._split, progress, self._stop.is_set)
            if result.stopped or self._stop.is_set():
                return None
            title = model_title(predictor.model_name, path)
            results.append(ModelEvaluation(path, title, predictor.model_name, result, self._dataset.scheme))
        return results


class EvaluationRunner(QObject):
    """Start / cancel one evaluation at a time; every signal is delivered on the UI thread."""

    progressed = Signal(int, int)  # images done, images in all (over all models)
    finished = Signal(list)  # list[ModelEvaluation], in the order the checkpoints were given
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    running_changed = Signal(bool)

    def __init__(self, device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self._stop = threading.Event()
        self._thread: _EvaluationThread | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, checkpoints: list[str | Path], dataset, split: str) -> None:
        """Evaluate each checkpoint (a file, or a run folder meaning its best.pt) on `split` of `dataset`."""
        if self._thread is not None:
            raise RuntimeError("an evaluation is already running")
        preload_evaluation_modules()
        self._stop.clear()
        thread = _EvaluationThread([Path(c) for c in checkpoints], dataset, split, self.device, self._stop)
        thread.progressed.connect(self.progressed)
        thread.succeeded.connect(self.finished)
        thread.failed.connect(self.failed)
        thread.stopped.connect(self.cancelled)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self.running_changed.emit(True)
        thread.start()

    def cancel(self) -> None:
        """Ask the evaluation to stop; it ends after the image being predicted."""
        self._stop.set()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Process Qt events until the worker has ended (True) or `timeout_s` passed (False)."""
        if self._thread is None:
            return True
        loop = QEventLoop()
        self.running_changed.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        self.running_changed.disconnect(loop.quit)
        return self._thread is None

    def shutdown(self) -> None:
        """Cancel and join the worker (window closing): no thread outlives the pane."""
        if self._thread is not None:
            self._stop.set()
            self._thread.wait()
            self._on_thread_finished()

    def _on_thread_finished(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.wait()
        thread.deleteLater()
        self.running_changed.emit(False)
