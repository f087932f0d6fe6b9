"""core/fine_tune.py: a new run from a checkpoint's weights on the corrected labels, recorded in config.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segviewer.core.corrections import Corrections
from segviewer.core.errors import UserError
from segviewer.core.fine_tune import LR_FACTOR, fine_tune_config
from segviewer.core.imageio import read_label
from segviewer.core.training import TrainConfig, train

TINY = {"input_size": (32, 48), "model_options": {"widths": [4, 8, 16, 32]}, "num_workers": 0, "threads": 1}


def _run(cfg: TrainConfig) -> list:
    events = list(train(cfg))
    assert type(events[-1]).__name__ == "Finished", events[-1]
    return events


def test_fine_tune_starts_a_new_run_from_the_weights_on_the_corrections(tmp_path, monkeypatch):
    from segviewer.core.demo import generate_demo

    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "home"))
    root = generate_demo(tmp_path / "demo", count=8, size=(32, 48), seed=0)
    first = tmp_path / "first"
    _run(TrainConfig(root=str(root), epochs=1, out=str(first), cache_dir="", lr=0.004, **TINY))

    failed = list(train(fine_tune_config(first / "best.pt", out=str(tmp_path / "x"))))[-1]
    assert "has no corrections" in failed.message  # nothing to fine-tune on yet, and it says so
    mask_path = sorted((root / "labels" / "sem_seg" / "masks" / "train").glob("*.png"))[0]
    Corrections(root).write("train", mask_path.stem, np.zeros_like(read_label(mask_path)[0]))

    cfg = fine_tune_config(first / "best.pt", out=str(tmp_path / "second"))
    assert cfg.init_from == str(first / "best.pt") and cfg.labels == "corrected" and not cfg.resume
    assert cfg.lr == pytest.approx(0.004 * LR_FACTOR) and cfg.model_options == TINY["model_options"]
    _run(cfg)
    config = json.loads((tmp_path / "second" / "config.json").read_text())
    assert config["init_from"] == str((first / "best.pt").resolve())
    assert config["labels"] == "corrected" and config["lr"] == pytest.approx(0.0004)
    assert config["corrections"]["splits"] == {
        "train": {"samples": 1, "sha1": Corrections(root).summary()["splits"]["train"]["sha1"]}
    }
    assert (
        json.loads((first / "config.json").read_text())["corrections"] is None
    )  # the first run used originals


def test_fine_tune_needs_the_run_settings(tmp_path):
    (tmp_path / "best.pt").write_bytes(b"")
    with pytest.raises(UserError, match="config.json: is missing"):
        fine_tune_config(tmp_path / "best.pt")
