"""Stroke-to-screen latency of the mask brush on the real window at Cityscapes size (2048x1024).

A synthetic data set with one 2048x1024 sample is opened in the real MainWindow (offscreen), edit mode is
switched on and synthetic mouse strokes are sent to the viewer. Each sample is the time from sending one
mouse-move event to the end of the viewport's repaint that shows it (events are processed until the
viewport has painted). For comparison, the same strokes are timed with a full recompose per event (blend
the whole picture again and replace the view's pixmap: what the viewer does for any other change), so the
ratio within one run says what the dirty-rect repaint buys. Prints one JSON object:
{"size", "brush_px", "load_average", "zoom": {"fit": {...}, "1:1": {...}}} with p50/p99/max in ms per zoom:
wall-clock latency, and the UI thread's CPU time per event (`*_cpu`, which other processes on a busy
machine do not inflate).

    .venv/bin/python benchmarks/stroke_latency.py
    .venv/bin/python benchmarks/stroke_latency.py --strokes 20 --brush 61
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if sys.version_info < (3, 12):  # PySide6 on CPython 3.11 drops a reference to None per void call
    for _obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "events": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "max_ms": round(max(values), 3),
    }


def write_dataset(root: Path, height: int, width: int) -> Path:
    """A BDD100K-10K layout with one image: a smooth street-like picture and a blocky mask."""
    import numpy as np

    from segviewer.core.imageio import write_jpeg, write_png

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([(xx * 255 // width), (yy * 255 // height), ((xx + yy) * 127 // (width + height))], -1)
    image = (image + rng.integers(0, 20, image.shape)).clip(0, 255).astype(np.uint8)
    mask = np.zeros((height, width), np.uint8)  # road
    mask[: height // 3] = 10  # sky
    mask[height // 3 : height // 2, : width // 4] = 2  # building
    mask[height // 2 : 3 * height // 4, width // 2 : 3 * width // 4] = 13  # car
    mask[-height // 20 :] = 255
    write_jpeg(root / "images" / "10k" / "train" / "bench.jpg", image)
    write_png(root / "labels" / "sem_seg" / "masks" / "train" / "bench.png", mask)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--brush", type=int, default=25, help="brush diameter in image pixels")
    parser.add_argument("--strokes", type=int, default=12)
    parser.add_argument("--moves", type=int, default=60, help="mouse moves per stroke")
    parser.add_argument("--step", type=float, default=6.0, help="viewport pixels between mouse moves")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="segviewer-stroke-latency-"))
    for name in ("SETTINGS", "CACHE"):
        os.environ[f"SEGVIEWER_{name}_DIR"] = str(tmp / name.lower())
    os.environ["SEGVIEWER_DATA_HOME"] = str(tmp / "data")

    from PySide6.QtCore import QEvent, QObject, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from segviewer.core.overlay import compose
    from segviewer.gui.image_utils import to_qimage
    from segviewer.gui.main_window import MainWindow

    root = write_dataset(tmp / "bench", args.height, args.width)
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    viewer, editor = window.viewer, window.mask_editor
    shown: list[bool] = []
    viewer.frame_shown.connect(lambda: shown.append(True))
    window.open_dataset(root)
    deadline = time.monotonic() + 60
    while not shown and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    if not shown:
        print(json.dumps({"error": "the sample was not shown within 60 s"}))
        return 1
    editor.toolbar.edit_action.trigger()
    editor.toolbar.size_box.setValue(args.brush)
    editor.toolbar.set_paint_class(11)
    viewport = viewer.view.viewport()

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                PaintCounter.paints += 1
            return False

    counter = PaintCounter()
    viewport.installEventFilter(counter)

    def send(kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> tuple[float, float]:
        """Send one mouse event; (wall, UI-thread CPU) seconds until the viewport has repainted after it."""
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        event = QMouseEvent(
            kind, pos, viewport.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier
        )
        before = PaintCounter.paints
        start, cpu = time.perf_counter(), time.thread_time()
        QApplication.sendEvent(viewport, event)
        for _ in range(50):
            app.processEvents()
            if PaintCounter.paints > before:
                break
        return time.perf_counter() - start, time.thread_time() - cpu

    def strokes(full_recompose: bool) -> tuple[list[float], list[float]]:
        """Milliseconds per mouse move: (wall, UI-thread CPU)."""
        w, h = viewport.width(), viewport.height()
        latencies, cpu_times = [], []
        for s in range(args.strokes):
            y = h * (0.15 + 0.7 * s / max(1, args.strokes - 1))
            x0 = w * 0.1
            send(QEvent.Type.MouseButtonPress, QPointF(x0, y), Qt.MouseButton.LeftButton)
            for i in range(1, args.moves + 1):
                pos = QPointF(x0 + i * args.step, y + 3 * ((i % 4) - 1.5))
                if full_recompose:
                    start, cpu = time.perf_counter(), time.thread_time()
                    send(QEvent.Type.MouseMove, pos, Qt.MouseButton.LeftButton)
                    picture = compose(
                        viewer.current_image(),
                        editor.session().mask,
                        None,
                        "gt",
                        viewer.palette(),
                        window.session.opacity,
                        viewer.drawn_classes(),
                        viewer.scheme.ignore_index,
                    )
                    viewer.view.set_image(to_qimage(picture))
                    viewport.repaint()
                    latencies.append(time.perf_counter() - start)
                    cpu_times.append(time.thread_time() - cpu)
                else:
                    wall, cpu = send(QEvent.Type.MouseMove, pos, Qt.MouseButton.LeftButton)
                    latencies.append(wall)
                    cpu_times.append(cpu)
            send(QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton)
        return [1000 * v for v in latencies], [1000 * v for v in cpu_times]

    result = {"size": f"{args.width}x{args.height}", "brush_px": args.brush, "zoom": {}}
    if hasattr(os, "getloadavg"):
        result["load_average"] = round(os.getloadavg()[0], 2)
    for zoom in ("fit", "1:1"):
        if zoom == "fit":
            viewer.view.fit_to_window()
        else:
            viewer.view.actual_size()
        app.processEvents()
        strokes(False)  # warm-up
        incremental, incremental_cpu = strokes(False)
        if zoom == "fit":
            editor.layer.hide()  # the naive path draws through the viewer's own pixmap
            full, full_cpu = strokes(True)
            editor.layer.show()
        entry = {
            "scale": round(viewer.view.scale_factor(), 3),
            "dirty_rect": summary(incremental),
            "dirty_rect_cpu": summary(incremental_cpu),
        }
        if zoom == "fit":
            entry["full_recompose"] = summary(full)
            entry["full_recompose_cpu"] = summary(full_cpu)
            entry["p99_ratio_full_over_dirty"] = round(
                entry["full_recompose"]["p99_ms"] / entry["dirty_rect"]["p99_ms"], 2
            )
        result["zoom"][zoom] = entry
    print(json.dumps(result))
    window.mask_editor.session().mark_saved()  # nothing to save from a benchmark
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
