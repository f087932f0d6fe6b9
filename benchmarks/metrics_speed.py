"""Pairs per second of `ConfusionMatrix.update` on 1280x720 uint8 masks with 19 classes (BDD100K size).

Run: .venv/bin/python benchmarks/metrics_speed.py [--pairs N]. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from segviewer.core.metrics import ConfusionMatrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=50, help="timed update calls (default 50)")
    args = parser.parse_args()
    height, width, classes = 720, 1280, 19
    rng = np.random.default_rng(0)
    gt = rng.integers(0, classes, (height, width), dtype=np.uint8)
    gt[rng.random((height, width)) < 0.1] = 255  # some ignored pixels
    pred = rng.integers(0, classes, (height, width), dtype=np.uint8)
    cm = ConfusionMatrix(classes)
    cm.update(gt, pred)  # warm-up
    start = time.perf_counter()
    for _ in range(args.pairs):
        cm.update(gt, pred)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "pairs_per_s": round(args.pairs / seconds, 1),
                "ms_per_pair": round(1000 * seconds / args.pairs, 3),
                "height": height,
                "width": width,
            }
        )
    )


if __name__ == "__main__":
    main()
