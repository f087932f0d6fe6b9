"""The loaded model: checkpoint loading and per-image predictions in the background, cached per sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from segviewer.core import paths
from segviewer.core.errors import UserError
from segviewer.core.lru import LruCache
from segviewer.core.overlay import class_shares
from segviewer.gui import background


def describe_failure(exc: BaseException, path: Path | str) -> str:
    """A message for the user: UserErrors speak for themselves; anything else names the file."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("segviewer"):
        return f"{path}: this installation of segviewer cannot load checkpoints ({exc.name} is missing)."
    return f"{path}: could not be loaded as a segviewer checkpoint ({type(exc).__name__}: {exc})."


class PredictionService(QObject):
    """Holds at most one predictor. `request(key, image)` predicts in the background, newest first.

    Results are cached by key (the sample's image path) in an LRU bounded by bytes, and dropped when
    the model changes.
    """

    model_changed = Signal(object)  # the Predictor, or None when unloaded
    load_failed = Signal(str)  # user-ready message
    loading_changed = Signal(bool)
    prediction_ready = Signal(
        object, object, object, object
    )  # key, mask (H, W) uint8, confidence (H, W) float32, shares (256,)
    prediction_failed = Signal(object, str)

    def __init__(self, max_bytes: int = 256 * 2**20, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.predictor: Any = None
        self.checkpoint: Path | None = None
        self.cache = LruCache(max_bytes)
        self._generation = 0
        self._loading = False
        self._latest = background.Latest(low_priority=True)
        self._loader = background.Latest()  # a newer checkpoint request replaces an older one

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def busy(self) -> bool:
        return self._latest.busy

    def load_checkpoint(self, path: str | Path) -> None:
        """Load in the background; emits model_changed or load_failed."""
        path = Path(path)
        threads = paths.background_cores()

        def load() -> Any:
            from segviewer.core.predict import load_predictor

            return load_predictor(path, threads=threads, fastest=True)

        self._set_loading(True)
        self._loader.start(self._load(path, load))

    async def _load(self, path: Path, load: Any) -> None:
        try:
            predictor = await self._loader.run(load)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message naming the file
            self._set_loading(False)
            self.load_failed.emit(describe_failure(exc, path))
            return
        self._set_loading(False)
        self._set_model(predictor, path)

    def unload(self) -> None:
        self._set_model(None, None)

    def cached(self, key: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(mask, confidence, class shares) of an earlier prediction for `key`, or None."""
        return self.cache.get((self._generation, key))

    def request(self, key: Any, image: np.ndarray) -> None:
        """Predict `image` unless cached; the answer comes as prediction_ready(key, mask, confidence, shares)."""
        if self.predictor is None:
            return
        hit = self.cached(key)
        if hit is not None:
            self.prediction_ready.emit(key, *hit)
            return
        predictor, generation = self.predictor, self._generation

        def predict() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            mask, confidence = predictor.predict(image)
            return mask, confidence, class_shares(mask)  # shares here, not on the UI thread

        self._latest.start(self._predict(generation, key, predict))

    async def _predict(self, generation: int, key: Any, predict: Any) -> None:
        try:
            result = await self._latest.run(predict)
        except Exception as exc:  # noqa: BLE001 - shown in the status bar
            if generation == self._generation:
                text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
                self.prediction_failed.emit(key, f"The model could not predict this image ({text}).")
            return
        if generation != self._generation:
            return
        self.cache.put((generation, key), result, sum(a.nbytes for a in result))
        self.prediction_ready.emit(key, *result)

    def shutdown(self) -> None:
        self._latest.shutdown()
        self._loader.shutdown()

    def _set_loading(self, loading: bool) -> None:
        self._loading = loading
        self.loading_changed.emit(loading)

    def _set_model(self, predictor: Any, path: Path | None) -> None:
        self._generation += 1
        self.cache.clear()
        self._latest.cancel()
        self.predictor, self.checkpoint = predictor, path
        self.model_changed.emit(predictor)
