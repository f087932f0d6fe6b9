"""`segviewer review CHECKPOINT ROOT`: the labelled images whose masks a model most confidently disputes.

The score is explained in segviewer/core/review.py and the README ("Label review").
"""

from __future__ import annotations

import argparse
import json
import sys

from segviewer.core.training.config import LABELS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "review",
        help="rank labelled images by how confidently a model disagrees with their masks",
        description="Score every labelled image of a split by how confidently the model disagrees with its "
        "mask: a pixel is suspect when the model gives its labelled class less than that class's typical "
        "confidence and another class at least its own. Ignored pixels never count. Prints the most "
        "suspicious images first with their (given -> predicted) class pairs.",
        epilog="A model reviewing the split it was trained on has partly learnt its mistakes and scores "
        "them too low; review a split it was not trained on. Corrections saved beside the data set are "
        "used (--labels original reviews the data set's own masks).",
    )
    p.add_argument("checkpoint", help="checkpoint file (best.pt) or run folder")
    p.add_argument("root", help="data set folder")
    p.add_argument("--split", default="val", help="split to review (default: %(default)s)")
    p.add_argument("--top", type=int, default=20, help="images to list, 0 for all (default: %(default)s)")
    p.add_argument(
        "--labels",
        choices=LABELS,
        default="auto",
        help="masks to review: corrected (with saved corrections), original, or auto: corrected when "
        "corrections exist (default)",
    )
    p.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default: %(default)s)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segviewer.core.corrections import labels_note
    from segviewer.core.errors import UserError
    from segviewer.core.evaluation import open_for_checkpoint, resolve_checkpoint
    from segviewer.core.predict import Predictor
    from segviewer.core.review import review_split

    if args.top < 0 or args.batch_size < 1:
        raise UserError("--top takes 0 or more images and --batch-size at least 1")
    predictor = Predictor.from_checkpoint(resolve_checkpoint(args.checkpoint), device=args.device)
    dataset = open_for_checkpoint(predictor, args.root, labels=args.labels)
    note = labels_note(dataset, args.labels)
    if note:
        print(f"segviewer: {note}", file=sys.stderr)
    from segviewer.commands.progress import ProgressBar

    with ProgressBar("reviewing") as bar:
        result = review_split(predictor, dataset, args.split, batch_size=args.batch_size, progress=bar)
    for line in result.warnings + result.skipped:
        print(f"segviewer: warning: {line}", file=sys.stderr)
    shown = result.images[: args.top] if args.top else result.images
    if args.json:
        data = result.to_json()
        data["images"] = [im.to_json() for im in shown]
        data["labels"] = dataset.labels
        print(json.dumps(data, indent=2))
    else:
        print(format_table(shown, len(result.images), result.split))
    return 0


def format_table(images, total: int, split: str) -> str:
    lines = [
        f"{len(images)} of {total} '{split}' images, most suspicious first "
        "(score: confidence-weighted share of suspect pixels)",
        f"{'score':>7} {'suspect px':>10}  {'sample':<24} top pairs (given -> predicted: pixels)",
    ]
    for im in images:
        pairs = ", ".join(f"{g} -> {p}: {n}" for g, p, n in im.pairs[:3]) or "-"
        lines.append(f"{im.score:>7.4f} {im.suspect_pixels:>10}  {im.sample:<24} {pairs}")
    return "\n".join(lines)
