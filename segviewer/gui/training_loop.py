"""The groundwork both training runners share, in plain Python (no Qt classes or signals).

Which heavy modules to import up front, how many cores the process may use, how a "module:function"
spec becomes the train function, and the worker loop that forwards events, blocks while paused and
turns any escaping exception into a `Failed` event.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
import traceback
from typing import Any

from segviewer.core import paths

log = logging.getLogger(__name__)

DEFAULT_TRAIN_FUNCTION = "segviewer.core.training:train"
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
    return paths.usable_cores()


def resolve_train_function(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "train")


def failure_message(exc: BaseException) -> str:
    """A user-facing sentence: UserErrors as they are, bugs with their type (traceback to the log)."""
    from segviewer.core.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    return f"Training stopped by an unexpected error: {type(exc).__name__}: {exc}"


def failed_event(message: str) -> Any:
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
        emit(failed_event(failure_message(exc)))
