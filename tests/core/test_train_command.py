"""The `segviewer train` command line built from a run's settings (what the GUI starts and exports)."""

from __future__ import annotations

import sys

import pytest

from segviewer.commands.train import add_parser
from segviewer.core.train_command import child_command, shell_command, slurm_script, train_arguments
from segviewer.core.training.config import TrainConfig, defaults


def parse(args: list[str]):
    import argparse

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["train", *args])


def test_every_setting_reaches_the_train_command_unchanged():
    cfg = {
        "root": "/data/bdd",
        "model": "unet",
        "epochs": 7,
        "batch_size": 3,
        "lr": 0.0005,
        "lr_schedule": "constant",
        "input_size": (96, 160),
        "patience": 2,
        "class_weights": True,
        "loss": "focal",
        "augment": "light",
        "device": "cpu",
        "out": "/runs/unet-1",
        "num_workers": 0,
        "seed": 4,
        "scheme": "bdd100k",
        "model_options": {"widths": [4, 8, 16, 32, 64]},
        "resume": True,
    }
    args = parse(train_arguments(cfg))
    assert (args.root, args.model, args.epochs, args.batch_size) == ("/data/bdd", "unet", 7, 3)
    assert (args.lr, args.lr_schedule, tuple(args.input_size), args.patience) == (
        0.0005,
        "constant",
        (96, 160),
        2,
    )
    assert (args.class_weights, args.loss, args.augment, args.device) == ("median", "focal", "light", "cpu")
    assert (args.out, args.workers, args.seed, args.scheme) == ("/runs/unet-1", 0, 4, "bdd100k")
    assert args.widths == [4, 8, 16, 32, 64] and args.resume and args.threads is None


def test_segnet_basic_width_and_unset_values():
    args = train_arguments(
        {"root": "r", "model": "segnet-basic", "model_options": {"width": 16}, "out": None}
    )
    assert args == ["r", "--model", "segnet-basic", "--widths", "16"]


def test_an_older_runs_config_keeps_the_recipe_it_was_trained_with():
    """A config.json from before losses and class weights were settings trained with plain cross-entropy."""
    old_run = TrainConfig.from_json({"root": "r", "epochs": 3})
    args = parse(train_arguments(old_run.to_json()))
    assert (args.loss, args.class_weights, args.epochs) == ("ce", "none", 3)
    today = parse(train_arguments({"root": "r", "epochs": 3}))  # settings left out: today's defaults
    assert (
        (today.loss, today.class_weights)
        == (defaults()["loss"], defaults()["class_weights"])
        != ("ce", "none")
    )


def test_a_setting_without_a_flag_is_refused_by_name():
    with pytest.raises(ValueError, match="depth"):
        train_arguments({"root": "r", "model_options": {"depth": 2}})
    extra = train_arguments({"root": "r", "max_train_batches": 3, "cache_dir": ""})
    assert extra[1:] == ["--max-train-batches", "3", "--cache-dir", ""]


def test_child_and_shell_commands():
    child = child_command({"root": "r", "epochs": 2})
    assert child[:4] == [sys.executable, "-m", "segviewer", "train"]
    assert child[-3:] == ["--events", "jsonl", "--low-priority"]
    assert shell_command({"root": "my data", "epochs": 2}) == "segviewer train 'my data' --epochs 2"
    assert shell_command({"root": "r"}, nproc=4).startswith(
        "torchrun --nproc-per-node=4 -m segviewer train r"
    )


def test_slurm_script_runs_the_same_command():
    cfg = {"root": "/data/bdd", "model": "unet", "epochs": 3}
    script = slurm_script(cfg, gpus=2, hours=6)
    assert script.startswith("#!/bin/bash\n")
    assert "#SBATCH --gpus-per-node=2" in script and "#SBATCH --time=06:00:00" in script
    assert (
        "\nsrun torchrun --nproc-per-node=2 -m segviewer train /data/bdd --model unet --epochs 3\n" in script
    )
    assert "--gpus" not in slurm_script(cfg) and "\nsrun segviewer train /data/bdd" in slurm_script(cfg)
