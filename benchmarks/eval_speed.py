"""`segviewer evaluate --gt --pred` against the BDD100K toolkit and the PNG read floor, in one run.

Run: .venv/bin/python benchmarks/eval_speed.py [--pairs 200] [--size 720x1280] [--data DIR] [--repeat 3]
     [--toolkit-python /work/toolkit-venv/bin/python]

Generates BDD100K-style mask pairs (8-bit grayscale PNGs of training ids, 255 ignored; predictions are the
ground truth with shifted objects and blobs), then times, interleaved and `--repeat` times each (median):

* ``segviewer_whole_s``: the whole ``segviewer evaluate --gt G --pred P --convention bdd100k --json`` process;
* ``toolkit_whole_s``: the whole ``python -m bdd100k.eval.run -t sem_seg --nproc 2`` process, and
  ``toolkit_inside_s``: its ``evaluate_segmentation`` call alone (only when the toolkit's Python is given
  or found at /work/toolkit-venv; the JSON says when it is absent);
* ``floor_2proc_s`` / ``floor_1proc_s``: decoding every PNG once with cv2.imread(IMREAD_UNCHANGED) in a
  pool of 2 processes / in this process;
* ``python_start_s``: the whole ``python -c "import numpy, cv2"`` process, what any Python command that
  decodes PNGs pays before its first file (the floor, timed inside this process, does not pay it).

Ratios: ``vs_toolkit`` = toolkit_whole / segviewer_whole (goal >= 2), ``vs_floor`` = floor_2proc /
segviewer_whole (goal >= 0.9); ``vs_floor_after_start`` = floor_2proc / (segviewer_whole - python_start),
the same without the interpreter's start; ``best_possible_vs_floor`` = floor_2proc / (python_start +
floor_2proc), the ratio of a command that starts Python and then decodes at the floor's speed and does
nothing else: the ceiling for any Python command using the floor's decoder. ``max_abs_diff_percent`` compares every figure with the toolkit's.
The toolkit is never a dependency of segviewer: install it in its own venv
(`python -m venv V && V/bin/pip install bdd100k==1.0.1 'pydantic<2'`; 1.0.1 fails with pydantic 2).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

DEFAULT_TOOLKIT = Path("/work/toolkit-venv/bin/python")
CLASSES = 19

TOOLKIT_INSIDE = """
import json, os, sys, time
from bdd100k.eval.seg import evaluate_segmentation
gt, pred = sys.argv[1], sys.argv[2]
names = sorted(f for f in os.listdir(gt) if f.endswith('.png'))
start = time.perf_counter()
result = evaluate_segmentation([os.path.join(gt, n) for n in names], [os.path.join(pred, n) for n in names],
                               nproc=2, with_logs=False)
