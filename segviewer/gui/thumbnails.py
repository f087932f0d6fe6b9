"""Thumbnails decoded off the UI thread, newest request first, kept in a memory-bounded LRU cache.

Only rows the list view paints ask for a thumbnail, so scrolling through 10,000 samples decodes only
what passes the screen; requests for rows that scrolled away long ago fall off the queue. A frame of a
video is keyed by its `Sample.key` (path and frame index) and read through a video reader of the loader's
own, so that thumbnails never move the viewer's position in the video.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from segviewer.core import paths
from segviewer.core.lru import LruCache
from segviewer.gui import background
from segviewer.gui.image_utils import to_qimage

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
    return cv2.cvtColor(fit_in_box(bgr, box), cv2.COLOR_BGR2RGB)


def fit_in_box(picture: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """`picture` scaled to fit in `box` (w, h), keeping its aspect ratio."""
    h, w = picture.shape[:2]
    scale = min(box[0] / w, box[1] / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(picture, size, interpolation=interp)


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


class _Videos:
    """The loader's own readers of the videos it has made thumbnails of, opened on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, object] = {}

    def frame(self, path: str, index: int, box: tuple[int, int]) -> np.ndarray | None:
        from segviewer.core.errors import UserError
        from segviewer.core.video import VideoFile

        try:
            with self._lock:
                video = self._open.get(path)
                if video is None:
                    video = self._open[path] = VideoFile(path)
            return fit_in_box(video.read(index), box)
        except UserError:  # an unreadable video or frame: the "broken" thumbnail
            return None

    def close(self) -> None:
        with self._lock:
            videos, self._open = list(self._open.values()), {}
        for video in videos:
            video.close()


def _decode_image(path: str, frame: int | None, box: tuple[int, int], videos: _Videos) -> QImage | None:
    rgb = decode_thumbnail(Path(path), box) if frame is None else videos.frame(path, frame, box)
    return None if rgb is None else to_qimage(rgb)


class ThumbnailLoader(QObject):
    """`request(path, frame)` returns a cached pixmap, or None and decodes it in the background.

    `loaded(key)` tells that the thumbnail for `key` (the sample's `Sample.key`: str(path), with
    "#frame" for a frame of a video) is now in the cache.
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
        self._queue: deque[tuple[str, str, int | None]] = deque()  # (key, path, frame)
        self._pending: set[str] = set()
        self._videos = _Videos()
        self._workers = 0
        self._generation = 0
        self.placeholder = _filled_pixmap(size, QColor(215, 215, 215))
        self.broken = _filled_pixmap(size, QColor(120, 120, 120), cross=True)

    def request(self, path: Path | str, frame: int | None = None) -> QPixmap | None:
        """The thumbnail of an image file, or of frame `frame` of a video file."""
        key = str(path) if frame is None else f"{path}#{frame}"  # as Sample.key
        pix = self.cache.get(key)
        if pix is not None or key in self._pending:
            return pix
        self._pending.add(key)
        self._queue.append((key, str(path), frame))
        while len(self._queue) > MAX_QUEUED:
            self._pending.discard(self._queue.popleft()[0])
        if self._workers < self._max_workers:
            self._workers += 1
            background.spawn(self._drain(self._generation))
        return None

    def clear(self) -> None:
        """Forget everything (a new data set): queued decodes are dropped, late results ignored."""
        self._generation += 1
        self._queue.clear()
        self._pending.clear()
        self.cache.clear()
        self._videos.close()  # a decode still running reopens its video and is then ignored

    def shutdown(self) -> None:
        self._generation += 1
        self._queue.clear()
        self._videos.close()

    async def _drain(self, generation: int) -> None:
        """Decode queued thumbnails, newest first, until the queue is empty or the data set changed."""
        box = (self.size.width(), self.size.height())
        try:
            while self._queue and generation == self._generation:
                key, path, frame = self._queue.pop()
                image = await background.call(
                    _decode_image, path, frame, box, self._videos, low_priority=True
                )
                if generation != self._generation:
                    return
                self._on_decoded(key, image)
        finally:
            self._workers -= 1

    def _on_decoded(self, key: str, image: QImage | None) -> None:
        self._pending.discard(key)
        if image is None:
            pix = self.broken
            nbytes = 64
        else:
            pix = QPixmap.fromImage(image, Qt.ImageConversionFlag.NoFormatConversion)
            nbytes = image.sizeInBytes() + 256
        self.cache.put(key, pix, nbytes)
        self.loaded.emit(key)
