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

# TrainConfig fields and the flag that sets each; a value of None leaves the flag out.
FLAGS = {
    "model": "--model",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "lr_schedule": "--lr-schedule",
    "input_size": "--input-size",
    "patience": "--patience",
    "class_weights": "--class-weights",
    "loss": "--loss",
    "augment": "--augment",
    "device": "--device",
    "out": "--out",
    "threads": "--threads",
    "num_workers": "--workers",
    "seed": "--seed",
    "scheme": "--scheme",
}
# Settings without a flag, with their defaults: a run that needs another value cannot be a command.
NO_FLAG = {
    "amp": None,
    "max_train_batches": None,
    "max_val_batches": None,
    "train_split": "train",
    "val_split": "val",
    "cache_dir": None,
}


def train_arguments(cfg: Mapping[str, Any]) -> list[str]:
    """`ROOT --model ... --out ...` for `cfg` (TrainConfig fields, as in config.json).

    ValueError names a setting that no flag can carry.
    """
    for name, default in NO_FLAG.items():
        if cfg.get(name, default) != default:
            raise ValueError(f"the training setting {name}={cfg[name]!r} has no command-line flag")
    args = [str(cfg["root"])]
    for name, flag in FLAGS.items():
        value = cfg.get(name)
        if value is None:
            continue
        if name == "input_size":
            value = f"{value[0]}x{value[1]}"
        elif name == "class_weights":
            value = {True: "median", False: "none"}.get(value, value)
        args += [flag, str(value)]
    options = dict(cfg.get("model_options") or {})
    widths = options.pop("widths", None) or ([options.pop("width")] if "width" in options else None)
    if options:
        raise ValueError(f"the model options {sorted(options)} have no command-line flag")
    if widths:
        args += ["--widths", ",".join(str(int(w)) for w in widths)]
    if cfg.get("resume"):
        args.append("--resume")
    return args


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
