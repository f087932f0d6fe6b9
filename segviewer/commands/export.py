"""`segviewer export`: a checkpoint as one ONNX file that carries its own classes, colours and input size.

The file alone is enough to predict (`segviewer predict MODEL.onnx ...`, the viewer's Model > Load).
The checkpoint is only read; --out must be a new name or an earlier export, never the checkpoint.
"""

from __future__ import annotations

import argparse

from segviewer.commands.train import parse_size


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a checkpoint to ONNX (predict without PyTorch's model code)",
        description="Write the checkpoint's model as an ONNX file with its metadata (model, classes, colours, "
        "input size, normalisation) in the ONNX metadata properties. Predicting from it needs onnxruntime "
        "(pip install 'segviewer[onnx]').",
    )
    p.add_argument("checkpoint", help="checkpoint file (best.pt) or run folder")
    p.add_argument("--out", required=True, metavar="MODEL.onnx", help="the ONNX file to write")
    p.add_argument(
        "--input-size",
        type=parse_size,
        metavar="HxW",
        help="size images are resized to before the model (default: the checkpoint's training size)",
    )
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="accept any batch size and any height and width that are multiples of the model's stride "
        "(8 to 32); predictors pad to it. Without it the model takes one image of --input-size",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segviewer.core.evaluation import resolve_checkpoint
    from segviewer.core.onnx_export import export_onnx

    out = export_onnx(resolve_checkpoint(args.checkpoint), args.out, args.input_size, args.dynamic)
    size_mb = out.stat().st_size / 2**20
    print(f"wrote {out} ({size_mb:.1f} MB{', dynamic batch and size' if args.dynamic else ''})")
    return 0
