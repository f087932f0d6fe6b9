"""`segviewer predict`: masks for images with a trained checkpoint or an exported ONNX model.

For each input image <stem>.<ext> it writes <stem>.png (8-bit training ids at the image's size) into
--out, and with --colormap / --overlay also <stem>_color.png and <stem>_overlay.png (50% blend).
Unreadable inputs are reported and skipped (exit status 1); an input file is never overwritten.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict masks for images with a trained checkpoint or an ONNX model",
        description="Predict a mask for each image (files, or every image directly inside a folder) and save "
        "it as an 8-bit PNG of training ids at the image's original size.",
    )
    p.add_argument(
        "checkpoint",
        help="checkpoint file (best.pt), run folder, or ONNX file from `segviewer export` (needs onnxruntime)",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the predicted masks")
    p.add_argument(
        "--colormap", action="store_true", help="also write <stem>_color.png in the scheme's colours"
    )
    p.add_argument(
        "--overlay", action="store_true", help="also write <stem>_overlay.png (image and colours, 50%%)"
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    p.set_defaults(func=run)


def collect_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Image files from files and folders (non-recursive), and problems with the arguments."""
    from segviewer.core.datasets import list_images

    files: list[Path] = []
    problems: list[str] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = list_images(path)
            if not found:
                problems.append(f"{path}: no images directly inside this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: not found")
    return files, problems


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from segviewer.core.errors import UserError
    from segviewer.core.imageio import read_image, write_png
    from segviewer.core.predict import load_predictor

    files, problems = collect_inputs(args.inputs)
    if not files:
        raise UserError("; ".join(problems) or "no input images")
    predictor = load_predictor(args.checkpoint, device=args.device)
    out = Path(args.out).expanduser()
    inputs = {p.resolve() for p in files}
    used: dict[str, Path] = {}
    written = 0
    for path in files:
        targets = _targets(out, path.stem, args.colormap, args.overlay)
        clash = next((t for t in targets if t.resolve() in inputs), None)
        if clash is not None:
            problems.append(
                f"{path}: skipped, writing {clash} would overwrite an input; choose another --out"
            )
            continue
        if path.stem in used:
            problems.append(
                f"{path}: skipped, same name as {used[path.stem]} (both would write {targets[0].name})"
            )
            continue
        used[path.stem] = path
        try:
            image = read_image(path)
            mask, _ = predictor.predict(image)
            write_png(targets[0], mask)
            colours = predictor.scheme.colorize(mask) if (args.colormap or args.overlay) else None
            if args.colormap:
                write_png(targets[1], colours)
            if args.overlay:
                blend = (image.astype(np.uint16) + colours.astype(np.uint16)) // 2
                write_png(targets[-1], blend.astype(np.uint8))
        except UserError as exc:
            problems.append(str(exc))
            continue
        written += 1
    print(f"wrote {written} mask(s) to {out}")
    for problem in problems:
        print(f"segviewer: warning: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _targets(out: Path, stem: str, colormap: bool, overlay: bool) -> list[Path]:
    targets = [out / f"{stem}.png"]
    if colormap:
        targets.append(out / f"{stem}_color.png")
    if overlay:
        targets.append(out / f"{stem}_overlay.png")
    return targets
