"""Scoring one or two checkpoints on a data set split for the evaluation pane (Qt-free).

`evaluate_checkpoints` loads each checkpoint, checks it fits the data set's classes and runs
`evaluation.evaluate_split`, reporting progress over all models together; the GUI runs it on a
worker thread and turns `should_stop` into its Cancel button.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segviewer.core import model_registry, paths


@dataclass
class ModelEvaluation:
    """One checkpoint's results on the split, with what the pane needs to label them."""

    checkpoint: Path
    title: str  # e.g. "U-Lite · ulite-20250101-120000"
    model_name: str
    result: Any  # segviewer.core.evaluation.EvaluationResult
    scheme: Any  # LabelScheme of the training ids


def model_title(model_name: str, checkpoint: Path) -> str:
    """A readable name: the model family and the run folder (or file name) it came from."""
    family = model_registry.model_title(model_name)
    source = checkpoint.parent.name if checkpoint.name in ("best.pt", "last.pt") else checkpoint.stem
    return f"{family} · {source}" if source else family


def failure_message(exc: BaseException) -> str:
    from segviewer.core.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    return f"Evaluation stopped by an unexpected error: {type(exc).__name__}: {exc}"


def evaluate_checkpoints(
    checkpoints: list[Path],
    dataset: Any,
    split: str,
    device: str,
    progress: Callable[[int, int], None],
    should_stop: Callable[[], bool],
) -> list[ModelEvaluation] | None:
    """Each checkpoint (a file, or a run folder meaning its best.pt) scored on `split`; None if stopped.

    `progress(done, total)` counts images over all models.
    """
    from segviewer.core.checkpoint import check_compatible
    from segviewer.core.evaluation import evaluate_split, labelled_samples, resolve_checkpoint
    from segviewer.core.predict import load_predictor

    per_model = len(labelled_samples(dataset, split))  # a clear error before loading models
    total = per_model * len(checkpoints)
    threads = max(1, paths.usable_cores() - 1)  # leave a core to the UI
    results = []
    for index, checkpoint in enumerate(checkpoints):
        if should_stop():
            return None
        path = resolve_checkpoint(checkpoint)
        predictor = load_predictor(path, device=device, threads=threads)  # .pt or .onnx
        check_compatible(predictor.meta, dataset.scheme)
        offset = index * per_model
        result = evaluate_split(
            predictor, dataset, split, lambda done, _t, o=offset: progress(o + done, total), should_stop
        )
        if result.stopped or should_stop():
            return None
        title = model_title(predictor.model_name, path)
        results.append(ModelEvaluation(path, title, predictor.model_name, result, dataset.scheme))
    return results
