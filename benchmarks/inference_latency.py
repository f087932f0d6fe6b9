"""Inference latency per image with each backend, PyTorch and onnxruntime, side by side.

For each model a checkpoint of freshly initialised weights is made at the measured size (default
720x1280, a BDD100K frame) and exported to ONNX (static, as `segviewer export` does by default).
Both backends then predict the same random 1280x720 image through `Predictor.predict`, the call the
CLI and the viewer make (normalisation, forward, softmax and argmax included), batch 1, after
`--warmup` untimed calls. With `--images DIR`, the masks of both backends are also compared on up to
`--limit` real images (a dynamic export, input size `--agreement-size`), after making the weights
predict more than one class. Prints one JSON object:
{"device", "threads", "size", "torch", "onnxruntime",
 "models": {name: {"gflops", "torch": {"ms_median", "ms_min"}, "onnxruntime": {"ms_median", "ms_min",
 "export_s"}, "onnxruntime_speedup", "mask_agreement"?}}}

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
from segviewer.core.datasets import list_images  # noqa: E402
from segviewer.core.imageio import read_image  # noqa: E402
from segviewer.core.labels import get_scheme  # noqa: E402
from segviewer.core.models import MODELS, build_model, gflops  # noqa: E402
from segviewer.core.onnx_export import export_onnx  # noqa: E402
from segviewer.core.pipeline import normalize_tf, resize_image  # noqa: E402
from segviewer.core.predict import Predictor  # noqa: E402

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
    onnx_predictor = Predictor.from_onnx(model_file, args.device, args.threads)
    result["onnxruntime"] = timed(onnx_predictor, image, args) | {"export_s": round(export_s, 1)}
    result["onnxruntime_speedup"] = round(
        result["torch"]["ms_median"] / result["onnxruntime"]["ms_median"], 2
    )
    if args.images:
        result["mask_agreement"] = agreement(name, args, folder)
    return result


def agreement(name: str, args: argparse.Namespace, folder: Path) -> float:
    """Share of equal mask pixels of both backends on real images, with weights that vary by pixel."""
    torch.manual_seed(1)
    model = build_model(name, SCHEME.num_classes)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # running statistics = the average over the passes below
    images = [read_image(p) for p in list_images(Path(args.images))[: args.limit]]
    h, w = args.agreement_size
    with torch.no_grad():
        batch = np.stack([resize_image(im, (h, w)) for im in images[:2]])
        model.train()(normalize_tf(torch.from_numpy(batch)))
        model.classifier.bias.zero_()  # freshly initialised, one class would win everywhere
        model.classifier.weight.normal_(0.0, 1.0)
    ckpt = save_checkpoint(folder / f"{name}-real.pt", make_checkpoint(model.eval(), SCHEME, (h, w), 0, None))
    model_file = export_onnx(ckpt, folder / f"{name}-real.onnx", dynamic=True)
    torch_predictor = Predictor.from_checkpoint(ckpt, args.device, args.threads)
    onnx_predictor = Predictor.from_onnx(model_file, args.device, args.threads)
    equal = total = 0
    for image in images:
        a, b = torch_predictor.predict(image)[0], onnx_predictor.predict(image)[0]
        equal, total = equal + int((a == b).sum()), total + a.size
    return round(equal / total, 6)


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
