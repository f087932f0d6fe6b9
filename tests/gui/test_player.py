"""The video player: a video written by OpenCV here, played with a model offscreen, its overlay exported."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
from segviewer.core.labels import get_scheme
from segviewer.core.models import build_model
from segviewer.core.predict import Predictor
from segviewer.core.video import VideoFile
from segviewer.gui.image_utils import qimage_to_array
from segviewer.gui.panes.player import PlayerPane

FRAMES, W, H = 12, 64, 48


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "drive.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (W, H))
    for i in range(FRAMES):
        frame = np.zeros((H, W, 3), np.uint8)
        frame[:, : 4 * i + 4] = 60  # a band that grows frame by frame
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    model = build_model("ulite", 19, widths=(4, 8, 8, 16))
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    save_checkpoint(path, make_checkpoint(model, get_scheme("bdd100k"), (H, W), 1, 0.1))
    return Predictor.from_checkpoint(path, device="cpu")


@pytest.fixture
def player(qtbot, video, predictor):
    pane = PlayerPane()
    qtbot.addWidget(pane)
    pane.resize(480, 360)
    pane.show()
    pane.set_model(lambda image: predictor.predict(image)[0], predictor.scheme.colorize)
    pane.set_source(VideoFile(video))
    yield pane
    pane.shutdown()


def centre_colour(pane: PlayerPane) -> np.ndarray:
    grabbed = qimage_to_array(pane.view.viewport().grab().toImage())
    return grabbed[grabbed.shape[0] // 2, grabbed.shape[1] // 2].astype(int)


def test_play_shows_every_frame_with_its_prediction_over_it(qtbot, player, video, predictor):
    assert player.play_button.isEnabled() and player.export_button.isEnabled()
    qtbot.waitUntil(lambda: player.frame_label.text() == f"frame 1 / {FRAMES}", timeout=10000)
    shown = []
    player.frame_shown.connect(lambda index, picture: shown.append((index, picture)))
    qtbot.mouseClick(player.play_button, _left())
    qtbot.waitUntil(lambda: player.frame_label.text() == f"frame {FRAMES} / {FRAMES}", timeout=30000)
    qtbot.waitUntil(lambda: not _playing(player), timeout=10000)  # stops at the end
    indices = [i for i, _ in shown]
    assert indices == sorted(indices) and indices[-1] == FRAMES - 1
    assert "fps" in player.fps_label.text()
    # What the user sees is the frame blended with the colours of the model's prediction.
    index, picture = shown[-1]
    frame = dict(VideoFile(video).frames())[index]
    expected = cv2.addWeighted(frame, 0.5, predictor.scheme.colorize(predictor.predict(frame)[0]), 0.5, 0)
    assert np.abs(picture.astype(int) - expected.astype(int)).max() <= 1
    assert np.abs(centre_colour(player) - expected[H // 2, W // 2]).max() <= 6


def test_step_and_slider_show_the_chosen_frame(qtbot, player):
    def shows(index):
        return lambda i, _picture: i == index

    with qtbot.waitSignal(player.frame_shown, check_params_cb=shows(1), timeout=10000):
        qtbot.mouseClick(player.forward_button, _left())
    assert player.frame_label.text() == f"frame 2 / {FRAMES}"
    with qtbot.waitSignal(player.frame_shown, check_params_cb=shows(7), timeout=10000):
        player.slider.setValue(7)
        player.seek(player.slider.value())
    with qtbot.waitSignal(player.frame_shown, check_params_cb=shows(6), timeout=10000):
        qtbot.mouseClick(player.back_button, _left())
    assert player.slider.value() == 6 and player.frame_label.text() == f"frame 7 / {FRAMES}"


def test_export_writes_an_overlay_video_in_the_background(qtbot, player, tmp_path):
    target = tmp_path / "overlay.mp4"
    with qtbot.waitSignal(player.export_finished, timeout=60000) as finished:
        player.export_overlay(target)
        assert not player.export_button.isEnabled()  # one export at a time
    assert finished.args[0].startswith(f"exported {FRAMES} frames")
    assert sum(1 for _ in VideoFile(target).frames()) == FRAMES
    assert player.export_button.isEnabled()


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def _playing(pane: PlayerPane) -> bool:
    return pane.play_button.toolTip().startswith("Pause")


def test_window_opens_a_video_in_the_player_dock(qtbot, window, video):
    window.install_panes()
    player = window.player_pane
    window.open_dataset(video)
    qtbot.waitUntil(lambda: player.frame_label.text() == f"frame 1 / {FRAMES}", timeout=20000)
    qtbot.mouseClick(player.play_button, _left())
    qtbot.waitUntil(lambda: player.frame_label.text() == f"frame {FRAMES} / {FRAMES}", timeout=20000)
    assert not player.export_button.isEnabled()  # no model loaded: nothing to overlay


def test_a_video_opened_before_the_docks_are_built_plays_in_the_player(qtbot, window, video):
    from tests.gui.conftest import open_and_wait

    open_and_wait(qtbot, window, video)  # as `segviewer gui drive.avi` does, before install_panes
    window.install_panes()
    player = window.player_pane
    qtbot.waitUntil(lambda: player.frame_label.text() == f"frame 1 / {FRAMES}", timeout=20000)
    assert player.play_button.isEnabled()


def test_folder_of_images_and_a_single_image_open_unlabelled_in_the_window(qtbot, window, tmp_path):
    from PySide6.QtCore import Qt

    from segviewer.core.imageio import write_jpeg
    from tests.gui.conftest import open_and_wait

    for name in ("day/0001.jpg", "day/0002.jpg", "night.jpg"):
        write_jpeg(tmp_path / "drive" / name, np.full((H, W, 3), 90, np.uint8))
    pane = window.dataset_pane

    def texts():
        model = pane.list_view.model()
        return [model.data(model.index(r), Qt.ItemDataRole.DisplayRole) for r in range(model.rowCount())]

    open_and_wait(qtbot, window, tmp_path / "drive")
    assert texts() == ["night\n(no mask)", "day/0001\n(no mask)", "day/0002\n(no mask)"]
    open_and_wait(qtbot, window, tmp_path / "drive" / "night.jpg")
    assert texts() == ["night\n(no mask)"]


class BandPredictor:
    """Road where the frame is bright, sky where it is dark: each frame of the video predicts differently."""

    model_name = "band"

    def __init__(self) -> None:
        self.scheme = get_scheme("bdd100k")

    def predict(self, image):
        mask = np.where(image[..., 0] > 30, 0, 10).astype(np.uint8)  # road 0, sky 10
        return mask, np.full(mask.shape, 0.9, np.float32)


def test_frames_of_one_video_get_their_own_prediction_and_thumbnail(
    qtbot, window, video, monkeypatch, tmp_path
):
    from PySide6.QtCore import QPointF, Qt

    from segviewer.core import predict
    from tests.gui.conftest import open_and_wait

    palette = get_scheme("bdd100k").palette
    x, y = 30, H // 2  # dark in the first frame, inside the band in the last
    open_and_wait(qtbot, window, video)
    viewer = window.viewer
    monkeypatch.setattr(
        predict.Predictor, "from_checkpoint", classmethod(lambda cls, path, **kw: BandPredictor())
    )
    with qtbot.waitSignal(window.model_loaded, timeout=10000):
        window.load_checkpoint(tmp_path / "band.pt")
    qtbot.waitUntil(lambda: viewer.current_prediction() is not None, timeout=10000)
    viewer.set_mode("prediction")
    with qtbot.waitSignal(viewer.frame_shown):
        viewer.opacity_slider.setValue(100)

    def screen_colour():
        pos = viewer.view.mapFromScene(QPointF(x + 0.5, y + 0.5))
        grabbed = qimage_to_array(viewer.view.viewport().grab().toImage())
        return tuple(int(v) for v in grabbed[pos.y(), pos.x()])

    assert screen_colour() == tuple(int(v) for v in palette[10])  # first frame: sky at (x, y)
    with qtbot.waitSignal(viewer.frame_shown, timeout=10000):
        window.dataset_pane.select_relative(FRAMES - 1)
    qtbot.waitUntil(lambda: screen_colour() == tuple(int(v) for v in palette[0]), timeout=10000)  # road

    model, loader = window.dataset_pane.list_view.model(), window.dataset_pane.loader

    def thumbnail(row: int):
        pix = model.data(model.index(row), Qt.ItemDataRole.DecorationRole)
        return None if pix.cacheKey() == loader.placeholder.cacheKey() else pix

    for row in (0, FRAMES - 1):
        qtbot.waitUntil(lambda row=row: thumbnail(row) is not None, timeout=10000)
    first, last = (qimage_to_array(thumbnail(r).toImage()).astype(int) for r in (0, FRAMES - 1))
    assert first.shape[:2] == last.shape[:2] == (63, 84)  # the frame fitted in 112x63, not the "broken" mark
    tx = x * 84 // W
    assert last[31, tx].min() >= 40 and first[31, tx].max() <= 20  # each shows its own frame
