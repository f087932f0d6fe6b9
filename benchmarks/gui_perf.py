"""GUI performance: start-up on 10,000 samples, sample switching, event-loop lag, memory while scrolling.

    .venv/bin/python benchmarks/gui_perf.py [--count 10000] [--only open,switch,lag]

Prints one JSON object:
- open: seconds from process start to the window painted and to the first thumbnails painted, on a
  generated BDD100K-10K-layout data set of --count samples (hard links of one small JPEG and PNG);
- scroll: scrolling through every thumbnail: seconds, peak RSS (getrusage) and event-loop lag;
- switch: median ms from selecting the next 1280x720 sample to its picture painted with both the
  ground-truth and the (cached) prediction overlays drawn (side-by-side mode); "next_sample" is the
  usual case (the viewer prefetched the neighbour), "not_prefetched" decodes image and mask first;
- lag: how late a 10 ms QTimer fires (p50/p99/max ms) when idle and while predictions run;
- first_start: with an empty data home (no demo set yet), seconds from the window shown to the first
  demo sample on screen and browsable, and to the whole demo set listed (`--only first_start`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# --- helpers (Qt imported lazily so the parent process stays light) -----------------------------
def lag_stats(lags: list[float]) -> dict:
    import numpy as np

    a = np.array(lags or [0.0]) * 1000
    return {
        "ticks": len(lags),
        "p50": round(float(np.percentile(a, 50)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "max": round(float(a.max()), 2),
    }


class LagProbe:
    """A 10 ms precise timer; each tick records how much later than 10 ms it came."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.lags: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._last = 0.0

    def start(self) -> None:
        self.lags, self._last = [], time.perf_counter()
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        return lag_stats(self.lags)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lags.append(max(0.0, now - self._last - self.interval))
        self._last = now


def pump(app, seconds: float, until=None) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.001)
    return until is None


def make_big_dataset(root: Path, count: int) -> Path:
    """BDD100K 10K layout with `count` train samples: hard links of one 640x360 JPEG and its mask."""
    from segviewer.core.demo import render_scene
    from segviewer.core.imageio import write_jpeg, write_png

    image, mask = render_scene(0, (360, 640))
    images, masks = root / "images" / "10k" / "train", root / "labels" / "sem_seg" / "masks" / "train"
    write_jpeg(root / "one.jpg", image)
    write_png(root / "one.png", mask)
    images.mkdir(parents=True)
    masks.mkdir(parents=True)
    for i in range(count):
        os.link(root / "one.jpg", images / f"s{i:05d}.jpg")
        os.link(root / "one.png", masks / f"s{i:05d}.png")
    return root


