"""`segviewer models`: the networks segviewer can train, with their size and cost per 360x640 image."""

from __future__ import annotations

import argparse
import json

from segviewer.core.errors import UserError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "models",
        help="list the models with parameter counts and GFLOPs",
        description="List the segmentation models segviewer trains (all from scratch) with their parameter "
        "count and forward GFLOPs for one 360x640 image (the paper's input size; 1 multiply-add = 2 FLOPs). "
        "Nothing is allocated or downloaded, so this is instant.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument(
        "--classes",
        type=int,
        default=19,
        metavar="N",
        help="number of classes the classifier layer outputs (default 19, the BDD100K/Cityscapes train classes)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from segviewer.core.models import MODELS, model_summary

    if args.classes < 1:
        raise UserError(f"--classes must be at least 1, got {args.classes}")
    rows = [model_summary(name, args.classes) for name in MODELS]
    print(json.dumps(rows, indent=2) if args.json else format_table(rows, args.classes))
    return 0


def format_table(rows: list[dict], num_classes: int) -> str:
    header = ("name", "title", "parameters", "GFLOPs/360x640")
    cells = [
        (r["name"], r["title"], f"{r['parameters'] / 1e6:.2f} M", f"{r['gflops_360x640']:.1f}") for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    lines = []
    for row in (header, *cells):
        left = [c.ljust(w) for c, w in zip(row[:2], widths[:2], strict=True)]
        right = [c.rjust(w) for c, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(left + right).rstrip())
    lines.append(f"({num_classes} classes; train one with: segviewer train ROOT --model NAME)")
    return "\n".join(lines)
