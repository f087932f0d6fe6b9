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


def train_arguments(cfg: Mapping[str, Any]) -> list[str]:
    """`ROOT --model ...` for `cfg` (TrainConfig fields, as in config.json); defaults are left out.

    ValueError names a setting that no flag can carry (or a value TrainConfig refuses).
    """
    from segviewer.commands.train import command_args  # the CLI's own inverse of its parser
    from segviewer.core.training.config import TrainConfig

    try:
        return command_args(TrainConfig.from_json(dict(cfg)))
    except TypeError as exc:  # a field TrainConfig does not know, e.g. from a newer config.json
        raise ValueError(f"these training settings cannot be used: {exc}") from None


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
