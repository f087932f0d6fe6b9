"""How fast the built-in demo set is written: render + JPEG/PNG encode + atomic writes, end to end.

Usage: python benchmarks/demo_speed.py [--count 300] [--size 360x640] [--threads 1]
Prints one JSON object: {"samples", "seconds", "samples_per_s", "size", "render_ms", "write_ms"}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from segviewer.commands.demo_data import parse_size  # noqa: E402
from segviewer.core import demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", default="360x640")
    parser.add_argument(
        "--threads", type=int, default=1, help="OpenCV threads (the renderer is single-threaded)"
    )
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    size = parse_size(args.size)
    demo.render_scene(0, size)  # warm-up: imports, caches
    render_seconds = []
    render = demo.render_scene

    def timed_render(seed: int, size: tuple[int, int]):
        start = time.perf_counter()
        out = render(seed, size)
        render_seconds.append(time.perf_counter() - start)
        return out

    demo.render_scene = timed_render  # generate_demo looks it up at call time
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        demo.generate_demo(Path(tmp) / "demo", args.count, size)
        seconds = time.perf_counter() - start
    render_ms = sum(render_seconds) / args.count * 1000
    result = {
        "samples": args.count,
        "seconds": round(seconds, 3),
        "samples_per_s": round(args.count / seconds, 2),
        "size": list(size),
        "render_ms": round(render_ms, 2),
        "write_ms": round(seconds / args.count * 1000 - render_ms, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
