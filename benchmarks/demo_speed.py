"""How fast the built-in demo set appears: the first browsable scene, and the whole set, end to end.

Usage: python benchmarks/demo_speed.py [--count 300] [--size 360x640] [--workers 1] [--threads 1]
Prints one JSON object: {"samples", "workers", "first_scene_s", "seconds", "samples_per_s", "size",
"render_ms", "write_ms"} (render/write split only with --workers 1, where rendering runs in this process).
"first_scene_s" is from the call until the first scene is on disk in the final layout (when a window's
sample list can show it); "seconds" until the marker file says the set is finished.
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
    parser.add_argument("--workers", type=int, default=1, help="render processes (1: in this process)")
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

    demo.render_scene = timed_render  # _write_scene looks it up at call time (in this process only)
    first: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()

        def on_scene(index: int, image: Path, mask: Path | None) -> None:
            if not first:
                first.append(time.perf_counter() - start)

        demo.ensure_demo(Path(tmp) / "demo", args.count, size, on_scene=on_scene, workers=args.workers)
        seconds = time.perf_counter() - start
    result = {
        "samples": args.count,
        "workers": args.workers,
        "first_scene_s": round(first[0], 3),
        "seconds": round(seconds, 3),
        "samples_per_s": round(args.count / seconds, 2),
        "size": list(size),
    }
    if args.workers == 1:
        render_ms = sum(render_seconds) / args.count * 1000
        result["render_ms"] = round(render_ms, 2)
        result["write_ms"] = round(seconds / args.count * 1000 - render_ms, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
