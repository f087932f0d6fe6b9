"""How fast a BDD100K-10K-layout folder is indexed (listed and paired, no image opened).

Creates --count empty image files (70% train, 10% val, 20% test, as BDD100K 10K) with masks for train
and val in a temporary folder, then times `open_dataset`. Listing never reads file contents, so empty
files measure the same work as real ones. Prints one JSON object.

    .venv/bin/python benchmarks/index_speed.py --count 10000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segviewer.core.datasets import open_dataset  # noqa: E402


def make_layout(root: Path, count: int) -> None:
    n_train, n_val = int(count * 0.7), int(count * 0.1)
    splits = {"train": n_train, "val": n_val, "test": count - n_train - n_val}
    index = 0
    for split, n in splits.items():
        images = root / "images" / "10k" / split
        images.mkdir(parents=True)
        masks = root / "labels" / "sem_seg" / "masks" / split
        if split != "test":
            masks.mkdir(parents=True)
        for _ in range(n):
            name = f"{index:08x}-{index * 7919 % 65536:04x}"
            (images / f"{name}.jpg").touch()
            if split != "test":
                (masks / f"{name}.png").touch()
            index += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="number of samples (images)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segviewer-index-") as tmp:
        root = Path(tmp)
        make_layout(root, args.count)
        times, samples = [], 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            ds = open_dataset(root)
            times.append(time.perf_counter() - start)
            samples = sum(len(s) for s in ds.splits.values())
            assert ds.format == "bdd100k-10k" and not ds.problems
    seconds = statistics.median(times)
    print(
        json.dumps(
            {
                "samples": samples,
                "seconds": round(seconds, 4),
                "samples_per_s": round(samples / seconds),
                "seconds_first_run": round(times[0], 4),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
