"""One training recipe on a data set, on a fixed budget, scored as the trainer scores it.

A compact training loop built from the project's own pieces (pipeline loaders and decode cache,
models, losses, ConfusionMatrix validation exactly as core/trainer.py does it), with every lever of
the recipe as a flag, so that recipes can be compared on the same budget of epochs and FLOPs before
one becomes the default. Prints one JSON object: best validation mIoU, the per-class IoU at that epoch,
the lowest IoU over the classes present in the validation split, the epoch of the best, the model's
training GFLOPs per image (3x the forward at the size it trains on), and the seconds taken.

    segviewer demo-data /tmp/demo
    .venv/bin/python benchmarks/recipe_search.py /tmp/demo                      # today's default
    .venv/bin/python benchmarks/recipe_search.py /tmp/demo --optimizer adamw --lr-schedule onecycle \\
        --lr 4e-3 --loss ce+ohem --input-size 176x320 --train-crop 128x224
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def size_arg(text: str) -> tuple[int, int]:
    h, w = text.lower().split("x")
    return int(h), int(w)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="data set folder (e.g. from `segviewer demo-data`)")
    p.add_argument("--model", default="ulite")
    p.add_argument("--widths", default=None, help="comma-separated model widths, e.g. 16,32,48,96,160")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-schedule", choices=("cosine", "onecycle", "constant"), default="cosine")
    p.add_argument("--warmup", type=float, default=0.1, help="onecycle: fraction of the run warming up")
    p.add_argument("--optimizer", choices=("adam", "adamw"), default="adam")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--loss", default="ce")
    p.add_argument("--class-weights", choices=("none", "median", "sqrt"), default="none")
    p.add_argument("--input-size", type=size_arg, default=(128, 224))
    p.add_argument("--train-crop", type=size_arg, default=None, help="random HxW crops of the input")
    p.add_argument("--augment", default=None, help="augmentation preset name")
    p.add_argument("--patience", type=int, default=5, help="0 = never stop early (the trainer's default: 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--cache-dir", default=None, help="decode cache folder (default: the project's)")
    p.add_argument("--max-batches", type=int, default=None, help="smoke test: batches per epoch")
    return p.parse_args(argv)


def class_weights(train_set, num_classes: int) -> list[float]:
    from segviewer.core.pipeline import median_frequency_weights

    counts, present_in = np.zeros(num_classes, np.int64), np.zeros(num_classes, np.int64)
    for sample in train_set.samples:
        mask = train_set.load_resized(sample)[..., 3]
        hist = np.bincount(mask.ravel(), minlength=256)[:num_classes]
        counts += hist
        present_in += (hist > 0) * mask.size
    return median_frequency_weights(counts, present_in).tolist()


def validate(model, loader, scheme, channels_last: bool):
    from segviewer.core.metrics import ConfusionMatrix
    from segviewer.core.pipeline import normalize_tf

    model.eval()
    cm = ConfusionMatrix(scheme.num_classes, scheme.ignore_index)
    with torch.inference_mode():
        for imgs, masks, _ in loader:
            if imgs is None:
                continue
            logits = model(normalize_tf(imgs, channels_last))
            cm.update(masks.numpy(), logits.argmax(1).to(torch.uint8).numpy())
    return cm.compute()


def run(args: argparse.Namespace) -> dict:
    from segviewer.core import paths
    from segviewer.core.datasets import open_dataset
    from segviewer.core.devices import set_threads
    from segviewer.core.losses import build_criterion, loss_weights
    from segviewer.core.models import build_model, count_parameters, gflops
    from segviewer.core.pipeline import SegmentationSet, build_loader, normalize_tf, split_for_training
    from segviewer.core.training.schedule import learning_rate

    t_start = time.perf_counter()
    threads = set_threads(args.threads)
    dataset = open_dataset(args.data)
    scheme = dataset.scheme
    train_samples, val_samples, _ = split_for_training(dataset, seed=args.seed)
    cache = Path(args.cache_dir) if args.cache_dir else paths.decoded_cache_dir()
    augmenter = None
    if args.augment:
        from segviewer.core.augment import Augmenter, load_preset

        augmenter = Augmenter(load_preset(args.augment), scheme.ignore_index)
    train_set = SegmentationSet(dataset, train_samples, args.input_size, cache, augmenter, args.train_crop)
    val_set = SegmentationSet(dataset, val_samples, args.input_size, cache)
    train_loader = build_loader(train_set, args.batch_size, True, args.seed, args.workers)
    val_loader = build_loader(val_set, args.batch_size, False, args.seed, args.workers)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed % 2**32)
    options = {"widths": [int(w) for w in args.widths.split(",")]} if args.widths else {}
    model = build_model(args.model, scheme.num_classes, **options).to(memory_format=torch.channels_last)
    train_h, train_w = args.train_crop or args.input_size
    train_gflops = 3 * gflops(model, train_h, train_w)
    opt_cls = torch.optim.AdamW if args.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    weights = loss_weights(class_weights(train_set, scheme.num_classes), args.class_weights)
    weight = torch.tensor(weights) if weights is not None else None
    criterion = build_criterion(args.loss, weight, scheme.ignore_index)

    steps = len(train_loader) if args.max_batches is None else min(len(train_loader), args.max_batches)
    history, best, since_best = [], None, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loader.sampler.set_epoch(epoch)
        loss_sum, batches = 0.0, 0
        for step, (imgs, masks, _) in enumerate(train_loader, 1):
            if step > steps:
                break
            if imgs is None or not bool((masks != scheme.ignore_index).any()):
                continue
            progress, fraction = (epoch - 1 + (step - 1) / steps) / args.epochs, 1 / (steps * args.epochs)
            lr = learning_rate(args.lr_schedule, args.lr, progress, fraction, args.warmup)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(normalize_tf(imgs, True)).float(), masks.long())
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach())
            batches += 1
        metrics = validate(model, val_loader, scheme, True)
        history.append({"epoch": epoch, "loss": round(loss_sum / max(1, batches), 4), "miou": metrics.miou})
        print(json.dumps(history[-1]), file=sys.stderr, flush=True)
        if best is None or metrics.miou > best[1].miou:
            best, since_best = (epoch, metrics), 0
        else:
            since_best += 1
            if args.patience and since_best >= args.patience:
                break
    epoch, metrics = best
    present = metrics.class_pixels > 0
    ious = np.nan_to_num(metrics.per_class_iou, nan=0.0)  # NaN: predicted but absent from val
    per_class = {  # null: absent from the validation split
        c.name: round(float(ious[i]), 3) if present[i] else None for i, c in enumerate(scheme.classes)
    }
    return {
        "recipe": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()},
        "best_val_miou": round(float(metrics.miou), 4),
        "min_iou_present": round(float(ious[present].min()), 4),
        "classes_below_0.2": [
            n for (n, v), p in zip(per_class.items(), present, strict=True) if p and v < 0.2
        ],
        "best_epoch": epoch,
        "epochs_run": len(history),
        "per_class_iou": per_class,
        "history": [h | {"miou": round(float(h["miou"]), 4)} for h in history],
        "train_gflops_per_image": round(train_gflops, 3),
        "parameters": count_parameters(model),
        "threads": threads,
        "seconds": round(time.perf_counter() - t_start, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(parse_args())))
