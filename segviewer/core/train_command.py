"""The `segviewer train` command line for a run's settings (Qt-free, torch-free).

The GUI starts training as this child process and reads its `--events jsonl` stream, so a run from
the window, from a terminal, under torchrun or on another machine is the same thing. "Export as
command…" writes the same line for the user to run elsewhere.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from typing import Any

from segviewer.core.training.config import TrainConfig, class_weighting, defaults


def train_arguments(cfg: Mapping[str, Any]) -> list[str]:
    """`ROOT --model ...` for `cfg` (TrainConfig fields, as in config.json); defaults are left out.

    A setting `cfg` leaves out takes today's default (unlike an old config.json's missing key, which
    `TrainConfig.from_json` reads as what that version did). ValueError names a setting that no flag
    can carry (or a value TrainConfig refuses).
    """
    try:
        return command_args(TrainConfig.from_json({**defaults(), **cfg}))
    except TypeError as exc:  # a field TrainConfig does not know, e.g. from a newer config.json
        raise ValueError(f"these training settings cannot be used: {exc}") from None


def command_args(cfg: TrainConfig) -> list[str]:
    """The `segviewer train` arguments (after "train") that give `cfg` back; defaults left out.

    The inverse of `segviewer train`'s parser (tests/test_cli_train.py parses it back): what `--nproc`
    hands to each rank, and what a program can show as "this run as a command".
    Raises ValueError for model options no flag expresses.
    """
    d = defaults()
    out = [cfg.root]

    def flag(name: str, value, default=None) -> None:
        if value is not None and value != default:
            out.extend([name, str(value)])

    flag("--model", cfg.model, d["model"])
    flag("--epochs", cfg.epochs, d["epochs"])
    flag("--batch-size", cfg.batch_size, d["batch_size"])
    flag("--lr", repr(float(cfg.lr)), repr(float(d["lr"])))
    flag("--lr-schedule", cfg.lr_schedule, d["lr_schedule"])
    flag("--warmup-fraction", repr(float(cfg.warmup_fraction)), repr(float(d["warmup_fraction"])))
    flag("--optimizer", cfg.optimizer, d["optimizer"])
    flag("--weight-decay", repr(float(cfg.weight_decay)), repr(float(d["weight_decay"])))
    size = "x".join(map(str, cfg.input_size))
    flag("--input-size", size, "x".join(map(str, d["input_size"])))
    flag("--train-crop", "x".join(map(str, cfg.train_crop)) if cfg.train_crop else None)
    flag("--patience", cfg.patience, d["patience"])
    options = dict(cfg.model_options or {})
    if "widths" in options:
        flag("--widths", ",".join(str(int(w)) for w in options.pop("widths")))
    elif "width" in options:
        flag("--widths", str(int(options.pop("width"))))
    if options:
        raise ValueError(f"model options {sorted(options)} have no command-line flag")
    flag("--class-weights", class_weighting(cfg.class_weights), class_weighting(d["class_weights"]))
    flag("--loss", cfg.loss, d["loss"])
    flag("--augment", cfg.augment)
    flag("--device", cfg.device, d["device"])
    flag("--amp", {None: "auto", True: "on", False: "off"}[cfg.amp], "auto")
    flag("--out", cfg.out)
    if cfg.resume:
        out.append("--resume")
    flag("--init-from", cfg.init_from)
    flag("--threads", cfg.threads)
    flag("--workers", cfg.num_workers)
    flag("--seed", cfg.seed, d["seed"])
    flag("--scheme", cfg.scheme)
    flag("--labels", cfg.labels, "auto")
    flag("--train-split", cfg.train_split, d["train_split"])
    flag("--val-split", cfg.val_split, d["val_split"])
    flag("--max-train-batches", cfg.max_train_batches)
    flag("--max-val-batches", cfg.max_val_batches)
    if cfg.cache_dir is not None:
        out.extend(["--cache-dir", cfg.cache_dir])
    if cfg.sync_bn:
        out.append("--sync-bn")
    return out


def child_command(cfg: Mapping[str, Any]) -> list[str]:
    """The GUI's child process: this Python, JSON-lines events on stdout, below the window's priority."""
    return [
        sys.executable,
        "-m",
        "segviewer",
        "train",
        *train_arguments(cfg),
        "--events",
        "jsonl",
        "--low-priority",
    ]


def shell_command(cfg: Mapping[str, Any], nproc: int = 0) -> str:
    """The line a user runs: `segviewer train ...`, or with `nproc` > 0 `torchrun --nproc-per-node N -m segviewer train ...`."""
    args = train_arguments(cfg)
    head = (
        ["segviewer", "train"]
        if nproc <= 0
        else ["torchrun", f"--nproc-per-node={nproc}", "-m", "segviewer", "train"]
    )
    return shlex.join(head + args)


def slurm_script(cfg: Mapping[str, Any], gpus: int = 0, hours: int = 4, cpus: int = 8) -> str:
    """A SLURM batch script running the same training: `sbatch` it on a cluster's login node.

    With `gpus` > 0 it asks for that many GPUs on one node and starts one process per GPU with torchrun.
    """
    model = str(cfg.get("model") or "model")
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=segviewer-{model}",
        "#SBATCH --nodes=1",
        f"#SBATCH --cpus-per-task={cpus}",
        f"#SBATCH --time={hours:02d}:00:00",
        "#SBATCH --output=segviewer-%j.log",
    ]
    if gpus > 0:
        lines.append(f"#SBATCH --gpus-per-node={gpus}")
    lines += [
        "",
        "# Progress goes to the log; the run folder gets events.jsonl, which segviewer's",
        "# File › Open run… follows live from any machine that sees the folder.",
        f"srun {shell_command(cfg, nproc=gpus)}",
        "",
    ]
    return "\n".join(lines)
