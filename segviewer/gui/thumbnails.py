"""Thumbnails decoded off the UI thread, newest request first, kept in a memory-bounded LRU cache.

Only rows the list view paints ask for a thumbnail, so scrolling through 10,000 samples decodes only
what passes the screen; requests for rows that scrolled away long ago fall off the queue.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from segviewer.core import paths
from segviewer.gui.image_utils import to_qimage
from segviewer.gui.lru import LruCache
from segviewer.gui.workers import lower_thread_priority

THUMB_SIZE = QSize(112, 63)
MAX_QUEUED = 256  # newest requests kept; older ones belong to rows scrolled off long ago


def decode_thumbnail(path: Path, box: tuple[int, int]) -> np.ndarray | None:
    """RGB uint8 fitting in `box` (w, h), or None when the file cannot be read.

    JPEG decoding at 1/4 scale (IMREAD_REDUCED_COLOR_4) skips most of the work; small images are
    decoded at full size.
    """
    try:
        data = np.fromfile(str(path), np.uint8)  # np.fromfile + imdecode copes with non-ASCII paths
    except OSError:
        return None
    if data.size == 0:
        return None
    bgr = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_4)
    if bgr is None or bgr.shape[1] < box[0]:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    h, w = bgr.shape[:2]
    scale = min(box[0] / w, box[1] / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(bgr, size, interpolation=interp)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def _filled_pixmap(size: QSize, color: QColor, cross: bool = False) -> QPixmap:
    pix = QPixmap(size)
    pix.fill(color)
    if cross:
        painter = QPainter(pix)
        painter.setPen(QPen(QColor(200, 60, 60), 2))
        w, h = size.width(), size.height()
        painter.drawLine(w // 2 - 10, h // 2 - 10, w // 2 + 10, h // 2 + 10)
        painter.drawLine(w // 2 + 10, h // 2 - 10, w // 2 - 10, h // 2 + 10)
        painter.end()
    return pix


class _Relay(QObject):
    decoded = Signal(int, str, object)  # generation, key, QImage or None


class _DecodeJob(QRunnable):
    """Drains the loader's queue, newest first, until it is empty."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        lower_thread_priority()
        loader = self.loader
        while True:
            with loader._lock:
                if not loader._queue:
                    loader._workers -= 1
                    return
                generation, key = loader._queue.pop()
            if generation != loader._generation:
                continue
            rgb = decode_thumbnail(Path(key), (loader.size.width(), loader.size.height()))
            loader._relay.decoded.emit(generation, key, None if rgb is None else to_qimage(rgb))


class ThumbnailLoader(QObject):
    """`request(path)` returns a cached pixmap, or None and decodes it in the background.

    `loaded(key)` tells that the thumbnail for `key` (str(path)) is now in the cache.
    """

    loaded = Signal(str)

    def __init__(
        self,
        size: QSize = THUMB_SIZE,
        max_bytes: int = 48 * 2**20,
        threads: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.size = size
        self.cache = LruCache(max_bytes)
        cores = paths.usable_cores()
        self._max_workers = threads or (1 if cores <= 2 else min(4, cores - 1))  # leave a core to the UI
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(self._max_workers)
        self._lock = threading.Lock()
        self._queue: deque[tuple[int, str]] = deque()
        self._pending: set[str] = set()
        self._workers = 0
        self._generation = 0
        self._relay = _Relay()
        self._relay.decoded.connect(self._on_decoded)
        self.placeholder = _filled_pixmap(size, QColor(215, 215, 215))
        self.broken = _filled_pixmap(size, QColor(120, 120, 120), cross=True)

    def request(self, path: Path | str) -> QPixmap | None:
        key = str(path)
        pix = self.cache.get(key)
        if pix is not None or key in self._pending:
            return pix
        self._pending.add(key)
        with self._lock:
            self._queue.append((self._generation, key))
            while len(self._queue) > MAX_QUEUED:
                _, dropped = self._queue.popleft()
                self._pending.discard(dropped)
            start = self._workers < self._max_workers
            if start:
                self._workers += 1
        if start:
            self._pool.start(_DecodeJob(self))
        return None

    def clear(self) -> None:
        """Forget everything (a new data set): queued decodes are dropped, late results ignored."""
        with self._lock:
            self._generation += 1
            self._queue.clear()
        self._pending.clear()
        self.cache.clear()

    def shutdown(self, msecs: int = 5000) -> None:
        with self._lock:
            self._generation += 1
            self._queue.clear()
        self._pool.waitForDone(msecs)

    def _on_decoded(self, generation: int, key: str, image: QImage | None) -> None:
        if generation != self._generation:
            return
        self._pending.discard(key)
        if image is None:
            pix = self.broken
            nbytes = 64
        else:
            pix = QPixmap.fromImage(image, Qt.ImageConversionFlag.NoFormatConversion)
            nbytes = image.sizeInBytes() + 256
        self.cache.put(key, pix, nbytes)
        self.loaded.emit(key)
