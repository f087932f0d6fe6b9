"""Playing a frame sequence with live prediction, Qt-free: decode-ahead -> pipelined predictor -> newest frame.

Three stages run at once, so playback goes at the predictor's throughput instead of decode + predict:

* a decoder thread reads frames from the source (`segviewer.core.video`) into a short bounded queue;
* a predictor thread takes decoded frames and predicts them (torch releases the GIL while it computes);
* the consumer (a GUI timer, the export loop, the benchmark) calls `take()`, which returns the newest
  ready frame and drops older ready ones.

In real time (`realtime=True`) each frame is due at start + index / (fps * speed). The predictor skips
frames that are already late when a newer one is decoded, and `take()` never shows a frame before it is
due, so a predictor slower than the video drops frames rather than lags behind. Without real time
(export, benchmark) nothing is dropped and every frame comes out in order as soon as it is ready.
`stats()` reports frames shown, dropped and skipped (undecodable) and the achieved frames per second.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]  # RGB frame -> mask (training ids)

AHEAD = 4  # decoded frames waiting for the predictor: enough to hide decode jitter, little memory
FPS_WINDOW = 30  # frames over which the achieved rate is measured


@dataclass(frozen=True)
class PlayedFrame:
    """One frame ready to show: its index in the source, the RGB image and its prediction (or None)."""

    index: int
    image: np.ndarray
    mask: np.ndarray | None
    due: float  # monotonic time at which it is meant to be shown (0 outside real time)


@dataclass(frozen=True)
class PlaybackStats:
    shown: int
    dropped: int  # decoded but never shown: late for real time, or overtaken by a newer frame
    skipped: int  # could not be decoded
    fps: float  # frames shown per second over the last FPS_WINDOW frames
    finished: bool  # the source is exhausted and every ready frame was taken
    errors: tuple[str, ...]  # reasons of skipped frames and a predictor failure, first ones


_END = object()


class Playback:
    """One run of a frame source from `start`; make a new one to seek. Always `close()` it."""

    def __init__(
        self,
        source,
        predict: Predict | None = None,
        start: int = 0,
        speed: float = 1.0,
        realtime: bool = True,
        ahead: int = AHEAD,
        limit: int | None = None,
    ) -> None:
        self.source, self.predict, self.start_index = source, predict, start
        self.limit = limit  # frames to play (None: to the end); 1 shows a single frame (a step)
        self.realtime, self.speed = realtime, max(speed, 1e-3)
        self.interval = 1.0 / (float(getattr(source, "fps", 25.0)) * self.speed)
        self.ahead = max(1, ahead)
        self._decoded: queue.Queue = queue.Queue(maxsize=self.ahead)
        self._ready: deque[PlayedFrame] = deque()
        self._ready_lock = threading.Condition()
        self._stop = threading.Event()
        self._t0 = 0.0
        self._shown = self._dropped = self._skipped = 0
        self._errors: list[str] = []
        self._shown_times: deque[float] = deque(maxlen=FPS_WINDOW)
        self._predicted_all = False
        self._end_seen = False
        self._threads: list[threading.Thread] = []

    # --- running -----------------------------------------------------------------------------------
    def start(self) -> Playback:
        self._t0 = time.monotonic()
        for target, name in ((self._decode, "decode"), (self._predict_loop, "predict")):
            thread = threading.Thread(target=target, name=f"segviewer-playback-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self, wait: bool = True) -> None:
        """Stop both threads; with `wait`, until they have ended (a frame being predicted finishes first).

        A GUI passes wait=False so that pausing never waits for a prediction on the UI thread.
        """
        self._stop.set()
        while True:  # unblock the decoder if it waits on a full queue
            try:
                self._decoded.get_nowait()
            except queue.Empty:
                break
        with self._ready_lock:
            self._ready_lock.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()
        self._threads.clear()

    def __enter__(self) -> Playback:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def due(self, index: int) -> float:
        return self._t0 + (index - self.start_index) * self.interval if self.realtime else 0.0

    def _decode(self) -> None:
        try:
            for count, (index, frame) in enumerate(
                self.source.frames(self.start_index, on_skip=self._on_skip)
            ):
                if self.limit is not None and count >= self.limit:
                    return
                if self.realtime:
                    self._put_newest(index, frame)
                else:
                    self._put_waiting((index, frame))
                if self._stop.is_set():
                    return
        except Exception as exc:  # a source that fails mid-way ends the playback, reported in stats
            self._note(f"reading frames stopped: {exc}")
        finally:
            self._put_end()

    def _put_waiting(self, item) -> None:
        """Without real time: wait for room, drop nothing."""
        while not self._stop.is_set():
            try:
                self._decoded.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def _put_newest(self, index: int, frame: np.ndarray) -> None:
        """In real time: run at most `ahead` frames ahead of the clock, and when the predictor is behind,
        replace the oldest waiting frame, so that it always finds the frame due now."""
        while not self._stop.is_set():
            early = self.due(index) - self.ahead * self.interval - time.monotonic()
            if early <= 0:
                break
            self._stop.wait(min(early, 0.05))
        while not self._stop.is_set():
            try:
                self._decoded.put_nowait((index, frame))
                return
            except queue.Full:
                try:
                    self._decoded.get_nowait()
                    with self._ready_lock:
                        self._dropped += 1
                except queue.Empty:
                    pass

    def _put_end(self) -> None:
        while not self._stop.is_set():
            try:
                self._decoded.put(_END, timeout=0.05)
                return
            except queue.Full:
                continue

    def _on_skip(self, index: int, reason: str) -> None:
        with self._ready_lock:
            self._skipped += 1
        self._note(f"frame {index}: {reason}")

    def _note(self, message: str) -> None:
        with self._ready_lock:
            if len(self._errors) < 20:
                self._errors.append(message)

    def _predict_loop(self) -> None:
        try:
            while not self._stop.is_set():
                item = self._next_decoded()
                if item is None:
                    continue
                if item is _END:
                    return
                index, frame = item
                mask = self.predict(frame) if self.predict is not None else None
                with self._ready_lock:
                    while len(self._ready) >= self.ahead and not self._stop.is_set():
                        if self.realtime:  # the consumer is behind: the oldest frame is stale
                            self._ready.popleft()
                            self._dropped += 1
                        else:  # export: wait for the consumer, drop nothing
                            self._ready_lock.wait(0.05)
                    self._ready.append(PlayedFrame(index, frame, mask, self.due(index)))
                    self._ready_lock.notify_all()
        except Exception as exc:
            self._note(f"prediction failed: {exc}")
        finally:
            with self._ready_lock:
                self._predicted_all = True
                self._ready_lock.notify_all()

    def _next_decoded(self):
        """The next frame to predict; in real time, late frames with a newer one waiting are dropped.

        The last frame is never dropped, so playback ends on it.
        """
        if self._end_seen:
            return _END
        try:
            item = self._decoded.get(timeout=0.05)
        except queue.Empty:
            return None
        if not self.realtime:
            return item
        while item is not _END and self.due(item[0]) + self.interval < time.monotonic():
            try:
                newer = self._decoded.get_nowait()
            except queue.Empty:
                break
            if newer is _END:
                self._end_seen = True
                break
            with self._ready_lock:
                self._dropped += 1
            item = newer
        return item

    # --- consuming ---------------------------------------------------------------------------------
    def take(self) -> PlayedFrame | None:
        """The newest ready frame that is due (older ready ones are dropped), or None if none is."""
        now = time.monotonic()
        with self._ready_lock:
            chosen = None
            while self._ready and (not self.realtime or self._ready[0].due <= now):
                if chosen is not None:
                    self._dropped += 1
                chosen = self._ready.popleft()
                if not self.realtime:
                    break
            if chosen is not None:
                self._shown += 1
                self._shown_times.append(now)
                self._ready_lock.notify_all()  # room for the predictor
            return chosen

    def wait(self, timeout: float | None = None) -> PlayedFrame | None:
        """Block until a frame can be taken (or the run is finished, or `timeout`); then `take()`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready_lock:
            while not self._ready and not self._predicted_all:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._ready_lock.wait(left if left is not None else 0.1)
            if self.realtime and self._ready:
                delay = self._ready[0].due - time.monotonic()
                if delay > 0 and (deadline is None or delay < deadline - time.monotonic()):
                    self._ready_lock.wait(delay)
        return self.take()

    @property
    def finished(self) -> bool:
        with self._ready_lock:
            return self._predicted_all and not self._ready

    def stats(self) -> PlaybackStats:
        with self._ready_lock:
            times = list(self._shown_times)
            fps = (
                (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            )
            return PlaybackStats(
                shown=self._shown,
                dropped=self._dropped,
                skipped=self._skipped,
                fps=fps,
                finished=self._predicted_all and not self._ready,
                errors=tuple(self._errors),
            )


def overlay(image: np.ndarray, colours: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """The frame with its colour mask blended at `opacity` (0.5: the viewer's default)."""
    import cv2

    return cv2.addWeighted(image, 1.0 - opacity, colours, opacity, 0.0)


def export_video(
    source,
    predict: Predict,
    colorize: Callable[[np.ndarray], np.ndarray],
    outputs: dict[str, Path],
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PlaybackStats:
    """Write the prediction of every frame as videos: outputs maps 'overlay' and/or 'color' to a path.

    The same pipeline as playback, without real time, so nothing is dropped; the CLI's
    ``predict --video`` and the GUI's export both call this. Returns the playback's stats.
    """
    from segviewer.core.video import VideoWriter

    unknown = set(outputs) - {"overlay", "color"}
    if unknown:
        raise ValueError(f"unknown video outputs {sorted(unknown)}; use 'overlay' and 'color'")
    writers = {kind: VideoWriter(path, source.fps, source.size) for kind, path in outputs.items()}
    try:
        with Playback(source, predict, realtime=False) as playback:
            while not playback.finished:
                if should_stop is not None and should_stop():
                    break
                played = playback.wait(timeout=0.5)
                if played is None:
                    continue
                colours = colorize(played.mask)
                for kind, writer in writers.items():
                    writer.write(overlay(played.image, colours) if kind == "overlay" else colours)
                if progress is not None:
                    progress(played.index + 1, len(source))
            return playback.stats()
    finally:
        for writer in writers.values():
            writer.close()


class VideoExport:
    """`export_video` on its own thread, for a GUI that polls `progress` and `running` from a timer
    (so the GUI starts no thread of its own); `message()` is the sentence to show when it is done."""

    def __init__(self, source, predict: Predict, colorize, outputs: dict[str, Path]) -> None:
        self.outputs = dict(outputs)
        self.progress = (0, len(source))
        self.stats: PlaybackStats | None = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(source, predict, colorize), name="segviewer-export", daemon=True
        )
        self._thread.start()

    def _run(self, source, predict, colorize) -> None:
        from segviewer.core.errors import UserError

        def progress(done: int, total: int) -> None:
            self.progress = (done, total)

        try:
            self.stats = export_video(
                source, predict, colorize, self.outputs, progress=progress, should_stop=self._cancel.is_set
            )
        except UserError as exc:
            self.error = str(exc)
        except Exception as exc:  # reported as a sentence, never a traceback
            self.error = f"{', '.join(map(str, self.outputs.values()))}: export failed ({exc})"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def message(self) -> str:
        if self.error:
            return self.error
        if self.stats is None:
            return "exporting…"
        where = ", ".join(str(p) for p in self.outputs.values())
        skipped = f", {self.stats.skipped} unreadable frame(s) skipped" if self.stats.skipped else ""
        stopped = " (stopped)" if self._cancel.is_set() else ""
        return f"exported {self.stats.shown} frames to {where}{skipped}{stopped}"
