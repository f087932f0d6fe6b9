"""Inference latency per image with each backend, PyTorch and onnxruntime, side by side.

For each model a checkpoint of freshly initialised weights is made at the measured size (default
720x1280, a BDD100K frame) and exported to ONNX (static, as `segviewer export` does by default).
Both backends then predict the same random 1280x720 image through `Predictor.predict`, the call the
CLI and the viewer make (normalisation, forward, softmax and argmax included), batch 1, after
`--warmup` untimed calls. With `--images DIR`, the masks of both backends are also compared on up to
`--limit` real images (a dynamic export, input size `--agreement-size`), after making the weights
predict more than one class; with `--train-root DATASET --train-steps N` the weights are instead
trained briefly (N Adam steps of 4 images at 120x160 from its train split: fresh weights are the worst
case). `torch_layouts_agreement` is the same share between PyTorch's own two memory layouts
(channels-last, which segviewer uses, and NCHW): near-ties in max pooling flip with the order of float
additions, and no backend can agree with PyTorch better than PyTorch agrees with itself.
`--optimizations` times onnxruntime at several graph optimisation levels (`onnx_session`). Prints one
JSON object:
{"device", "threads", "size", "torch", "onnxruntime",
 "models": {name: {"gflops", "torch": {"ms_median", "ms_min"}, "onnxruntime": {"ms_median", "ms_min",
 "export_s"}, "onnxruntime_speedup", "mask_agreement"?, "torch_layouts_agreement"?,
 "optimizations"?: {level: {"ms_median", "ms_min", "mask_agreement"?}}}}}

    .venv/bin/python benchmarks/inference_latency.py --models ulite segnet-basic --repeats 3 --threads 2
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

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import torch  # noqa: E402

from segviewer.core.checkpoint import make_checkpoint, save_checkpoint  # noqa: E402
from segviewer.core.datasets import list_images, open_dataset  # noqa: E402
from segviewer.core.imageio import read_image  # noqa: E402
from segviewer.core.labels import get_scheme  # noqa: E402
from segviewer.core.models import MODELS, build_model, gflops  # noqa: E402
from segviewer.core.onnx_export import export_onnx  # noqa: E402
from segviewer.core.pipeline import normalize_tf, resize_image, resize_mask  # noqa: E402
from segviewer.core.predict import GRAPH_OPTIMIZATIONS, Predictor  # noqa: E402

SCHEME = get_scheme("bdd100k")  # 19 classes


def parse_size(text: str) -> tuple[int, int]:
    h, w = (int(v) for v in text.lower().split("x"))
    return h, w


def timed(predictor: Predictor, image: np.ndarray, args: argparse.Namespace) -> dict:
    times = []
    for i in range(args.warmup + args.repeats):
        t0 = time.perf_counter()
        predictor.predict(image)
        if i >= args.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    return {"ms_median": round(statistics.median(times), 1), "ms_min": round(min(times), 1)}


def measure(name: str, args: argparse.Namespace, folder: Path) -> dict:
    torch.manual_seed(0)
    model = build_model(name, SCHEME.num_classes).eval()
    ckpt = save_checkpoint(folder / f"{name}.pt", make_checkpoint(model, SCHEME, args.size, 0, None))
    t0 = time.perf_counter()
    model_file = export_onnx(ckpt, folder / f"{name}.onnx")
    export_s = time.perf_counter() - t0
    image = np.random.default_rng(0).integers(0, 256, (*args.size, 3), np.uint8)
    result = {"gflops": round(gflops(model, *args.size), 2)}
    result["torch"] = timed(Predictor.from_checkpoint(ckpt, args.device, args.threads), image, args)
    levels = {}
    for level in args.optimizations:
        levels[level] = timed(Predictor.from_onnx(model_file, args.device, args.threads, level), image, args)
    result["onnxruntime"] = levels[args.optimizations[0]] | {"export_s": round(export_s, 1)}
    result["onnxruntime_speedup"] = round(
        result["torch"]["ms_median"] / result["onnxruntime"]["ms_median"], 2
    )
    if args.images:
        shares = agreement(name, args, folder)
        result["mask_agreement"] = shares[args.optimizations[0]]
        result["torch_layouts_agreement"] = shares["torch-nchw"]
        for level in levels:
            levels[level]["mask_agreement"] = shares[level]
    if len(levels) > 1:
        result["optimizations"] = levels
    return result


def agreement(name: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    """Share of mask pixels equal to the PyTorch predictor's on real images, for each onnxruntime level
    and for PyTorch in its other memory layout ("torch-nchw"), with weights that vary by pixel."""
    torch.manual_seed(1)
    images = [read_image(p) for p in list_images(Path(args.images))[: args.limit]]
    h, w = args.agreement_size
    if args.train_root:
        model, scheme = briefly_trained(name, Path(args.train_root), args.train_steps)
    else:
        model, scheme = build_model(name, SCHEME.num_classes), SCHEME
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.momentum = None  # running statistics = the average over the passes below
        with torch.no_grad():
            batch = np.stack([resize_image(im, (h, w)) for im in images[:2]])
            model.train()(normalize_tf(torch.from_numpy(batch)))
            model.classifier.bias.zero_()  # freshly initialised, one class would win everywhere
            model.classifier.weight.normal_(0.0, 1.0)
    ckpt = save_checkpoint(folder / f"{name}-real.pt", make_checkpoint(model.eval(), scheme, (h, w), 0, None))
    model_file = export_onnx(ckpt, folder / f"{name}-real.onnx", dynamic=True)
    reference = Predictor.from_checkpoint(ckpt, args.device, args.threads)
    want = [reference.predict(image)[0] for image in images]
    nchw = Predictor.from_checkpoint(ckpt, args.device, args.threads)
    others = {"torch-nchw": nchw_predict(nchw)}
    for level in args.optimizations:
        onnx_predictor = Predictor.from_onnx(model_file, args.device, args.threads, level)
        others[level] = lambda image, p=onnx_predictor: p.predict(image)[0]
    shares = {}
    for key, predict in others.items():
        equal = sum(int((predict(image) == mask).sum()) for image, mask in zip(images, want, strict=True))
        shares[key] = round(equal / sum(mask.size for mask in want), 6)
    return shares


def nchw_predict(predictor: Predictor):
    """`predictor.predict` with its PyTorch model in the NCHW layout instead of channels-last."""
    logits = predictor._logits  # the benchmark compares layouts; segviewer itself never switches
    logits.channels_last = False
    logits.model = logits.model.to(memory_format=torch.contiguous_format)
    return lambda image: predictor.predict(image)[0]


def briefly_trained(name: str, root: Path, steps: int) -> tuple[torch.nn.Module, object]:
    """`name` after `steps` Adam steps (lr 1e-3) on 4 random 120x160 images of `root`'s train split."""
    dataset = open_dataset(root)
    samples = dataset.labelled("train")
    model = build_model(name, dataset.scheme.num_classes).train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        pick = rng.choice(len(samples), min(4, len(samples)), replace=False)
        images = np.stack([resize_image(dataset.load_image(samples[i]), (120, 160)) for i in pick])
        masks = np.stack([resize_mask(dataset.load_mask(samples[i]), (120, 160)) for i in pick])
        logits = model(normalize_tf(torch.from_numpy(images)))
        loss = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(masks).long(), ignore_index=dataset.scheme.ignore_index
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), dataset.scheme


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--size", type=parse_size, default=(720, 1280), metavar="HxW")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="CPU threads of both backends (default: all)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (onnxruntime: with its CUDA provider)")
    p.add_argument("--images", metavar="DIR", help="real images for the mask agreement of both backends")
    p.add_argument("--limit", type=int, default=5, help="images from --images (default 5)")
    p.add_argument("--agreement-size", type=parse_size, default=(360, 480), metavar="HxW")
    p.add_argument("--train-root", metavar="DATASET", help="train the weights briefly on this data set")
    p.add_argument("--train-steps", type=int, default=80, help="steps of --train-root training (default 80)")
    p.add_argument(
        "--optimizations",
        nargs="+",
        choices=GRAPH_OPTIMIZATIONS,
        default=["all"],
        help="onnxruntime graph optimisation levels to measure; the first is reported as 'onnxruntime'",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = {name: measure(name, args, Path(tmp)) for name in args.models}
    device = torch.device(args.device)
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": args.threads or torch.get_num_threads(),
        "size": list(args.size),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "models": models,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
