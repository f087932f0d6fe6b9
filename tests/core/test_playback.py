"""core.playback: frames in order without real time, dropping in real time, skipped frames, export."""

from __future__ import annotations

import threading
import time

import numpy as np

from segviewer.core.playback import Playback, export_video, overlay
from segviewer.core.video import ImageSequence, VideoFile, VideoWriter


class Frames:
    """A source of `count` tiny frames whose pixels hold their index; `bad` indices fail to decode."""

    def __init__(self, count: int, fps: float = 50.0, bad: tuple[int, ...] = ()) -> None:
        self.count, self.fps, self.bad = count, fps, bad
        self.size = (8, 6)

    def __len__(self) -> int:
        return self.count

    def frames(self, start=0, on_skip=None):
        for i in range(start, self.count):
            if i in self.bad:
                on_skip(i, "frame could not be decoded")
                continue
            yield i, np.full((6, 8, 3), i, np.uint8)


def slow_predict(seconds: float):
    threads = set()

    def predict(image):
        threads.add(threading.current_thread().name)
        time.sleep(seconds)
        return image[..., 0].copy()

    predict.threads = threads
    return predict


def drain(playback: Playback) -> list:
    shown = []
    while not playback.finished:
        frame = playback.wait(timeout=5)
        if frame is not None:
            shown.append(frame)
    return shown


def test_without_real_time_every_frame_comes_in_order_with_its_prediction():
    predict = slow_predict(0.001)
    with Playback(Frames(12, bad=(4,)), predict, realtime=False) as playback:
        shown = drain(playback)
        stats = playback.stats()
    assert [f.index for f in shown] == [i for i in range(12) if i != 4]
    assert all((f.mask == f.index).all() for f in shown)  # each frame's own prediction
    assert stats.shown == 11 and stats.dropped == 0 and stats.skipped == 1 and "frame 4" in stats.errors[0]
    assert predict.threads and "MainThread" not in predict.threads  # predicted off the consumer's thread


def test_a_predictor_slower_than_the_video_drops_frames_instead_of_lagging():
    # 100 frames/s of video, 40 ms per prediction: at most about 25 of them can be shown in real time.
    with Playback(Frames(40, fps=100.0), slow_predict(0.04), realtime=True) as playback:
        shown = drain(playback)
        stats = playback.stats()
    indices = [f.index for f in shown]
    assert indices == sorted(indices) and len(indices) < 30
    assert stats.dropped == 40 - len(indices)
    assert stats.fps > 0


def test_limit_one_shows_a_single_frame_from_the_start_index():
    with Playback(Frames(10), None, start=6, realtime=False, limit=1) as playback:
        shown = drain(playback)
    assert [(f.index, f.mask) for f in shown] == [(6, None)]


def test_export_writes_overlay_and_colour_videos_of_every_frame(tmp_path):
    video = tmp_path / "in.avi"
    with VideoWriter(video, 10, (32, 24)) as writer:
        for i in range(5):
            writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    source = VideoFile(video)
    colours = np.zeros((24, 32, 3), np.uint8)
    colours[..., 2] = 255
    progress = []
    stats = export_video(
        source,
        lambda image: np.zeros(image.shape[:2], np.uint8),
        lambda mask: colours,
        {"overlay": tmp_path / "o.mp4", "color": tmp_path / "c.avi"},
        progress=lambda done, total: progress.append(done),
    )
    assert stats.shown == 5 and progress[-1] == 5
    frames = [f for _, f in VideoFile(tmp_path / "o.mp4").frames()]
    assert len(frames) == 5
    assert frames[0][..., 2].mean() > 100 > frames[0][..., 0].mean()  # the blue mask blended in
    assert sum(1 for _ in VideoFile(tmp_path / "c.avi").frames()) == 5


def test_overlay_blends_half_and_half():
    image = np.full((2, 2, 3), 100, np.uint8)
    colours = np.full((2, 2, 3), 200, np.uint8)
    assert (overlay(image, colours) == 150).all()


def test_image_sequence_plays_files_in_name_order_and_skips_unreadable(tmp_path):
    from segviewer.core.imageio import write_png

    for i in (2, 0, 1):
        write_png(tmp_path / f"f_{i:03d}.png", np.full((4, 4, 3), i, np.uint8))
    (tmp_path / "f_001.png").write_bytes(b"broken")
    paths = sorted(tmp_path.iterdir())
    skipped = []
    frames = list(ImageSequence(paths).frames(on_skip=lambda i, why: skipped.append(i)))
    assert [(i, int(f[0, 0, 0])) for i, f in frames] == [(0, 0), (2, 2)] and skipped == [1]


def test_video_export_runs_in_the_background_and_says_where_it_wrote(tmp_path):
    from segviewer.core.playback import VideoExport

    job = VideoExport(
        Frames(6),
        lambda image: image[..., 0].copy(),
        lambda mask: np.dstack([mask] * 3),
        {"color": tmp_path / "c.avi"},
    )
    job.join(timeout=30)
    assert not job.running and job.progress == (6, 6)
    assert job.message() == f"exported 6 frames to {tmp_path / 'c.avi'}"
    assert sum(1 for _ in VideoFile(tmp_path / "c.avi").frames()) == 6
