"""TrainConfig: one set of defaults, JSON round trip, old configs, and refusals that name the fix."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from segviewer.core.errors import UserError
from segviewer.core.training.config import (
    CLASS_WEIGHTINGS,
    LOSSES,
    TrainConfig,
    check_config,
    class_weighting,
    defaults,
)


def test_importing_the_config_does_not_import_torch():
    code = (
        "import sys, segviewer.core.training.config, segviewer.core.training.run_folder, "
        "segviewer.core.runs; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_names_are_the_ones_the_losses_build():
    import torch

    from segviewer.core.losses import build_criterion

    for name in LOSSES:
        assert isinstance(build_criterion(name, None, 255), torch.nn.Module)
    assert CLASS_WEIGHTINGS[0] == "none"


def test_json_round_trip_and_old_configs():
    cfg = TrainConfig(root="r", input_size=(64, 96), train_crop=(32, 48), init_from="a/best.pt")
    data = json.loads(json.dumps(cfg.to_json()))
    assert data["input_size"] == [64, 96] and data["train_crop"] == [32, 48]
    assert TrainConfig.from_json(data) == cfg
    old = {"root": "r", "class_weights": True, "input_size": [36, 64], "from_the_future": 1}
    back = TrainConfig.from_json(old)  # an older run's config.json: bool weighting, no new fields
    assert class_weighting(back.class_weights) == "median" and back.train_crop is None
    assert back.loss == "ce"  # written before losses were a setting: it trained with cross-entropy
    first_wave = TrainConfig.from_json({"root": "r"})  # neither key: the paper's recipe, as it ran
    assert (first_wave.loss, class_weighting(first_wave.class_weights)) == ("ce", "none")
    assert (defaults()["loss"], defaults()["class_weights"]) == ("ce+dice", "median")
    assert defaults()["model_options"] == {} and "root" not in defaults()


def test_class_weighting_modes():
    assert [class_weighting(v) for v in (True, False, None, "sqrt", "median", "none")] == [
        "median",
        "none",
        "none",
        "sqrt",
        "median",
        "none",
    ]
    with pytest.raises(ValueError, match="median"):
        class_weighting("log")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"model": "resnet"}, "unknown model 'resnet'"),
        ({"epochs": 0}, "at least 1"),
        ({"loss": "lovasz"}, "unknown loss 'lovasz'; use one of ce, ce+dice, focal, ce+ohem"),
        ({"class_weights": "log"}, "weighting"),
        ({"lr_schedule": "step"}, "cosine, onecycle, constant"),
        ({"optimizer": "sgd"}, "adam, adamw"),
        ({"weight_decay": -1.0}, "--weight-decay must be a non-negative number"),
        ({"lr": float("nan")}, "--lr"),
        ({"warmup_fraction": 1.0}, "--warmup-fraction"),
        ({"input_size": (8, 8)}, "too small"),
        ({"train_crop": (200, 100)}, "fit in --input-size 128x224"),
        ({"init_from": "a.pt", "resume": True}, "use one"),
    ],
)
def test_bad_configs_are_refused_with_the_fix(overrides, words):
    with pytest.raises(UserError, match=words.replace("+", r"\+")):
        check_config(TrainConfig(root="r", **overrides))