print(json.dumps({'seconds': time.perf_counter() - start}))
"""


def make_pair(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A driving-scene-like mask (sky, buildings, road, objects, ignored border) and a flawed prediction."""
    gt = np.full((height, width), 10, np.uint8)  # sky
    horizon = int(height * rng.uniform(0.35, 0.55))
    gt[horizon // 2 : horizon] = 2  # building
    gt[horizon:] = 0  # road
    gt[horizon:, : width // 6] = 1  # sidewalk
    for _ in range(int(rng.integers(8, 20))):  # cars, poles, people, signs, vegetation
        cls = int(rng.choice([5, 6, 7, 8, 11, 12, 13, 14, 17, 18]))
        x, y = int(rng.integers(0, width)), int(rng.integers(horizon // 2, height))
        w, h = int(rng.integers(10, width // 5)), int(rng.integers(10, height // 4))
        pts = np.array([[x, y], [x + w, y + int(rng.integers(-10, 10))], [x + w, y + h], [x, y + h]])
        cv2.fillPoly(gt, [pts.astype(np.int32)], cls)
    gt[: height // 40] = 255
    pred = np.roll(gt, (int(rng.integers(-6, 6)), int(rng.integers(-6, 6))), axis=(0, 1))
    for _ in range(int(rng.integers(5, 15))):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(pred, centre, int(rng.integers(5, 60)), int(rng.integers(0, CLASSES)), -1)
    return gt, pred


def generate(folder: Path, pairs: int, height: int, width: int) -> tuple[Path, Path]:
    gt_dir, pred_dir = folder / "gt", folder / "pred"
    marker = folder / "pairs.json"
    wanted = {"pairs": pairs, "size": [height, width], "version": 1}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return gt_dir, pred_dir
    gt_dir.mkdir(parents=True, exist_ok=True)
    pred_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(pairs):
        gt, pred = make_pair(rng, height, width)
        Image.fromarray(gt, "L").save(gt_dir / f"{i:05d}.png")  # PIL's default level, as the toolkit's tools
        Image.fromarray(pred, "L").save(pred_dir / f"{i:05d}.png")
    marker.write_text(json.dumps(wanted))
    return gt_dir, pred_dir


def _decode(path: str) -> int:
    return int(cv2.imread(path, cv2.IMREAD_UNCHANGED).shape[0])


def read_floor(files: list[str], processes: int) -> float:
    start = time.perf_counter()
    if processes == 1:
        for f in files:
            _decode(f)
    else:
        with get_context("fork").Pool(processes) as pool:
            list(pool.imap_unordered(_decode, files, chunksize=8))
    return time.perf_counter() - start


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def figures_segviewer(data: dict) -> dict[str, float]:
    """Every figure in percent, keyed as in `figures_toolkit`."""
    out = {
        "mIoU": data["miou"],
        "mAcc": data["mean_class_accuracy"],
        "fIoU": data["fwiou"],
        "pAcc": data["pixel_accuracy"],
    }
    out.update({f"IoU/{c['name']}": c["iou"] for c in data["per_class"]})
    out.update({f"Acc/{c['name']}": c["accuracy"] for c in data["per_class"]})
    return {k: 100 * v for k, v in out.items()}


def figures_toolkit(data: dict) -> dict[str, float]:
    """The toolkit's --out-file: IoU and Acc are [per-class dict, {"AVERAGE": mean}], fIoU and pAcc numbers."""
    (iou, iou_mean), (acc, acc_mean) = data["IoU"], data["Acc"]
    out = {"mIoU": next(iter(iou_mean.values())), "mAcc": next(iter(acc_mean.values()))}
    out.update(fIoU=data["fIoU"], pAcc=data["pAcc"])
    out.update({f"IoU/{k}": v for k, v in iou.items()})
    out.update({f"Acc/{k}": v for k, v in acc.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--size", default="720x1280", help="HEIGHTxWIDTH (default 720x1280)")
    parser.add_argument("--data", type=Path, help="folder for the generated pairs (kept; default: temporary)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median)")
    parser.add_argument("--toolkit-python", type=Path, default=DEFAULT_TOOLKIT)
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.lower().split("x"))
    tmp = None if args.data else tempfile.TemporaryDirectory()
    folder = args.data or Path(tmp.name)
    gt_dir, pred_dir = generate(folder, args.pairs, height, width)
    load_start = os.getloadavg()[0]  # others' work on the machine: the figures mean little above ~1
    files = [str(p) for d in (gt_dir, pred_dir) for p in sorted(d.glob("*.png"))]
    ours = [sys.executable, "-m", "segviewer", "evaluate", "--gt", str(gt_dir), "--pred", str(pred_dir)]
    ours += ["--convention", "bdd100k", "--json"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    toolkit = args.toolkit_python if args.toolkit_python.is_file() else None
    out_file = folder / "toolkit.json"
    times: dict[str, list[float]] = {
        "segviewer_whole_s": [],
        "floor_2proc_s": [],
        "floor_1proc_s": [],
        "python_start_s": [],
    }
    if toolkit:
        times.update(toolkit_whole_s=[], toolkit_inside_s=[])
    ours_json = None
    for _ in range(args.repeat):
        seconds, stdout = timed(ours, env)
        times["segviewer_whole_s"].append(seconds)
        ours_json = json.loads(stdout)
        times["floor_2proc_s"].append(read_floor(files, 2))
        times["floor_1proc_s"].append(read_floor(files, 1))
        times["python_start_s"].append(timed([sys.executable, "-c", "import numpy, cv2"], env)[0])
        if toolkit:
            cmd = [
                str(toolkit),
                "-m",
                "bdd100k.eval.run",
                "-t",
                "sem_seg",
                "-g",
                str(gt_dir),
                "-r",
                str(pred_dir),
            ]
            seconds, _ = timed([*cmd, "--nproc", "2", "-q", "--out-file", str(out_file)])
            times["toolkit_whole_s"].append(seconds)
            _, stdout = timed([str(toolkit), "-c", TOOLKIT_INSIDE, str(gt_dir), str(pred_dir)])
            times["toolkit_inside_s"].append(json.loads(stdout)["seconds"])
    result: dict = {
        "pairs": args.pairs,
        "size": [height, width],
        "cores": os.cpu_count(),
        "repeat": args.repeat,
    }
    result.update({k: round(statistics.median(v), 3) for k, v in times.items()})
    result["vs_floor"] = round(result["floor_2proc_s"] / result["segviewer_whole_s"], 3)
    result["vs_floor_after_start"] = round(
        result["floor_2proc_s"] / (result["segviewer_whole_s"] - result["python_start_s"]), 3
    )
    # A command that decodes with the floor's own decoder, at the floor's speed, with nothing else to do.
    result["best_possible_vs_floor"] = round(
        result["floor_2proc_s"] / (result["python_start_s"] + result["floor_2proc_s"]), 3
    )
    result["load_average_1min"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    if toolkit:
        theirs = figures_toolkit(json.loads(out_file.read_text()))
        mine = figures_segviewer(ours_json)
        common = sorted(set(theirs) & set(mine))
        result["vs_toolkit"] = round(result["toolkit_whole_s"] / result["segviewer_whole_s"], 3)
        result["figures_compared"] = len(common)
        result["max_abs_diff_percent"] = max(abs(theirs[k] - mine[k]) for k in common)
        result["miou"] = {"segviewer": round(mine["mIoU"], 6), "toolkit": round(theirs["mIoU"], 6)}
    else:
        result["toolkit"] = (
            f"absent: no {args.toolkit_python}; install bdd100k==1.0.1 in its own venv to compare"
        )
    print(json.dumps(result, indent=2))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
