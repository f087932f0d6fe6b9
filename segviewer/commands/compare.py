"""`segviewer compare`: per-class IoU of two trained models side by side, like the paper's Table 1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="per-class IoU of two checkpoints side by side",
        description="Evaluate two checkpoints (run folders, meaning their best.pt, or ONNX files from "
        "`segviewer export`) on a split of a data set "
        "and print one IoU column per model, with mIoU and pixel accuracy, in the style of the paper's "
        "Table 1. NaN marks a class absent from both ground truth and prediction.",
    )
    p.add_argument("a", metavar="A", help="first checkpoint, run folder or .onnx file")
    p.add_argument("b", metavar="B", help="second checkpoint, run folder or .onnx file")
    p.add_argument("root", metavar="ROOT", help="data set folder")
    p.add_argument(
        "--split", default=None, help="split to evaluate (default: test, or val when test has no masks)"
    )
    p.add_argument(
        "--format", choices=("markdown", "csv", "json"), default="markdown", help="(default: markdown)"
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segviewer.commands.progress import ProgressBar
    from segviewer.core.evaluation import (
        EvaluationError,
        compare_table,
        evaluate_split,
        labelled_samples,
        open_for_checkpoint,
        resolve_checkpoint,
    )
    from segviewer.core.models import MODEL_TITLES
    from segviewer.core.predict import load_predictor

    results = []
    dataset, split = None, args.split
    for given in (args.a, args.b):
        path = resolve_checkpoint(given)
        predictor = load_predictor(path, device=args.device)
        dataset = open_for_checkpoint(predictor, args.root)
        if split is None:
            try:
                labelled_samples(dataset, "test")
                split = "test"
            except EvaluationError:
                print(
                    f"segviewer: note: the 'test' split of {args.root} is missing or has no masks; "
                    "comparing on 'val' instead (choose with --split)",
                    file=sys.stderr,
                )
                split = "val"
        with ProgressBar(f"evaluating {_run_name(path)}") as bar:
            result = evaluate_split(predictor, dataset, split, progress=bar)
        for problem in result.skipped:
            print(f"segviewer: warning: skipped {problem}", file=sys.stderr)
        title = f"{MODEL_TITLES.get(predictor.model_name, predictor.model_name)} ({_run_name(path)})"
        results.append((title, result.metrics))
    print(compare_table(results, dataset.scheme, args.format))
    return 0


def _run_name(path: Path) -> str:
    """The run folder's name for best.pt/last.pt, else the file's stem."""
    path = Path(path)
    return path.parent.name if path.stem in ("best", "last") and path.parent.name else path.stem
