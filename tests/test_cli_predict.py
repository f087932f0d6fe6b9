"""`segviewer predict` on videos: overlay videos, per-frame masks, corrupt files, progress on stderr."""

from __future__ import annotations

import numpy as np
import pytest

from segviewer.cli import main
from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
from segviewer.core.imageio import read_label
from segviewer.core.labels import get_scheme
from segviewer.core.models import build_model
from segviewer.core.video import VideoFile, VideoWriter


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    model = build_model("ulite", 19, widths=(4, 8, 8, 16))
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    return save_checkpoint(path, make_checkpoint(model, get_scheme("bdd100k"), (32, 48), 1, 0.1))


def write_video(path, frames=7, size=(48, 32)):
    rng = np.random.default_rng(0)
    with VideoWriter(path, 12, size) as writer:
        for _ in range(frames):
            writer.write(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return path


def test_overlay_video_has_every_frame_at_the_source_size(tmp_path, capsys, checkpoint):
    video = write_video(tmp_path / "drive.avi")
    out = tmp_path / "out"
    code = main(["predict", str(checkpoint), str(video), "--out", str(out), "--overlay", "--video"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    written = VideoFile(out / "drive_overlay.mp4")
    assert written.size == (48, 32) and sum(1 for _ in written.frames()) == 7
    assert "7/7" in captured.err and "frames/s" in captured.err  # the progress bar, on stderr
    assert "wrote 1 file(s)" in captured.out


def test_video_frames_as_masks_without_video_flag(tmp_path, capsys, checkpoint):
    video = write_video(tmp_path / "clip.avi", frames=3)
    out = tmp_path / "masks"
    assert main(["predict", str(checkpoint), str(video), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip_000000.png", "clip_000001.png", "clip_000002.png"]
    mask, kind = read_label(out / "clip_000001.png")
    assert kind == "index" and mask.shape == (32, 48) and mask.max() < 19


def test_corrupt_video_is_reported_by_name_and_the_rest_still_written(tmp_path, capsys, checkpoint):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 300)
    good = write_video(tmp_path / "good.avi", frames=2)
    out = tmp_path / "out"
    code = main(
        ["predict", str(checkpoint), str(tmp_path / "broken.mp4"), str(good), "--out", str(out), "--video"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "broken.mp4: not a readable video" in err and "Traceback" not in err
    assert (out / "good_overlay.mp4").is_file()


def test_video_flag_without_a_video_is_a_user_error(tmp_path, capsys, checkpoint):
    from segviewer.core.imageio import write_jpeg

    write_jpeg(tmp_path / "a.jpg", np.zeros((32, 48, 3), np.uint8))
    code = main(
        ["predict", str(checkpoint), str(tmp_path / "a.jpg"), "--out", str(tmp_path / "o"), "--video"]
    )
    assert code == 2 and "--video applies to video inputs" in capsys.readouterr().err
