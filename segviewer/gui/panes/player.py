"""The video player: play / pause, a frame slider, step by frame, speed, live prediction, overlay export.

Thin by design: `segviewer.core.playback` decodes ahead and predicts on its own threads; this pane only
polls for the newest ready frame (a 15 ms timer), draws it and reports the achieved frames per second.
Pausing, stepping and seeking start a new playback and let the old one finish on its own, so the UI
thread never waits for a prediction. The pane knows nothing of data sets or checkpoints: it is given
a frame source (`core.video`) and a predict function, and it announces each shown frame with
`frame_shown(index, rgb)` so a viewer can show the same picture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from segviewer.gui.image_utils import to_qimage
from segviewer.gui.panes.image_view import ImageView

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
TICK_MS = 15
STATS_EVERY_S = 0.25


class PlayerPane(QWidget):
    """Plays a frame source with each frame's prediction drawn over it."""

    frame_shown = Signal(int, object)  # (frame index, RGB picture shown: the overlay when a model is set)
    export_finished = Signal(str)  # a message for the user: where the video went, or what failed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source = None
        self._predict: Callable[[np.ndarray], np.ndarray] | None = None
        self._colorize: Callable[[np.ndarray], np.ndarray] | None = None
        self._playback = None
        self._playing = False
        self._index = 0
        self._speed = 1.0
        self._stats_at = 0.0
        self._export = None  # a core.playback.VideoExport while one runs
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_tick)
        self._set_enabled()

    # --- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        style = self.style()
        self.view = ImageView(self)
        self.play_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play (Space)"
        )
        self.play_button.clicked.connect(self.toggle)
        self.back_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward), "Previous frame"
        )
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward), "Next frame"
        )
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setToolTip("Frame")
        self.slider.sliderReleased.connect(lambda: self.seek(self.slider.value()))
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.frame_label = QLabel("no video", self)
        self.speed_box = QComboBox(self)
        self.speed_box.setToolTip("Playback speed")
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}x", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(SPEEDS[i]))
        self.fps_label = QLabel("", self)
        self.fps_label.setToolTip("Frames shown per second; frames dropped to keep up; frames unreadable")
        self.export_button = QToolButton(self)
        self.export_button.setText("Export overlay video…")
        self.export_button.clicked.connect(self._on_export_clicked)
        # two rows, so that the slider keeps its width in a narrow dock once the fps readout appears
        self.slider.setMinimumWidth(120)
        transport = QHBoxLayout()
        for widget in (self.back_button, self.play_button, self.forward_button):
            transport.addWidget(widget)
        transport.addWidget(self.slider, 1)
        transport.addWidget(self.frame_label)
        settings = QHBoxLayout()
        settings.addWidget(self.speed_box)
        settings.addWidget(self.fps_label, 1)
        settings.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(transport)
        layout.addLayout(settings)

    def _button(self, icon, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon)
        button.setToolTip(tip)
        return button

    def _set_enabled(self) -> None:
        has = self._source is not None
        for widget in (self.play_button, self.back_button, self.forward_button, self.slider, self.speed_box):
            widget.setEnabled(has)
        self.export_button.setEnabled(has and self._predict is not None and self._export is None)

    # --- what to play ------------------------------------------------------------------------------
    def set_source(self, source) -> None:
        """A frame source of `segviewer.core.video` (or None); shows its first frame."""
        self.pause()
        self._source = source
        self._index = 0
        count = len(source) if source is not None else 0
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(0)
        self._set_enabled()
        if source is None:
            self.frame_label.setText("no video")
            return
        self._update_frame_label()
        self._start(0, single=True)

    def set_model(
        self,
        predict: Callable[[np.ndarray], np.ndarray] | None,
        colorize: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """predict: RGB frame -> mask of training ids; colorize: mask -> RGB colours (None: no model)."""
        self._predict, self._colorize = predict, colorize
        self._set_enabled()
        if self._source is not None:
            self._start(self._index, single=not self._playing)

    # --- intents -----------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self._source is None or self._playing:
            return
        start = 0 if self._index >= len(self._source) - 1 else self._index  # at the end: from the start
        self._playing = True
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.play_button.setToolTip("Pause (Space)")
        self._start(start, single=False)

    def pause(self) -> None:
        self._playing = False
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play (Space)")
        self._stop_playback()

    def step(self, delta: int) -> None:
        if self._source is None:
            return
        self.pause()
        self.seek(self._index + delta)

    def seek(self, index: int) -> None:
        if self._source is None:
            return
        index = max(0, min(int(index), len(self._source) - 1))
        self._index = index
        self._set_slider(index)
        self._update_frame_label()
        self._start(index, single=not self._playing)

    def set_speed(self, speed: float) -> None:
        self._speed = float(speed)
        if self._playing:
            self._start(self._index, single=False)

    def shutdown(self) -> None:
        """Stop playing and any export (waits for the export's threads; call when the window closes)."""
        self.pause()
        if self._export is not None:
            self._export.cancel()
            self._export.join()

    # --- playback ----------------------------------------------------------------------------------
    def _start(self, index: int, single: bool) -> None:
        from segviewer.core.playback import Playback

        self._stop_playback()
        self._playback = Playback(
            self._source,
            self._predict,
            start=index,
            speed=self._speed,
            realtime=not single,
            limit=1 if single else None,
        ).start()
        self._timer.start()

    def _stop_playback(self) -> None:
        if self._playback is not None:
            self._playback.close(wait=False)  # a prediction in progress ends on its own thread
            self._playback = None
        if self._export is None:
            self._timer.stop()

    def _on_tick(self) -> None:
        playback = self._playback
        if playback is not None:
            frame = playback.take()
            if frame is not None:
                self._show(frame.index, frame.image, frame.mask)
            now = time.monotonic()
            if self._playing and now - self._stats_at >= STATS_EVERY_S:
                self._stats_at = now
                stats = playback.stats()
                self.fps_label.setText(
                    f"{stats.fps:.1f} fps · {stats.dropped} dropped"
                    + (f" · {stats.skipped} unreadable" if stats.skipped else "")
                )
            if playback.finished:
                failed = [e for e in playback.stats().errors if e.startswith(("prediction", "reading"))]
                if failed:
                    self.fps_label.setText(failed[0])
                if self._playing:
                    self.pause()
                else:
                    self._stop_playback()
        if self._export is not None:
            self._poll_export()

    def _show(self, index: int, image: np.ndarray, mask: np.ndarray | None) -> None:
        from segviewer.core.playback import overlay

        picture = image
        if mask is not None and self._colorize is not None:
            picture = overlay(image, self._colorize(mask))
        self._index = index
        self.view.set_image(to_qimage(picture))
        if not self.slider.isSliderDown():
            self._set_slider(index)
        self._update_frame_label()
        self.frame_shown.emit(index, picture)

    def _set_slider(self, index: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)

    def _update_frame_label(self) -> None:
        total = len(self._source) if self._source is not None else 0
        self.frame_label.setText(f"frame {self._index + 1} / {total}")

    def _on_slider_action(self, _action: int) -> None:
        if not self.slider.isSliderDown():  # a click on the groove or a key: go there now
            QTimer.singleShot(0, lambda: self.seek(self.slider.value()))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        keys = {
            Qt.Key.Key_Space: self.toggle,
            Qt.Key.Key_Left: lambda: self.step(-1),
            Qt.Key.Key_Right: lambda: self.step(1),
        }
        action = keys.get(event.key())
        if action is None:
            super().keyPressEvent(event)
        else:
            action()

    # --- export ------------------------------------------------------------------------------------
    def _on_export_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        name = getattr(self._source, "name", "video")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export overlay video", f"{name}_overlay.mp4", "Video (*.mp4 *.avi)"
        )
        if path:
            self.export_overlay(Path(path))

    def export_overlay(self, path: Path) -> None:
        """Write the overlay of every frame to `path` in the background; `export_finished` says how it went."""
        if self._source is None or self._predict is None or self._export is not None:
            return
        from segviewer.core.playback import VideoExport

        self._export = VideoExport(self._source, self._predict, self._colorize, {"overlay": Path(path)})
        self._set_enabled()
        self.fps_label.setText("exporting…")
        self._timer.start()

    def _poll_export(self) -> None:
        export = self._export
        done, total = export.progress
        if export.running:
            self.fps_label.setText(f"exporting {done}/{total}")
            return
        self._export = None
        self._set_enabled()
        message = export.message()
        self.fps_label.setText(message)
        self.export_finished.emit(message)
        if self._playback is None:
            self._timer.stop()


def install_player_pane(window) -> PlayerPane:
    """Dock a player in `window` through its public hooks: it plays each opened data set's frames in
    file order (a video, a sequence folder) with the loaded model's prediction over them."""
    pane = PlayerPane(window)
    dock = window.add_pane("Player", pane)

    def on_dataset(dataset) -> None:
        try:
            pane.set_source(dataset.frame_source())
        except Exception as exc:  # noqa: BLE001 - a data set without frames to play: say so, keep going
            pane.set_source(None)
            window.show_status(f"Player: {exc}")
            return
        if dataset.format == "video":
            dock.raise_()

    def on_model(predictor) -> None:
        if predictor is None:
            pane.set_model(None)
        else:
            pane.set_model(lambda image: predictor.predict(image)[0], predictor.scheme.colorize)

    window.dataset_opened.connect(on_dataset)
    window.predictions.model_changed.connect(on_model)
    # `segviewer gui VIDEO` opens the video before the docks are built: play what is open already
    if getattr(window, "dataset", None) is not None:
        on_dataset(window.dataset)
    if getattr(window.predictions, "predictor", None) is not None:
        on_model(window.predictions.predictor)
    window.add_shutdown(pane.shutdown)
    return pane
