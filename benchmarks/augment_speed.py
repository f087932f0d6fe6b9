"""Milliseconds per 360x640 (image, mask) sample for each built-in preset and for each transform at p=1.

Single-threaded OpenCV, as inside a DataLoader worker. Prints one JSON object.
Usage: .venv/bin/python benchmarks/augment_speed.py [--samples 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from segviewer.core.augment import TRANSFORM_NAMES, Augmenter, Preset, TransformSpec, builtin_presets  # noqa: E402


def street_scene(height: int = 360, width: int = 640) -> tuple[np.ndarray, np.ndarray]:
    """Sky, buildings, road and a car with some texture, so colour transforms do real work."""
    rng = np.random.default_rng(0)
    mask = np.zeros((height, width), np.uint8)
    mask[int(height * 0.35) : int(height * 0.6)] = 1
    mask[int(height * 0.6) :] = 3
    mask[int(height * 0.55) : int(height * 0.8), int(width * 0.4) : int(width * 0.6)] = 8
    colours = np.array(
        [[128, 160, 200], [128, 60, 50], [0, 0, 0], [90, 90, 95]] + [[0, 0, 0]] * 4 + [[30, 40, 140]],
        np.uint8,
    )
    image = colours[mask].astype(np.int16) + rng.integers(-20, 21, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8), mask


def ms_per_sample(augmenter: Augmenter, image: np.ndarray, mask: np.ndarray, samples: int) -> float:
    for seed in range(3):  # build the pipeline, warm caches
        augmenter(image, mask, seed=seed)
    start = time.perf_counter()
    for seed in range(samples):
        augmenter(image, mask, seed=1000 + seed)
    return round((time.perf_counter() - start) * 1000.0 / samples, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    image, mask = street_scene()
    presets = {
        name: ms_per_sample(Augmenter(p), image, mask, args.samples) for name, p in builtin_presets().items()
    }
    single = {
        name: ms_per_sample(
            Augmenter(Preset(name, [TransformSpec(name, p=1.0, strength=0.5)])), image, mask, args.samples
        )
        for name in TRANSFORM_NAMES
    }
    print(
        json.dumps(
            {
                "benchmark": "augment_speed",
                "image": "360x640 RGB uint8 + mask",
                "samples": args.samples,
                "opencv_threads": 1,
                "ms_per_sample_by_preset": presets,
                "ms_per_sample_single_transform_p1_strength0.5": single,
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
