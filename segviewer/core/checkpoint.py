"""Checkpoints and the other files of a run folder, all written atomically.

A checkpoint is a plain dict saved with torch.save and loaded with `weights_only=True`, never as a
full pickle. It carries what is needed to use it without the run folder: the model's name and
options, the label scheme of its training ids, the input size and the normalisation. The run folder
that holds last.pt and best.pt is core/training/run_folder.py's. Version 1 is the only format so far;
a distributed run writes the same dicts (no `module.` prefixes).
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from segviewer.core.atomic import atomic_write as _atomic_write
from segviewer.core.errors import UserError
from segviewer.core.labels import BUILTIN_SCHEMES, LabelClass, LabelScheme

FORMAT = "segviewer-checkpoint"
VERSION = 1


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, foreign or incompatible."""


def make_checkpoint(
    model: torch.nn.Module,
    scheme: LabelScheme,
    input_size: tuple[int, int],
    epoch: int,
    val_miou: float | None,
    optimizer: torch.optim.Optimizer | None = None,
    train_state: dict | None = None,
    config: dict | None = None,
) -> dict:
    """The checkpoint dict for `model` (weights copied to the CPU so the file loads anywhere)."""
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    ckpt: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model": getattr(model, "name", type(model).__name__.lower()),
        "model_options": dict(getattr(model, "options", {}) or {}),
        "num_classes": scheme.num_classes,
        "scheme": scheme.to_json(),
        "input_size": [int(input_size[0]), int(input_size[1])],
        "normalization": "tf",
        "epoch": int(epoch),
        "val_miou": None if val_miou is None else float(val_miou),
        "state_dict": state,
    }
    if optimizer is not None:
        ckpt["optimizer"] = optimizer.state_dict()
    if train_state is not None:
        ckpt["train_state"] = train_state
    if config is not None:
        ckpt["config"] = config
    return ckpt


def save_checkpoint(path: str | Path, checkpoint: dict) -> Path:
    """Write atomically; the previous file survives any failure, a full disk included."""
    path = Path(path)
    atomic_write(path, lambda f: torch.save(checkpoint, f), "the previous checkpoint, if any, is unchanged")
    return path


def atomic_write(path: Path, write, kept: str = "the previous file, if any, is unchanged") -> None:
    """Atomic write whose errors are CheckpointErrors pointing at --out."""
    _atomic_write(
        path,
        write,
        error=CheckpointError,
        fix="free some disk space or choose another --out folder",
        kept=kept,
    )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read and validate a checkpoint. Only tensors and plain data are unpickled (weights_only=True)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder; give a checkpoint file such as {path / 'best.pt'}")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4" on a foreign file
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():  # a pickled function or class: code could run on loading
            raise CheckpointError(
                f"{path}: refused to load: the file contains Python objects, not just weights. segviewer "
                "only loads its own checkpoints (loading arbitrary pickles can run code)."
            ) from None
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (corrupt or truncated); train again"
        ) from None
    except Exception as exc:  # a corrupt file can make the unpickler fail in many ways
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
            "it may be corrupt or truncated"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a segviewer checkpoint (a PyTorch file, but not one written by `segviewer train`)"
        )
    if int(ckpt.get("version", 0)) > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer segviewer (format version {ckpt['version']}); update segviewer"
        )
    missing = [k for k in ("model", "num_classes", "scheme", "input_size", "state_dict") if k not in ckpt]
    if missing:
        raise CheckpointError(
            f"{path}: incomplete segviewer checkpoint (missing {', '.join(missing)}); train again"
        )
    from segviewer.core.models import MODELS

    if ckpt["model"] not in MODELS:
        raise CheckpointError(
            f"{path}: model '{ckpt['model']}' is unknown to this segviewer (known: {', '.join(MODELS)}); "
            "update segviewer or use a checkpoint of a known model"
        )
    ckpt["path"] = str(path)
    return ckpt


def build_model_from_checkpoint(ckpt: dict, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The checkpoint's model with its weights, in eval mode."""
    from segviewer.core.models import build_model

    model = build_model(ckpt["model"], int(ckpt["num_classes"]), **dict(ckpt.get("model_options") or {}))
    try:
        model.load_state_dict(ckpt["state_dict"], strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{ckpt.get('path', 'checkpoint')}: checkpoint was saved for model {ckpt['model']} with "
            f"{ckpt['num_classes']} classes, but its weights do not fit that model ({first[:200]}); "
            "it was changed or written by an incompatible segviewer"
        ) from None
    return model.to(device).eval()


def scheme_from_json(data: dict) -> LabelScheme:
    """The label scheme a checkpoint was trained on (the built-in object when it matches one)."""
    builtin = BUILTIN_SCHEMES.get(data.get("name", ""))
    if builtin is not None and builtin.to_json() == data:
        return builtin
    classes = tuple(
        LabelClass(int(c["id"]), str(c["name"]), tuple(int(v) for v in c["color"]), int(c["id"]))
        for c in data["classes"]
    )
    return LabelScheme(str(data.get("name", "custom")), classes, int(data.get("ignore_index", 255)))


def check_compatible(meta: dict, scheme: LabelScheme) -> None:
    """Raise CheckpointError when the checkpoint's classes are not those of the data set's scheme."""
    theirs = meta["scheme"]
    names = [c["name"] for c in theirs["classes"]]
    if names == scheme.names and int(meta["num_classes"]) == scheme.num_classes:
        return
    where = meta.get("path", "checkpoint")
    raise CheckpointError(
        f"{where}: checkpoint was trained on label scheme '{theirs.get('name')}' ({len(names)} classes) but the "
        f"data set uses '{scheme.name}' ({scheme.num_classes} classes); use a checkpoint trained on this kind of "
        "data, or pass --scheme if the data set's scheme was detected wrongly"
    )
