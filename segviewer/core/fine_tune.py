"""Retraining on corrections: a new run that starts from a checkpoint's weights on the corrected labels.

What the training pane's 'Fine-tune from this checkpoint on the corrected labels' and
`segviewer train ROOT --init-from CHECKPOINT --labels corrected --lr LR` both mean: the checkpoint's
own run settings, its weights (`init_from`) with a fresh optimiser, a learning rate ten times lower, and
a new run folder, whose config.json then records the corrections used.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from segviewer.core.errors import UserError
from segviewer.core.training.config import TrainConfig
from segviewer.core.training.run_folder import RunFolder

LR_FACTOR = 0.1  # small steps: keep what the model learnt, move it towards the corrected masks


def fine_tune_config(
    checkpoint: str | Path, root: str | Path | None = None, out: str | None = None
) -> TrainConfig:
    """The config of a fine-tuning run from `checkpoint` (a .pt file or a run folder) on `root`'s corrections.

    The settings come from the run folder's config.json; `root` defaults to the data set it trained on,
    `out` to a new run folder.
    """
    path = Path(checkpoint).expanduser()
    folder = path if path.is_dir() else path.parent
    config, broken = RunFolder(folder, writes=False).read_config()
    if not config:
        why = "cannot be read" if broken else "is missing"
        raise UserError(
            f"{folder / 'config.json'}: {why}, so the run's settings are unknown; fine-tune with "
            f"`segviewer train ROOT --init-from {path} --labels corrected --lr LR`"
        )
    cfg = TrainConfig.from_json(config)
    return replace(
        cfg,
        root=str(root) if root is not None else cfg.root,
        init_from=str(path),
        labels="corrected",
        lr=cfg.lr * LR_FACTOR,
        resume=False,
        out=out,
    )
