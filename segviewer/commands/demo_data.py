"""`segviewer demo-data OUT`: write the built-in demo data set (procedural street scenes) to a folder."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from segviewer.core.errors import UserError

MAX_SIDE = 4096


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "demo-data",
        help="write the built-in demo data set (generated street scenes) to a folder",
        description="Generate procedural street scenes with masks of the 19 BDD100K training classes, in the "
        "BDD100K 10K layout (images/10k/{train,val,test}, labels/sem_seg/masks/{train,val}), split 70:15:15.",
        epilog="OUT must be new, empty, or a previous demo set (which is replaced); other folders are refused "
        "so your files are never overwritten. The same --seed gives the same pictures.",
    )
    p.add_argument("out", metavar="OUT", help="folder to write the data set into")
    p.add_argument("--count", type=int, default=300, help="number of samples (default: 300)")
    p.add_argument("--size", default="360x640", help="image size as HEIGHTxWIDTH (default: 360x640)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    """'360x640' -> (360, 640); anything else is a UserError that shows the expected form."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise UserError(f"--size '{text}': expected HEIGHTxWIDTH in pixels, for example 360x640")
    h, w = int(match.group(1)), int(match.group(2))
    if not (16 <= h <= MAX_SIDE and 16 <= w <= MAX_SIDE):
        raise UserError(f"--size '{text}': height and width must be between 16 and {MAX_SIDE} pixels")
    return h, w


def run(args: argparse.Namespace) -> int:
    from segviewer.commands.progress import ProgressBar
    from segviewer.core import demo

    size = parse_size(args.size)
    if args.count < 1:
        raise UserError(f"--count {args.count}: need at least 1 sample")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: use a seed of 0 or more")
    out = Path(args.out).expanduser()
    demo.check_writable_target(out)
    wanted = {"count": args.count, "size": list(size), "seed": args.seed, "version": demo.DEMO_VERSION}
    reused = demo.read_marker(out) == wanted
    started = time.perf_counter()
    with ProgressBar("generating demo scenes", args.count, unit="scenes") as bar:
        demo.ensure_demo(out, args.count, size, args.seed, progress=bar)
    counts = demo.split_counts(args.count)
    what = "is already there" if reused else f"written in {time.perf_counter() - started:.1f} s"
    print(
        f"Demo data set in {out} ({what}): {args.count} samples of {size[0]}x{size[1]}, seed {args.seed}; "
        f"train {counts['train']}, val {counts['val']}, test {counts['test']} (test has no masks)."
    )
    print(f"Open it with: segviewer gui {out}")
    return 0
