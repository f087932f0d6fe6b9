"""core.video: a video read lazily, seeking, and a frame whose data is gone skipped and counted."""

from __future__ import annotations

import re

import numpy as np
import pytest

from segviewer.core.video import VideoError, VideoFile, VideoWriter, open_frames


def write_avi(path, count=10):
    rng = np.random.default_rng(0)
    with VideoWriter(path, 10, (64, 48)) as writer:
        for _ in range(count):
            writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    return path


def test_frames_from_a_start_and_single_reads(tmp_path):
    video = VideoFile(write_avi(tmp_path / "v.avi"))
    assert (len(video), video.size, video.fps) == (10, (64, 48), 10.0)
    assert [i for i, _ in video.frames(6)] == [6, 7, 8, 9]
    by_index = dict(video.frames())
    for index in (3, 4, 8, 2):  # consecutive and backwards: a seek each time it is needed
        assert np.abs(video.read(index).astype(int) - by_index[index].astype(int)).max() == 0
    video.close()


def test_a_frame_without_data_is_skipped_and_counted(tmp_path):
    path = write_avi(tmp_path / "v.avi")
    data = bytearray(path.read_bytes())
    starts = [m.start() for m in re.finditer(b"\xff\xd8\xff", bytes(data))]  # each MJPG frame's JPEG
    data[starts[4] : starts[5] - 8] = bytes(starts[5] - 8 - starts[4])
    path.write_bytes(bytes(data))
    skipped = []
    shown = [i for i, _ in VideoFile(path).frames(on_skip=lambda i, why: skipped.append(i))]
    assert shown == [0, 1, 2, 3, 5, 6, 7, 8, 9] and skipped == [4]


def test_unreadable_and_unwritable_videos_name_the_file(tmp_path):
    (tmp_path / "x.mov").write_bytes(b"\x00" * 100)
    with pytest.raises(VideoError, match=r"x\.mov: not a readable video.*ffmpeg"):
        open_frames(tmp_path / "x.mov")
    with pytest.raises(VideoError, match=r"out\.gif.*\.mp4 or \.avi"):
        VideoWriter(tmp_path / "out.gif", 10, (8, 8))