def visible_rows(pane) -> list[int]:
    """Rows whose item is at least partly inside the list's viewport (no indexAt: that walks every row)."""
    view, model = pane.list_view, pane.model
    n = model.rowCount()
    if n == 0:
        return []
    area = view.viewport().rect()
    top0 = view.visualRect(model.index(0)).top()
    step = max(1, view.visualRect(model.index(1)).top() - top0) if n > 1 else max(1, area.height())
    first = max(0, -top0 // step - 1)
    last = min(n, first + area.height() // step + 3)
    return [r for r in range(first, last) if view.visualRect(model.index(r)).intersects(area)]


def visible_rows_cached(pane) -> bool:
    rows = visible_rows(pane)
    return bool(rows) and all(str(pane.model.sample_at(r).image) in pane.loader.cache for r in rows)


# --- open + scroll (a child process, so start-up is measured from a fresh interpreter) ------------
def child_open(root: str, t0: float, scroll: bool) -> None:
    import resource

    from PySide6.QtCore import QEvent, QObject

    import segviewer.cli  # noqa: F401 - what `segviewer` imports before the window
    from segviewer.gui.app import create_main_window, ensure_app

    app = ensure_app()
    marks: dict[str, float] = {}

    class Watch(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                marks.setdefault("window", time.monotonic() - t0)
                if window.dataset is not None and visible_rows_cached(window.dataset_pane):
                    marks.setdefault("thumbnails", time.monotonic() - t0)
            return False

    window = create_main_window(root)
    watch = Watch()
    window.installEventFilter(watch)
    window.dataset_pane.list_view.viewport().installEventFilter(watch)
    window.dataset_opened.connect(lambda _ds: marks.setdefault("listed", time.monotonic() - t0))
    window.resize(1400, 900)
    window.show()
    pump(app, 30, lambda: "thumbnails" in marks)
    result = {
        "open": {
            "samples": len(window.dataset.splits["train"]) if window.dataset else 0,
            "process_to_window_s": round(marks.get("window", -1), 3),
            "process_to_listed_s": round(marks.get("listed", -1), 3),
            "process_to_first_thumbnails_s": round(marks.get("thumbnails", -1), 3),
        }
    }
    if scroll:
        pane, probe = window.dataset_pane, LagProbe()
        bar = pane.list_view.verticalScrollBar()
        probe.start()
        start = time.perf_counter()
        value = 0
        while True:
            bar.setValue(value)
            pump(app, 5, lambda: visible_rows_cached(pane))
            if value >= bar.maximum():
                break
            value = min(bar.maximum(), value + bar.pageStep())
        seconds = time.perf_counter() - start
        result["scroll"] = {
            "rows": pane.model.rowCount(),
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "thumbnail_cache_mb": round(pane.loader.cache.nbytes / 2**20, 1),
            "lag_ms": probe.stop(),
        }
    window.close()
    print(json.dumps(result))


def bench_open(count: int, scroll: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="segviewer-bench-") as tmp:
        root = make_big_dataset(Path(tmp) / "big", count)
        env = dict(
            os.environ,
            SEGVIEWER_SETTINGS_DIR=str(Path(tmp) / "settings"),
            SEGVIEWER_CACHE_DIR=str(Path(tmp) / "cache"),
        )
        t0 = time.monotonic()
        args = [sys.executable, __file__, "--child-open", str(root), repr(t0)] + (
            ["--scroll"] if scroll else []
        )
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])


# --- switching and lag (in process) ----------------------------------------------------------------
def tiny_checkpoint(folder: Path, input_size: tuple[int, int]) -> Path:
    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.labels import get_scheme
    from segviewer.core.models import build_model

    model = build_model("ulite", 19)
    return save_checkpoint(
        folder / "ulite.pt", make_checkpoint(model, get_scheme("bdd100k"), input_size, 1, None)
    )


def bench_switch_and_lag(samples: int, rounds: int) -> dict:
    import numpy as np

    from segviewer.core.demo import render_scene
    from segviewer.core.imageio import write_jpeg, write_png
    from segviewer.gui.app import create_main_window, ensure_app

    app = ensure_app()
    with tempfile.TemporaryDirectory(prefix="segviewer-bench-") as tmp:
        os.environ["SEGVIEWER_SETTINGS_DIR"] = str(Path(tmp) / "settings")
        root = Path(tmp) / "hd"
        for i in range(samples):
            image, mask = render_scene(i, (720, 1280))
            write_jpeg(root / "images" / "10k" / "val" / f"hd_{i:03d}.jpg", image)
            write_png(root / "labels" / "sem_seg" / "masks" / "val" / f"hd_{i:03d}.png", mask)
        window = create_main_window(root)
        window.resize(1400, 900)
        window.show()
        viewer = window.viewer
        pump(app, 20, lambda: viewer.current_sample() is not None)
        probe = LagProbe()
        probe.start()
        pump(app, 3)
        idle = probe.stop()

        window.load_checkpoint(tiny_checkpoint(Path(tmp), (360, 640)))
        pump(app, 120, lambda: window.predictions.predictor is not None)
        viewer.set_mode("side")
        predicted = []
        probe.start()  # lag while the model predicts every sample once (fills the cache)
        for i in range(samples):
            window.dataset_pane.select_relative(1 if i else 0)
            start = time.perf_counter()
            name = f"hd_{i:03d}"
            pump(
                app,
                120,
                lambda n=name: viewer.current_prediction() is not None and viewer.current_sample().name == n,
            )
            predicted.append(time.perf_counter() - start)
        during_prediction = probe.stop()

        shown: list[float] = []
        viewer.frame_shown.connect(lambda: shown.append(time.perf_counter()))

        def switch_times(cold: bool) -> list[float]:
            timings = []
            for _ in range(rounds):
                window.dataset_pane.select_relative(-samples)
                pump(app, 1)
                for _ in range(samples - 1):
                    pump(app, 0.3)  # give the prefetch of the next sample its chance, as a user would
                    if cold:
                        viewer._decoded.clear()  # force decoding from disk
                    shown.clear()
                    start = time.perf_counter()
                    window.dataset_pane.select_relative(1)
                    pump(app, 10, lambda: bool(shown) and viewer.current_prediction() is not None)
                    viewer.view.viewport().repaint()  # include painting the new picture
                    timings.append(time.perf_counter() - start)
            return timings

        warm, cold = switch_times(False), switch_times(True)
        window.close()

    def summary(timings: list[float]) -> dict:
        ms = np.array(timings) * 1000
        return {
            "switches": len(ms),
            "median_ms": round(float(np.median(ms)), 1),
            "p90_ms": round(float(np.percentile(ms, 90)), 1),
            "max_ms": round(float(ms.max()), 1),
        }

    return {
        "switch": {
            "size": [720, 1280],
            "mode": "side by side (ground truth + prediction)",
            "next_sample": summary(warm),
            "not_prefetched": summary(cold),
        },
        "lag": {
            "idle_ms": idle,
            "while_predicting_ms": during_prediction,
            "prediction_s_per_image": round(float(np.median(predicted)), 3),
            "model": "ulite, 360x640 input, untrained",
        },
    }


def child_first_start() -> None:
    """The window on a first start: the demo set is drawn while the list grows."""
    from segviewer.gui.app import create_main_window, ensure_app, show_window

    app = ensure_app()
    window = create_main_window(None, demo=False)
    marks: dict[str, float] = {}
    window.viewer.frame_shown.connect(
        lambda: (
            marks.setdefault("first_sample_s", time.perf_counter() - t0)
            if window.viewer.current_sample() is not None
            else None
        )
    )
    window.dataset_opened.connect(lambda _ds: marks.setdefault("all_listed_s", time.perf_counter() - t0))
    t0 = time.perf_counter()
    window.open_demo()  # as app.run does
    show_window(window)
    pump(app, 600, until=lambda: "all_listed_s" in marks)
    marks["samples"] = sum(len(s) for s in window.dataset.splits.values()) if window.dataset else 0
    window.shutdown()
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in marks.items()}))


def bench_first_start() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SEGVIEWER_DATA_HOME=f"{tmp}/data", SEGVIEWER_SETTINGS_DIR=f"{tmp}/settings")
        env["SEGVIEWER_CACHE_DIR"] = f"{tmp}/cache"
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run(
            [sys.executable, __file__, "--child-first-start"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return {"first_start": json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--samples", type=int, default=12, help="1280x720 samples for the switching test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="open,switch,lag")
    parser.add_argument("--no-scroll", action="store_true")
    parser.add_argument("--child-open", nargs=2, metavar=("ROOT", "T0"), help=argparse.SUPPRESS)
    parser.add_argument("--scroll", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-first-start", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_first_start:
        child_first_start()
        return
    if args.child_open:
        child_open(args.child_open[0], float(args.child_open[1]), args.scroll)
        return
    parts = set(args.only.split(","))
    result: dict = {"cpu_count": os.cpu_count()}
    if "open" in parts:
        result.update(bench_open(args.count, not args.no_scroll))
    if parts & {"switch", "lag"}:
        result.update(bench_switch_and_lag(args.samples, args.rounds))
    if "first_start" in parts:
        result.update(bench_first_start())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
