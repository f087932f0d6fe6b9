"""`segviewer gui [ROOT] [--scheme S] [--model FILE]`: the desktop application (also what a bare `segviewer` runs)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "root",
        nargs="?",
        type=Path,
        help="data set folder, image or video file to open (default: the built-in demo data set)",
    )
    parser.add_argument(
        "--scheme",
        help="label scheme of a plain folder: bdd100k, bdd100k-full, cityscapes, camvid or a JSON scheme file",
    )
    parser.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="a checkpoint (.pt, or a run folder) or an ONNX model to predict with, as Model › Load does",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop application (the default when no command is given)",
        description="Open the desktop application on a data set, or on the built-in demo data set.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the arguments before Qt starts, so a typo is a one-line error rather than a dialog."""
    from segviewer.core.datasets import DatasetError
    from segviewer.core.labels import get_scheme

    if args.scheme:
        get_scheme(args.scheme)  # raises LabelError naming the scheme and the choices
    if args.root is not None:
        root = Path(args.root).expanduser()
        if not root.exists():
            raise DatasetError(f"{root}: folder not found; give the folder that holds the data set")
        if not root.is_dir():
            from segviewer.core.imageio import IMAGE_SUFFIXES
            from segviewer.core.video import is_video

            if not (is_video(root) or root.suffix.lower() in IMAGE_SUFFIXES):
                raise DatasetError(
                    f"{root}: is a file segviewer does not open; give a data set's folder, an image or a video"
                )
    if args.model is not None and not Path(args.model).expanduser().exists():
        raise DatasetError(
            f"{args.model}: model file not found; give a checkpoint (.pt), a run folder or an .onnx file"
        )
    from segviewer.gui.app import run as run_app

    return run_app(args.root, args.scheme, model=args.model)
