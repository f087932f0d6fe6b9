"""How late the Qt event loop gets while U-Lite trains in the background (the window must not freeze).

A 10 ms QTimer records how late each tick fires while a training run goes through the GUI's runner
(thread or spawned process), optionally inside the full training pane (curves, table, log redraws).
Prints one JSON object:
{"runner", "threads", "ticks", "lag_ms": {"p50", "p99", "max"}, "images_per_s", ...}

    .venv/bin/python benchmarks/ui_latency.py --runner thread            # cores-1 torch threads
    .venv/bin/python benchmarks/ui_latency.py --runner thread --threads 2
    .venv/bin/python benchmarks/ui_latency.py --runner process --pane
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
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if sys.version_info < (3, 12):  # PySide6 6.12 on CPython 3.11 drops a reference to None per void call
    for _obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40


def parse_size(text: str) -> tuple[int, int]:
    h, _, w = text.lower().partition("x")
    return int(h), int(w)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=["thread", "process"], default="thread")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: the runner's choice)"
    )
    parser.add_argument("--seconds", type=float, default=40.0, help="how long to train")
    parser.add_argument("--count", type=int, default=60, help="demo samples to generate")
    parser.add_argument("--size", type=parse_size, default=(180, 320), help="demo image size HxW")
    parser.add_argument("--input-size", type=parse_size, default=(180, 320))
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--pane", action="store_true", help="train through the full TrainingPane")
    parser.add_argument("--switch-interval-ms", type=float, default=None, help="sys.setswitchinterval")
    args = parser.parse_args(argv)
    if args.switch_interval_ms:
        sys.setswitchinterval(args.switch_interval_ms / 1000)

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from segviewer.core.demo import generate_demo
    from segviewer.gui.training_runner import create_runner, preload_training_modules

    preload_training_modules()
    from segviewer.core.training import TrainConfig

    tmp = Path(tempfile.mkdtemp(prefix="segviewer-ui-latency-"))
    root = generate_demo(tmp / "demo", count=args.count, size=args.size, seed=0)
    cfg = TrainConfig(
        root=str(root),
        model="ulite",
        epochs=1000,
        batch_size=args.batch_size,
        input_size=args.input_size,
        patience=0,
        out=str(tmp / "run"),
        threads=args.threads,
        cache_dir=str(tmp / "cache"),
        seed=0,
    )

    batches: list[tuple[float, int]] = []
    result: dict = {}

    def on_event(event) -> None:
        name = type(event).__name__
        if name == "Started":
            result["device"] = event.device
            result["steps_per_epoch"] = event.steps_per_epoch
        elif name == "Batch":
            batches.append((time.perf_counter(), args.batch_size))
        elif name == "Failed":
            result["failed"] = event.message

    if args.pane:
        from segviewer.gui.panes.training_pane import TrainingPane

        os.environ.setdefault("SEGVIEWER_SETTINGS_DIR", str(tmp / "settings"))
        pane = TrainingPane(runner_kind=args.runner)
        pane.resize(560, 900)
        pane.show()
        pane.set_dataset(root, None)
        pane.config_overrides = {k: v for k, v in cfg.to_json().items() if k not in ("root", "out")}
        pane.config_overrides["input_size"] = tuple(args.input_size)
        runner = pane.runner
        runner.event_received.connect(on_event)
        start = pane.start_training
    else:
        runner = create_runner(args.runner)
        runner.event_received.connect(on_event)

        def start() -> None:
            runner.start(cfg)

    lags: list[float] = []
    spikes: list[tuple[float, float]] = []  # (seconds since start, lag ms) of ticks over 30 ms
    last = [0.0]
    measuring = [False]

    def tick() -> None:
        now = time.perf_counter()
        if measuring[0] and last[0]:
            lag = max(0.0, now - last[0] - 0.010) * 1000
            lags.append(lag)
            if lag > 30:
                spikes.append((round(now - t_begin[0], 2), round(lag, 1)))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()

    t_begin = [0.0]
    modules_before: set[str] = set()

    def begin() -> None:
        modules_before.update(sys.modules)
        t_begin[0] = time.perf_counter()
        measuring[0] = True
        last[0] = 0.0
        result["threads_effective"] = getattr(runner.prepare_config(cfg), "threads", None)
        start()
        QTimer.singleShot(int(args.seconds * 1000), runner.stop)

    runner.finished.connect(app.quit)
    QTimer.singleShot(200, begin)
    t0 = time.perf_counter()
    app.exec()
    elapsed = time.perf_counter() - t0
    measuring[0] = False

    images_per_s = None
    if len(batches) > 10:
        skip = len(batches) // 5  # leave out the warm-up (first epoch decodes; caches fill)
        span = batches[-1][0] - batches[skip][0]
        images_per_s = sum(n for _, n in batches[skip + 1 :]) / span if span > 0 else None
    threads = args.threads if args.threads else result.get("threads_effective")
    print(
        json.dumps(
            {
                "runner": args.runner,
                "threads": threads,
                "pane": args.pane,
                "cores": os.cpu_count(),
                "ticks": len(lags),
                "lag_ms": {
                    "p50": round(percentile(lags, 50), 2),
                    "p99": round(percentile(lags, 99), 2),
                    "max": round(max(lags), 2) if lags else None,
                },
                "images_per_s": round(images_per_s, 2) if images_per_s else None,
                "batches": len(batches),
                "seconds": round(elapsed, 1),
                "device": result.get("device"),
                "input_size": list(args.input_size),
                "batch_size": args.batch_size,
                "failed": result.get("failed"),
                "spikes_over_30ms": spikes[:20],
                "modules_imported_during_run": sorted(
                    m for m in set(sys.modules) - modules_before if "." not in m
                )[:30],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
