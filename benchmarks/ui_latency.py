"""How late the Qt event loop gets while U-Lite trains from the GUI, and what the GUI costs training.

A 10 ms QTimer records how late each tick fires while a run goes through the training pane (its
child process `segviewer train --events jsonl --low-priority`, curves, table and log redraws). Then
the same configuration trains through `segviewer train --events jsonl` with no window, for the same
time, in the same run of this script. Prints one JSON object:
{"ticks", "lag_ms": {"p50", "p99", "max"}, "images_per_s", "headless_images_per_s", "ratio", ...}

    .venv/bin/python benchmarks/ui_latency.py --pane
    .venv/bin/python benchmarks/ui_latency.py --pane --seconds 60 --threads 1
    .venv/bin/python benchmarks/ui_latency.py --pane --rounds 3   # a shared machine: median of 3
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def images_per_s(batches: list[tuple[float, int]]) -> float | None:
    """Steady throughput: the first fifth of the batches (warm-up, decode cache filling) is left out."""
    if len(batches) <= 10:
        return None
    skip = len(batches) // 5
    span = batches[-1][0] - batches[skip][0]
    return sum(n for _, n in batches[skip + 1 :]) / span if span > 0 else None


def headless(cfg: dict, seconds: float, low_priority: bool) -> tuple[float | None, str | None]:
    """The same run through `segviewer train --events jsonl` (no window) for `seconds` of batches.

    `low_priority`: exactly the pane's command line (`--low-priority` too), so that on a machine
    shared with other work the ratio measures the window, not the scheduling priority.
    """
    from segviewer.core import events as ev
    from segviewer.core.train_command import child_command

    argv = child_command(cfg)
    if not low_priority:
        argv.remove("--low-priority")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    batches: list[tuple[float, int]] = []
    first, failed = None, None
    for line in child.stdout:
        event = ev.from_json_line(line)
        if isinstance(event, ev.Batch):
            now = time.perf_counter()
            first = first or now
            batches.append((now, cfg["batch_size"]))
            if now - first >= seconds and child.stdin is not None:
                child.stdin.write("stop\n")
                child.stdin.flush()
                child.stdin.close()
                child.stdin = None
        elif isinstance(event, ev.Failed):
            failed = event.message
    child.wait()
    return images_per_s(batches), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--seconds", type=float, default=40.0, help="how long to train (each way)")
    parser.add_argument("--count", type=int, default=60, help="demo samples to generate")
    parser.add_argument("--size", type=parse_size, default=(180, 320), help="demo image size HxW")
    parser.add_argument("--input-size", type=parse_size, default=(180, 320))
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument(
        "--pane", action="store_true", help="train through the full TrainingPane (the only way)"
    )
    parser.add_argument("--no-headless", action="store_true", help="skip the run without a window")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pane and headless runs, alternated; the ratio is the median of the rounds' ratios, so that "
        "other work on a shared machine weighs on both sides alike",
    )
    parser.add_argument(
        "--headless-normal-priority",
        action="store_true",
        help="run the headless comparison without --low-priority (the pane's child always has it)",
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip the untimed first epoch that fills the decode cache before both timed runs (without it "
        "the pane, timed first, decodes every image while the headless run reads the cache)",
    )
    args = parser.parse_args(argv)

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from segviewer.core import events as ev
    from segviewer.core.demo import generate_demo
    from segviewer.gui.panes.training_pane import TrainingPane

    tmp = Path(tempfile.mkdtemp(prefix="segviewer-ui-latency-"))
    os.environ.setdefault("SEGVIEWER_SETTINGS_DIR", str(tmp / "settings"))
    os.environ["SEGVIEWER_CACHE_DIR"] = str(tmp / "cache")
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    root = generate_demo(tmp / "demo", count=args.count, size=args.size, seed=0)
    overrides = {
        "model": "ulite",
        "epochs": 1000,
        "batch_size": args.batch_size,
        "input_size": tuple(args.input_size),
        "patience": 0,
        "threads": args.threads,
        "seed": 0,
    }

    batches: list[tuple[float, int]] = []
    result: dict = {}

    def on_event(event) -> None:
        if isinstance(event, ev.Started):
            result["device"] = event.device
            result["steps_per_epoch"] = event.steps_per_epoch
            result["run_dir"] = event.run_dir
        elif isinstance(event, ev.Batch):
            batches.append((time.perf_counter(), args.batch_size))
            if batches[-1][0] - batches[0][0] >= args.seconds:
                pane.stop_training()
        elif isinstance(event, ev.Failed):
            result["failed"] = event.message

    pane = TrainingPane()
    pane.resize(560, 900)
    pane.show()
    pane.set_dataset(root, None)
    pane.config_overrides = overrides
    pane.event_received.connect(on_event)

    lags: list[float] = []
    spikes: list[tuple[float, float]] = []  # (seconds since start, lag ms) of ticks over 30 ms
    last = [0.0]
    t_begin = [0.0]

    def tick() -> None:
        now = time.perf_counter()
        if last[0]:
            lag = max(0.0, now - last[0] - 0.010) * 1000
            lags.append(lag)
            if lag > 30:
                spikes.append((round(now - t_begin[0], 2), round(lag, 1)))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)

    cpu_begin = [0.0]

    def begin() -> None:
        t_begin[0] = time.perf_counter()
        cpu_begin[0] = time.process_time()
        timer.start()
        if not pane.start_training():
            result["failed"] = pane.view.status_label.text()
            app.quit()

    warm_up_s = None
    if not args.no_warm_up:  # the same decode cache for both timed runs: fill it once, untimed
        t0 = time.perf_counter()
        warm = dict(pane.form.values(), **dict(overrides, epochs=1), root=str(root), out=str(tmp / "warm-up"))
        headless(warm, float("inf"), True)
        warm_up_s = round(time.perf_counter() - t0, 1)

    pane.run_ended.connect(app.quit)
    rounds: list[dict] = []
    elapsed = window_cpu_s = 0.0
    for _ in range(max(1, args.rounds)):
        batches.clear()
        last[0] = 0.0
        QTimer.singleShot(500, begin)  # after the form has loaded its choices
        app.exec()
        timer.stop()
        elapsed += time.perf_counter() - t_begin[0]
        window_cpu_s += time.process_time() - cpu_begin[0]  # what the window itself took from the cores
        gui_rate = images_per_s(batches)
        headless_rate, headless_failed = (None, None)
        if not args.no_headless and "failed" not in result:
            cfg = dict(
                pane.form.values(), **overrides, root=str(root), out=str(tmp / f"headless-{len(rounds)}")
            )
            headless_rate, headless_failed = headless(cfg, args.seconds, not args.headless_normal_priority)
        rounds.append(
            {
                "images_per_s": round(gui_rate, 2) if gui_rate else None,
                "headless_images_per_s": round(headless_rate, 2) if headless_rate else None,
                "ratio": round(gui_rate / headless_rate, 3) if gui_rate and headless_rate else None,
                "batches": len(batches),
            }
        )
        if headless_failed or "failed" in result:
            result.setdefault("failed", headless_failed)
            break

    def median_of(key: str) -> float | None:
        values = sorted(r[key] for r in rounds if r[key] is not None)
        return statistics.median(values) if values else None

    print(
        json.dumps(
            {
                "threads": args.threads,
                "pane": True,
                "cores": os.cpu_count(),
                "ticks": len(lags),
                "lag_ms": {
                    "p50": round(percentile(lags, 50), 2),
                    "p99": round(percentile(lags, 99), 2),
                    "max": round(max(lags), 2) if lags else None,
                },
                "images_per_s": median_of("images_per_s"),
                "headless_images_per_s": median_of("headless_images_per_s"),
                "ratio": median_of("ratio"),
                "rounds": rounds,
                "headless_low_priority": not args.headless_normal_priority,
                "warm_up_s": warm_up_s,
                "window_cpu_s": round(window_cpu_s, 1),
                "window_cpu_share": round(window_cpu_s / elapsed, 3) if elapsed > 0 else None,
                "seconds": round(elapsed, 1),
                "device": result.get("device"),
                "input_size": list(args.input_size),
                "batch_size": args.batch_size,
                "failed": result.get("failed"),
                "spikes_over_30ms": spikes[:20],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
