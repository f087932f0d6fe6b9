"""Inference latency per image for each model: median milliseconds of a batch-1 forward pass.

Eval mode under torch.inference_mode, random input of the given size (default 720x1280, a BDD100K
frame), after `--warmup` untimed passes. On CUDA the model runs channels_last (on CPU only with
--channels-last) and, with --amp, under autocast (bfloat16 where supported). Prints one JSON object:
{"device", "threads", "size": [h, w], "models": {name: {"ms_median", "ms_min", "gflops", "repeats"}}}

    .venv/bin/python benchmarks/inference_latency.py --models ulite segnet-basic --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from segviewer.core.models import MODELS, build_model, gflops  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def measure(name: str, args: argparse.Namespace, device: torch.device) -> dict:
    h, w = args.size
    torch.manual_seed(0)
    model = build_model(name, args.classes).eval()
    cost = gflops(model, h, w)
    model = model.to(device)
    x = torch.randn(1, 3, h, w, device=device)
    if channels_last(args, device):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    amp = args.amp and device.type == "cuda"
    dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
    times = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=amp):
        for i in range(args.warmup + args.repeats):
            _sync(device)
            t0 = time.perf_counter()
            model(x)
            _sync(device)
            if i >= args.warmup:
                times.append((time.perf_counter() - t0) * 1000)
    return {
        "ms_median": round(statistics.median(times), 2),
        "ms_min": round(min(times), 2),
        "gflops": round(cost, 2),
        "repeats": args.repeats,
    }


def channels_last(args: argparse.Namespace, device: torch.device) -> bool:
    return device.type == "cuda" or args.channels_last


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--size", type=parse_size, default=(720, 1280), metavar="HxW")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: PyTorch's choice)")
    p.add_argument("--classes", type=int, default=19)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--amp", action="store_true", help="autocast on CUDA")
    p.add_argument("--channels-last", action="store_true", help="channels_last on CPU too (always on CUDA)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "size": list(args.size),
        "amp": bool(args.amp and device.type == "cuda"),
        "channels_last": channels_last(args, device),
        "torch": torch.__version__,
        "models": {name: measure(name, args, device) for name in args.models},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
