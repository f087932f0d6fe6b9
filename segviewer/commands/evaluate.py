"""`segviewer evaluate`: per-class IoU of predictions against ground truth.

Two forms:

* ``segviewer evaluate --gt DIR --pred DIR``: compare mask files paired by name (file stem).
* ``segviewer evaluate CHECKPOINT ROOT [--split val]``: let a trained model predict a data set split.

Both print the same table, or with ``--json`` the JSON of `segviewer.core.metrics.metrics_to_json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from segviewer.core.errors import UserError
from segviewer.core.training.config import LABELS

MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="per-class IoU of predicted masks or of a trained model",
        description="Compare predicted masks with ground truth (--gt DIR --pred DIR), or evaluate a trained "
        "checkpoint on a data set split (CHECKPOINT ROOT). Prints per-class IoU and accuracy, mean IoU, "
        "pixel accuracy and frequency-weighted IoU.",
        epilog="Mask files pair by name (road.png with road.png). They may be 8-bit id PNGs, palette PNGs "
        "or colour PNGs of the scheme. For mapped schemes (cityscapes, bdd100k-full) 8-bit values are the "
        "scheme's ids and are mapped to its training ids. A missing prediction counts as all wrong.",
    )
    p.add_argument(
        "checkpoint", nargs="?", help="trained model checkpoint, run folder or .onnx file (form 2)"
    )
    p.add_argument("root", nargs="?", help="data set folder to predict (form 2)")
    p.add_argument("--split", default=None, help="data set split for form 2 (default: val)")
    p.add_argument("--gt", metavar="DIR", help="folder of ground-truth masks (form 1)")
    p.add_argument("--pred", metavar="DIR", help="folder of predicted masks, same file names (form 1)")
    p.add_argument(
        "--scheme",
        default=None,
        help="label scheme name or JSON file of the masks (form 1; default: bdd100k)",
    )
    p.add_argument(
        "--convention",
        choices=("default", "bdd100k"),
        default=None,
        help="metric conventions (form 1): 'default' (NaN for absent classes, accuracy = recall) or "
        "'bdd100k' (the official BDD100K toolkit's numbers)",
    )
    p.add_argument(
        "--labels",
        choices=LABELS,
        default=None,
        help="form 2: ground truth with saved corrections (corrected), the data set's own masks "
        "(original), or auto: corrected when corrections exist (default)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


USAGE = (
    "use either `segviewer evaluate --gt DIR --pred DIR [--scheme S] [--convention C]` or "
    "`segviewer evaluate CHECKPOINT ROOT [--split val]`"
)


def run(args: argparse.Namespace) -> int:
    folders = args.gt is not None or args.pred is not None
    positional = args.checkpoint is not None or args.root is not None
    if folders and positional:
        raise UserError(f"give folders or a checkpoint, not both; {USAGE}")
    if folders:
        if args.gt is None or args.pred is None:
            raise UserError(f"--gt and --pred go together; {USAGE}")
        if args.split is not None:
            raise UserError(
                "--split applies to the CHECKPOINT ROOT form; with --gt/--pred the folders are the split"
            )
        if args.labels is not None:
            raise UserError(
                "--labels applies to the CHECKPOINT ROOT form; with --gt/--pred the folders are the labels"
            )
        return _run_folders(args)
    if args.checkpoint is not None and args.root is not None:
        return _run_checkpoint(args)
    if args.checkpoint is not None:
        raise UserError(f"missing the data set folder after the checkpoint; {USAGE}")
    raise UserError(f"nothing to evaluate; {USAGE}")


def _run_folders(args: argparse.Namespace) -> int:
    from segviewer.commands.progress import ProgressBar
    from segviewer.core.evaluation import MaskPair, evaluate_mask_pairs
    from segviewer.core.labels import get_scheme

    scheme = get_scheme(args.scheme or "bdd100k")
    gt_dir, pred_dir = _folder(args.gt, "--gt"), _folder(args.pred, "--pred")
    gt_files, pred_files = _mask_files(gt_dir), _mask_files(pred_dir)
    if not gt_files:
        raise UserError(
            f"{gt_dir}: no mask files ({', '.join(MASK_SUFFIXES)}); point --gt at the folder holding them"
        )
    matched = [stem for stem in gt_files if stem in pred_files]
    if not matched:
        example = next(iter(gt_files.values())).name
        raise UserError(
            f"{pred_dir}: no prediction has the name of a ground-truth mask in {gt_dir} (e.g. {example}); "
            "name each prediction like its ground truth"
        )
    orphans = sorted(pred_files[s].name for s in pred_files if s not in gt_files)
    if orphans:
        _warn(
            f"{len(orphans)} prediction(s) in {pred_dir} have no ground truth and are skipped: {_names(orphans)}"
        )
    pairs = [MaskPair(gt_path, pred_files.get(stem)) for stem, gt_path in gt_files.items()]
    with ProgressBar("evaluating", len(pairs), unit="pairs") as bar:
        cm = evaluate_mask_pairs(pairs, scheme, progress=bar)
    missing = [pair.gt.name for pair in pairs if pair.pred is None]
    if missing:
        _warn(
            f"{len(missing)} ground-truth mask(s) have no prediction and count as all wrong: {_names(missing)}"
        )
    _print(cm.compute(args.convention or "default"), scheme, missing, args.json)
    return 0


def _run_checkpoint(args: argparse.Namespace) -> int:
    if args.scheme is not None or args.convention is not None:
        raise UserError(
            "--scheme and --convention apply to --gt/--pred; a checkpoint knows its own label scheme"
        )
    try:
        from segviewer.core.evaluation import evaluate_checkpoint
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("segviewer"):
            raise UserError("evaluating a checkpoint needs the training module") from None
        raise
    from segviewer.commands.progress import ProgressBar

    with ProgressBar("evaluating") as bar:
        metrics, scheme, extra = evaluate_checkpoint(
            args.checkpoint, args.root, args.split or "val", progress=bar, labels=args.labels or "auto"
        )
    if isinstance(extra, dict) and extra.get("labels_note"):
        print(f"segviewer: {extra['labels_note']}", file=sys.stderr)
    missing = list(extra.get("missing_predictions", [])) if isinstance(extra, dict) else []
    _print(metrics, scheme, missing, args.json)
    return 0


def _print(metrics, scheme, missing: list[str], as_json: bool) -> None:
    from segviewer.core.metrics import format_table, metrics_to_json

    if as_json:
        print(json.dumps(metrics_to_json(metrics, scheme, missing), indent=2))
    else:
        print(format_table(metrics, scheme))
        if missing:
            print(f"missing predictions (counted as wrong): {len(missing)}")


def _folder(value: str, option: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        what = "is a file" if path.exists() else "folder not found"
        raise UserError(f"{path}: {what}; {option} takes a folder of masks")
    return path


def _mask_files(folder: Path) -> dict[str, Path]:
    """Mask files directly in `folder` by stem; two files with one stem would pair ambiguously."""
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in MASK_SUFFIXES or not path.is_file():
            continue
        if path.stem in files:
            raise UserError(
                f"{path}: same name as {files[path.stem].name}; keep one mask per name in {folder}"
            )
        files[path.stem] = path
    return files


def _names(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _warn(message: str) -> None:
    print(f"segviewer: warning: {message}", file=sys.stderr)
