"""`segviewer export-corrections ROOT OUT`: the corrected masks in the data set's own format, for use elsewhere."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export-corrections",
        help="write a data set's corrected masks in its own format",
        description="Write every corrected mask of ROOT into OUT/<split>/, named like the data set's mask "
        "files and stored as they are (training ids, palette PNGs for BDD100K colormaps, the scheme's ids "
        "or colours). Only corrected samples are written; the data set itself is never changed.",
    )
    p.add_argument("root", metavar="ROOT", help="the data set's folder")
    p.add_argument("out", metavar="OUT", help="a new or empty folder")
    p.add_argument("--scheme", metavar="NAME|JSON", help="label scheme of a plain images/ + masks/ folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segviewer.core.corrections import export_corrections
    from segviewer.core.datasets import open_dataset

    dataset = open_dataset(args.root, args.scheme, labels="corrected")
    written = export_corrections(dataset, args.out)
    print(f"wrote {len(written)} corrected mask(s) ({dataset.mask_kind}) to {args.out}")
    return 0
