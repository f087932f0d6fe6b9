"""Sequences of frames: video files (OpenCV's FFmpeg backend) and folders of frame images, read lazily.

A video is never extracted to disk: `frames(start)` decodes it sequentially from `start` (one capture
per call, so a seek restarts cleanly and threads never share one), `read(index)` fetches one frame for a
slider. A frame that fails to decode is skipped and reported through `on_skip`, never raised: one bad
frame must not end a playback or an export. Opening a file that no backend reads is a `VideoError`
naming the file and what would read it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from segviewer.core.errors import UserError
from segviewer.core.imageio import ImageReadError, read_image

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")
DEFAULT_FPS = 25.0  # for containers that do not say
MAX_BAD_IN_A_ROW = 50  # consecutive undecodable frames after which the rest of a video is given up

Skip = Callable[[int, str], None]  # (frame index, reason)


class VideoError(UserError):
    """A video file that cannot be opened or written."""


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class VideoFile:
    """The frames of one video file as RGB uint8 arrays."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: video file not found")
        cap = self._open()
        try:
            ok, frame = cap.read()
            if not ok or frame is None:
                raise VideoError(self._unreadable("no frame could be decoded"))
            fps = cap.get(cv2.CAP_PROP_FPS)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()
        self.fps = float(fps) if fps and 0 < fps < 1000 else DEFAULT_FPS
        self.frame_count = max(count, 1)  # from the container header: may be approximate
        self.size = (frame.shape[1], frame.shape[0])  # (width, height)
        self.name = self.path.stem
        self._lock = threading.Lock()
        self._random: cv2.VideoCapture | None = None
        self._random_next = -1

    def __len__(self) -> int:
        return self.frame_count

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise VideoError(self._unreadable("OpenCV could not open it"))
        return cap

    def _unreadable(self, why: str) -> str:
        return (
            f"{self.path}: not a readable video ({why}: corrupt, or a codec OpenCV's FFmpeg backend does not "
            f"decode); convert it, e.g. `ffmpeg -i {self.path.name} -c:v libx264 out.mp4`, or extract its "
            "frames into a folder of images"
        )

    def frames(self, start: int = 0, on_skip: Skip | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, RGB frame) from `start` to the end; undecodable frames are skipped and reported."""
        cap = self._open()
        try:
            if start > 0:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            index, bad_in_a_row = start, 0
            while True:
                ok, frame = cap.read()
                if ok and frame is not None:
                    bad_in_a_row = 0
                    yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                elif index >= self.frame_count - 1:
                    return  # the end
                else:
                    bad_in_a_row += 1
                    if on_skip is not None:
                        on_skip(index, "frame could not be decoded")
                    if bad_in_a_row >= MAX_BAD_IN_A_ROW:
                        if on_skip is not None:
                            on_skip(index, f"{MAX_BAD_IN_A_ROW} frames in a row failed; the rest is skipped")
                        return
                    cap.set(cv2.CAP_PROP_POS_FRAMES, index + 1)
                index += 1
        finally:
            cap.release()

    def read(self, index: int) -> np.ndarray:
        """One RGB frame (for a slider); consecutive indices avoid a seek. Raises ImageReadError."""
        with self._lock:
            if self._random is None:
                self._random = self._open()
                self._random_next = 0
            if index != self._random_next:
                self._random.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = self._random.read()
            self._random_next = index + 1 if ok else -1
        if not ok or frame is None:
            raise ImageReadError(f"{self.path}: frame {index} could not be decoded")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        with self._lock:
            if self._random is not None:
                self._random.release()
                self._random = None


class ImageSequence:
    """Frames stored as image files (CamVid and Cityscapes sequences), played in file order."""

    def __init__(self, paths: list[Path], name: str = "sequence", fps: float = DEFAULT_FPS) -> None:
        if not paths:
            raise VideoError(f"{name}: no frames to play")
        self.paths = list(paths)
        self.name, self.fps = name, fps
        self.frame_count = len(self.paths)

    def __len__(self) -> int:
        return self.frame_count

    def frames(self, start: int = 0, on_skip: Skip | None = None) -> Iterator[tuple[int, np.ndarray]]:
        for index in range(start, len(self.paths)):
            try:
                frame = read_image(self.paths[index])
            except ImageReadError as exc:
                if on_skip is not None:
                    on_skip(index, str(exc))
                continue
            yield index, frame

    def read(self, index: int) -> np.ndarray:
        return read_image(self.paths[index])

    def close(self) -> None:
        pass


FrameSource = VideoFile | ImageSequence


def open_frames(path: str | Path) -> FrameSource:
    """A video file, or a folder whose images (sorted by name) are the frames."""
    from segviewer.core.datasets import list_images

    path = Path(path).expanduser()
    if path.is_dir():
        return ImageSequence(list_images(path), name=path.name)
    if is_video(path) or path.is_file():
        return VideoFile(path)
    raise VideoError(f"{path}: not found")


class VideoWriter:
    """An overlay video written with OpenCV (mp4v in .mp4, MJPG in .avi), frame by frame."""

    FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        code = self.FOURCC.get(self.path.suffix.lower())
        if code is None:
            raise VideoError(f"{self.path}: cannot write this kind of video; name it .mp4 or .avi")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = size
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*code), fps, size)
        if not self._writer.isOpened():
            raise VideoError(f"{self.path}: OpenCV could not open a {code} writer; try an .avi name")
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
