"""Training throughput of one model, against what the machine can do and what the input pipeline delivers.

Prints one JSON object: training images/s on synthetic batches (no data loading), forward GFLOPs per
image, achieved GFLOP/s (a training step is counted as 3x the forward FLOPs), the same machine's fp32
matmul GFLOP/s measured in this run, their ratio (model FLOP utilisation), and the images/s the input
pipeline alone delivers from demo JPEGs with a cold and a warm decode cache. Compare the pipeline's
figure with the training figure to see which one limits a run. On CUDA it also measures the GPU's
bf16 matmul rate and, with --amp, gives the utilisation against that (the rate mixed precision runs at).

    .venv/bin/python benchmarks/train_throughput.py --model ulite --input-size 360x640 --batch-size 4
    .venv/bin/python benchmarks/train_throughput.py --device cuda --amp --channels-last --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def matmul_gflops(device: torch.device, n: int = 2048, reps: int = 5, dtype=torch.float32) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_speed(args, device: torch.device, num_classes: int = 19) -> dict:
    from segviewer.core.models import build_model, count_parameters, gflops

    h, w = args.input_size
    model = build_model(args.model, num_classes).to(device)
    fwd = float(gflops(model, h, w))
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    from segviewer.core.losses import build_criterion

    loss_fn = build_criterion(args.loss, None, 255)
    forward = torch.compile(model) if args.compile else model
    x = torch.randn(args.batch_size, 3, h, w, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, num_classes, (args.batch_size, h, w), device=device)
    dtype = None
    if args.amp and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out = forward(x)
        loss = loss_fn(out.float(), y)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step()
    _sync(device)
    warmup_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(device)
    seconds = time.perf_counter() - t0
    ips = args.steps * args.batch_size / seconds
    return {
        "parameters": count_parameters(model),
        "forward_gflops_per_image": round(fwd, 3),
        "train_images_per_s": round(ips, 2),
        "seconds_per_step": round(seconds / args.steps, 4),
        "achieved_gflops_per_s": round(3 * fwd * ips, 1),
        "warmup_seconds": round(warmup_seconds, 2),  # includes compiling with --compile
    }


def pipeline_speed(args) -> dict:
    """Images/s the DataLoader delivers from demo JPEGs at 360x640: first pass (decode) and second (cache)."""
    from segviewer.core.datasets import open_dataset
    from segviewer.core.demo import generate_demo
    from segviewer.core.pipeline import SegmentationSet, build_loader

    with tempfile.TemporaryDirectory() as tmp:
        root = generate_demo(Path(tmp) / "demo", count=args.pipeline_images, size=(360, 640), seed=1)
        dataset = open_dataset(root)
        samples = [s for split in dataset.splits.values() for s in split if s.mask is not None]
        data = SegmentationSet(dataset, samples, args.input_size, Path(tmp) / "cache")
        loader = build_loader(data, args.batch_size, True, 0, args.workers)
        rates = []
        for epoch in range(2):
            loader.sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            count = sum(len(im) for im, _, _ in loader if im is not None)
            rates.append(count / (time.perf_counter() - t0))
        del loader
    return {
        "pipeline_images": len(samples),
        "pipeline_workers": args.workers,
        "pipeline_cold_images_per_s": round(rates[0], 1),
        "pipeline_warm_images_per_s": round(rates[1], 1),
    }


def parse_size(text: str) -> tuple[int, int]:
    h, w = text.lower().split("x")
    return int(h), int(w)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="ulite")
    p.add_argument("--input-size", type=parse_size, default=(360, 640))
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--amp", action="store_true")
    p.add_argument("--loss", choices=("ce", "ce+dice"), default="ce")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the model (needs a C++ compiler on CPU)"
    )
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--pipeline-images", type=int, default=48)
    p.add_argument("--no-pipeline", action="store_true", help="skip the data loading measurement")
    args = p.parse_args()
    from segviewer.core.devices import resolve_device, set_threads

    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    result = {
        "model": args.model,
        "input_size": list(args.input_size),
        "batch_size": args.batch_size,
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(0),
        "threads": threads,
        "channels_last": args.channels_last,
        "amp": bool(args.amp and device.type == "cuda"),
        "loss": args.loss,
        "compile": args.compile,
        "torch": torch.__version__,
    }
    result.update(train_speed(args, device))
    big = device.type == "cuda"  # a GPU needs large matrices (and more of them) to reach its rate
    result["matmul_fp32_gflops_per_s"] = round(
        matmul_gflops(device, 8192 if big else 2048, 20 if big else 5), 1
    )
    result["model_flop_utilisation"] = round(
        result["achieved_gflops_per_s"] / result["matmul_fp32_gflops_per_s"], 3
    )
    if device.type == "cuda":
        bf16 = matmul_gflops(device, 8192, 20, torch.bfloat16)
        result["matmul_bf16_gflops_per_s"] = round(bf16, 1)
        result["model_flop_utilisation_bf16"] = round(result["achieved_gflops_per_s"] / bf16, 3)
    if not args.no_pipeline:
        result.update(pipeline_speed(args))
        result["limited_by"] = (
            "input pipeline"
            if result["pipeline_warm_images_per_s"] < result["train_images_per_s"]
            else "model compute"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
