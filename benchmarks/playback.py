"""Playback with live prediction: frames shown per second vs the predictor's own images per second.

Run: .venv/bin/python benchmarks/playback.py [--frames 60] [--size 360x640] [--model ulite] [--device cpu]
     [--checkpoint best.pt] [--rounds 3]

Writes a video with OpenCV (moving shapes), then, in one run:

* ``predictor_img_per_s``: `Predictor.predict` on every frame, decoded beforehand (the predictor alone,
  on a helper thread like the playback's predictor);
* ``shown_per_s``: `core.playback.Playback` (decode-ahead thread -> predictor thread -> consumer) playing
  the same frames from the video file, not real time (nothing dropped), every frame taken by a consumer
  that colours the mask as a viewer would;
* ``ratio`` = shown_per_s / predictor_img_per_s (goal >= 0.9);
* ``realtime``: the same playback at the video's own rate, with the frames shown and dropped.

Without --checkpoint the model is a freshly initialised one (its speed, not its accuracy, matters here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np


def write_video(path: Path, frames: int, height: int, width: int, fps: float) -> None:
    from segviewer.core.video import VideoWriter

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 8)
    with VideoWriter(path, fps, (width, height)) as writer:
        for i in range(frames):
            frame = np.roll(base, 4 * i, axis=1)
            cv2.circle(frame, (int(width * (i / frames)), height // 2), height // 6, (200, 30, 30), -1)
            writer.write(frame)


def load_predictor(args):
    from segviewer.core.predict import Predictor

    if args.checkpoint:
        return Predictor.from_checkpoint(args.checkpoint, device=args.device)
    import torch

    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.labels import get_scheme
    from segviewer.core.models import build_model

    torch.manual_seed(0)
    model = build_model(args.model, 19)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = make_checkpoint(model, get_scheme("bdd100k"), (args.height, args.width), 1, None)
        path = save_checkpoint(Path(tmp) / "best.pt", ckpt)
        return Predictor.from_checkpoint(path, device=args.device)


def predictor_alone(predict, frames: list) -> float:
    """Images per second of `predict` over decoded frames, on a helper thread as the playback's predictor.

    Measured on a thread, not the main one: torch's OpenMP threads behave differently on the main
    thread (on a busy 2-core machine it ran several times slower there), and the comparison must not
    credit the pipeline with that difference.
    """
    result = {}

    def run() -> None:
        start = time.perf_counter()
        for frame in frames:
            predict(frame)
        result["rate"] = len(frames) / (time.perf_counter() - start)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["rate"]


def play(source, predict, colorize, realtime: bool) -> dict:
    from segviewer.core.playback import Playback

    shown = 0
    start = time.perf_counter()
    with Playback(source, predict, realtime=realtime) as playback:
        while not playback.finished:
            frame = playback.wait(timeout=5)
            if frame is not None:
                colorize(frame.mask)  # what a viewer does with each shown frame
                shown += 1
        stats = playback.stats()
    seconds = time.perf_counter() - start
    return {"shown": shown, "dropped": stats.dropped, "skipped": stats.skipped, "seconds": round(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="360x640", help="HEIGHTxWIDTH of the video and the model input")
    parser.add_argument("--fps", type=float, default=30.0, help="the video's frame rate (real-time run)")
    parser.add_argument("--model", default="ulite")
    parser.add_argument("--checkpoint", help="a trained checkpoint instead of a fresh model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of both measurements (median)"
    )
    args = parser.parse_args()
    args.height, args.width = (int(v) for v in args.size.lower().split("x"))
    from segviewer.core.video import VideoFile

    predictor = load_predictor(args)

    def predict(image):
        return predictor.predict(image)[0]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drive.mp4"
        write_video(path, args.frames, args.height, args.width, args.fps)
        source = VideoFile(path)
        frames = [f for _, f in source.frames()]
        predict(frames[0])  # warm-up (first-call allocations, kernels)
        colorize = predictor.scheme.colorize
        alone, played = [], []
        for _ in range(args.rounds):  # interleaved, so a busy machine slows both alike
            alone.append(predictor_alone(predict, frames))
            run = play(source, predict, colorize, realtime=False)
            played.append(run["shown"] / run["seconds"])
        realtime = play(source, predict, colorize, realtime=True)
    predictor_rate, shown_rate = statistics.median(alone), statistics.median(played)
    print(
        json.dumps(
            {
                "frames": len(frames),
                "size": [args.height, args.width],
                "model": predictor.model_name,
                "device": args.device,
                "cores": os.cpu_count(),
                "rounds": args.rounds,
                "predictor_img_per_s": round(predictor_rate, 2),
                "shown_per_s": round(shown_rate, 2),
                "ratio": round(shown_rate / predictor_rate, 3),
                "ratio_per_round": [round(b / a, 3) for a, b in zip(alone, played, strict=True)],
                "playback_last_round": run,
                "realtime": {
                    "video_fps": args.fps,
                    **realtime,
                    "shown_per_s": round(realtime["shown"] / realtime["seconds"], 2),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
