"""Checkpoints: atomic saving, weights-only loading, and clear errors for foreign or broken files."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from segviewer.core.checkpoint import (
    CheckpointError,
    build_model_from_checkpoint,
    check_compatible,
    load_checkpoint,
    make_checkpoint,
    save_checkpoint,
    scheme_from_json,
)
from segviewer.core.labels import get_scheme
from segviewer.core.models import build_model

BDD = get_scheme("bdd100k")
TINY = {"ulite": {"widths": (4, 8, 8, 16)}}


def tiny_checkpoint(scheme=BDD, epoch=1):
    torch.manual_seed(0)
    model = build_model("ulite", scheme.num_classes, **TINY["ulite"])
    return model, make_checkpoint(model, scheme, (32, 48), epoch, 0.5)


def test_round_trip_gives_identical_outputs(tmp_path):
    model, ckpt = tiny_checkpoint()
    path = save_checkpoint(tmp_path / "best.pt", ckpt)
    meta = load_checkpoint(path)
    assert meta["format"] == "segviewer-checkpoint" and meta["model"] == "ulite"
    assert meta["input_size"] == [32, 48] and meta["normalization"] == "tf" and meta["num_classes"] == 19
    again = build_model_from_checkpoint(meta)
    x = torch.randn(1, 3, 32, 48)
    with torch.inference_mode():
        assert torch.equal(model.eval()(x), again(x))
    assert scheme_from_json(meta["scheme"]) is BDD


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    _, ckpt = tiny_checkpoint()
    path = save_checkpoint(tmp_path / "last.pt", ckpt)
    before = path.read_bytes()

    def disk_full(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device.*free some disk space"):
        save_checkpoint(path, ckpt)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temp file left behind


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a zip file at all")
    with pytest.raises(CheckpointError, match="garbage.pt: not a readable PyTorch checkpoint"):
        load_checkpoint(garbage)
    _, ckpt = tiny_checkpoint()
    truncated = tmp_path / "truncated.pt"
    save_checkpoint(truncated, ckpt)
    truncated.write_bytes(truncated.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        load_checkpoint(truncated)


def test_foreign_torch_file_is_not_a_segviewer_checkpoint(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match="not a segviewer checkpoint"):
        load_checkpoint(path)


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {EVIL_MARKER}",))


EVIL_MARKER = ""


def test_pickle_with_code_is_refused(tmp_path):
    global EVIL_MARKER
    EVIL_MARKER = str(tmp_path / "pwned")
    path = tmp_path / "evil.pt"
    torch.save({"format": "segviewer-checkpoint", "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_unknown_model_and_mismatching_weights(tmp_path):
    _, ckpt = tiny_checkpoint()
    save_checkpoint(tmp_path / "a.pt", dict(ckpt, model="resnet-9000"))
    with pytest.raises(CheckpointError, match="model 'resnet-9000' is unknown"):
        load_checkpoint(tmp_path / "a.pt")
    save_checkpoint(tmp_path / "b.pt", dict(ckpt, num_classes=11))
    meta = load_checkpoint(tmp_path / "b.pt")
    with pytest.raises(CheckpointError, match="saved for model ulite with 11 classes"):
        build_model_from_checkpoint(meta)


def test_checkpoint_for_another_scheme_names_both(tmp_path):
    _, ckpt = tiny_checkpoint()
    save_checkpoint(tmp_path / "best.pt", ckpt)
    meta = load_checkpoint(tmp_path / "best.pt")
    check_compatible(meta, BDD)  # same scheme: fine
    with pytest.raises(CheckpointError, match="'bdd100k'.*'camvid'"):
        check_compatible(meta, get_scheme("camvid"))
