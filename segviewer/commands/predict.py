"""`segviewer predict`: masks for images and videos with a trained checkpoint or an exported ONNX model.

For each input image <stem>.<ext> it writes <stem>.png (8-bit training ids at the image's size) into
--out, and with --colormap / --overlay also <stem>_color.png and <stem>_overlay.png (50% blend).
A video input <stem>.mp4 gives the same per frame (<stem>_000042.png, ...), or with --video the overlay
(and with --colormap the colour) as videos: <stem>_overlay.mp4, <stem>_color.mp4. Video frames are
decoded ahead and predicted in a pipeline (`segviewer.core.playback`); a frame that fails to decode is
skipped and counted. Unreadable inputs are reported and skipped (exit status 1); an input file is
never overwritten. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segviewer.commands.progress import ProgressBar


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict masks for images or videos with a trained checkpoint or an ONNX model",
        description="Predict a mask for each image (files, or every image directly inside a folder) and save "
        "it as an 8-bit PNG of training ids at the image's original size. Video files (.mp4, .avi, .mov, "
        "...) are predicted frame by frame; with --video the overlay is written as a video.",
    )
    p.add_argument(
        "checkpoint",
        help="checkpoint file (best.pt), run folder, or ONNX file from `segviewer export` (needs onnxruntime)",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images, video files")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the predicted masks")
    p.add_argument(
        "--colormap", action="store_true", help="also write <stem>_color.png in the scheme's colours"
    )
    p.add_argument(
        "--overlay", action="store_true", help="also write <stem>_overlay.png (image and colours, 50%%)"
    )
    p.add_argument(
        "--video",
        action="store_true",
        help="for video inputs, write <stem>_overlay.mp4 (and with --colormap <stem>_color.mp4) instead of "
        "one PNG per frame",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    p.set_defaults(func=run)


def collect_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Image and video files from files and folders (non-recursive), and problems with the arguments."""
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
    from segviewer.core.errors import UserError
    from segviewer.core.predict import load_predictor
    from segviewer.core.video import is_video

    files, problems = collect_inputs(args.inputs)
    if not files:
        raise UserError("; ".join(problems) or "no input images")
    videos = [p for p in files if is_video(p)]
    images = [p for p in files if not is_video(p)]
    if args.video and not videos:
        raise UserError("--video applies to video inputs (.mp4, .avi, .mov, ...); none was given")
    predictor = load_predictor(args.checkpoint, device=args.device)
    out = Path(args.out).expanduser()
    inputs = {p.resolve() for p in files}
    used: dict[str, Path] = {}
    written = 0
    if images:
        with ProgressBar("predicting", len(images)) as bar:
            for done, path in enumerate(images, 1):
                written += _predict_image(predictor, path, out, args, inputs, used, problems)
                bar(done)
    for path in videos:
        written += _predict_video(predictor, path, out, args, inputs, used, problems)
    print(f"wrote {written} {'file' if args.video else 'mask'}(s) to {out}")
    for problem in problems:
        print(f"segviewer: warning: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _claim(path: Path, stem: str, targets: list[Path], inputs: set, used: dict, problems: list) -> bool:
    """Whether `targets` may be written: none is an input, and no other input wrote the same names."""
    clash = next((t for t in targets if t.resolve() in inputs), None)
    if clash is not None:
        problems.append(f"{path}: skipped, writing {clash} would overwrite an input; choose another --out")
        return False
    if stem in used:
        problems.append(f"{path}: skipped, same name as {used[stem]} (both would write {targets[0].name})")
        return False
    used[stem] = path
    return True


def _predict_image(predictor, path: Path, out: Path, args, inputs: set, used: dict, problems: list) -> int:
    from segviewer.core.errors import UserError
    from segviewer.core.imageio import read_image

    targets = _targets(out, path.stem, args.colormap, args.overlay)
    if not _claim(path, path.stem, targets, inputs, used, problems):
        return 0
    try:
        image = read_image(path)
        mask, _ = predictor.predict(image)
        _write_outputs(predictor, image, mask, targets, args)
    except UserError as exc:
        problems.append(str(exc))
        return 0
    return 1


def _predict_video(predictor, path: Path, out: Path, args, inputs: set, used: dict, problems: list) -> int:
    """Predict every frame of one video; returns the number of files written."""
    from segviewer.core.errors import UserError
    from segviewer.core.playback import export_video
    from segviewer.core.video import VideoFile

    try:
        source = VideoFile(path)
    except UserError as exc:
        problems.append(str(exc))
        return 0
    if args.video:
        kinds = ["overlay"] if args.overlay or not args.colormap else []
        kinds += ["color"] if args.colormap else []
        targets = [out / f"{path.stem}_{kind}.mp4" for kind in kinds]
    else:
        targets = _targets(out, f"{path.stem}_000000", args.colormap, args.overlay)
    if not _claim(path, path.stem, targets, inputs, used, problems):
        return 0

    def predict(frame):
        return predictor.predict(frame)[0]

    with ProgressBar(f"predicting {path.name}", len(source), unit="frames") as bar:
        if args.video:
            outputs = dict(zip(kinds, targets, strict=True))
            stats = export_video(source, predict, predictor.scheme.colorize, outputs, progress=bar)
            written = len(outputs)
        else:
            stats, written = _frames_as_pngs(source, predict, predictor, path, out, args, bar)
    if stats.skipped:
        problems.append(
            f"{path}: {stats.skipped} frame(s) could not be decoded and were skipped ({stats.errors[0]})"
        )
    elif stats.errors:
        problems.append(f"{path}: {stats.errors[0]}")
    return written


def _frames_as_pngs(source, predict, predictor, path: Path, out: Path, args, bar):
    """Every frame's mask (and colours, overlay) as PNGs named <stem>_<frame>.png; (stats, count)."""
    from segviewer.core.playback import Playback

    written = 0
    with Playback(source, predict, realtime=False) as playback:
        while not playback.finished:
            played = playback.wait(timeout=0.5)
            if played is None:
                continue
            stem = f"{path.stem}_{played.index:06d}"
            _write_outputs(
                predictor, played.image, played.mask, _targets(out, stem, args.colormap, args.overlay), args
            )
            written += 1
            bar(played.index + 1)
        return playback.stats(), written


def _write_outputs(predictor, image, mask, targets: list[Path], args) -> None:
    from segviewer.core.imageio import write_png
    from segviewer.core.playback import overlay

    write_png(targets[0], mask)
    colours = predictor.scheme.colorize(mask) if (args.colormap or args.overlay) else None
    if args.colormap:
        write_png(targets[1], colours)
    if args.overlay:
        write_png(targets[-1], overlay(image, colours))


def _targets(out: Path, stem: str, colormap: bool, overlay: bool) -> list[Path]:
    targets = [out / f"{stem}.png"]
    if colormap:
        targets.append(out / f"{stem}_color.png")
    if overlay:
        targets.append(out / f"{stem}_overlay.png")
    return targets
