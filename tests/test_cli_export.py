"""`segviewer export` and `segviewer predict MODEL.onnx`: the file alone predicts the checkpoint's masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segviewer.cli import main
from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
from segviewer.core.imageio import read_label, write_png
from segviewer.core.labels import get_scheme
from segviewer.core.models import build_model

CAMVID = get_scheme("camvid")


@pytest.fixture
def run_folder(tmp_path):
    torch.manual_seed(0)
    model = build_model("segnet-basic", CAMVID.num_classes, width=8, kernel=3)
    with torch.no_grad():
        model.classifier.bias.zero_()  # so that more than one class wins
        model.classifier.weight.normal_(0.0, 1.0)
    save_checkpoint(tmp_path / "run" / "best.pt", make_checkpoint(model.eval(), CAMVID, (48, 64), 2, 0.3))
    return tmp_path / "run"


def test_export_then_predict_from_the_onnx_file(run_folder, tmp_path, capsys):
    pytest.importorskip("onnxruntime", reason="the [onnx] extra (onnxruntime) is not installed")
    pytest.importorskip("onnxscript", reason="the [onnx] extra (onnxscript) is not installed")
    model_file = tmp_path / "model.onnx"
    assert main(["export", str(run_folder), "--out", str(model_file), "--dynamic"]) == 0
    assert f"wrote {model_file}" in capsys.readouterr().out
    image = np.random.default_rng(0).integers(0, 256, (45, 70, 3), np.uint8)
    write_png(tmp_path / "in" / "scene.png", image)
    for source, out in ((model_file, "from_onnx"), (run_folder / "best.pt", "from_pt")):
        assert main(["predict", str(source), str(tmp_path / "in"), "--out", str(tmp_path / out)]) == 0
    from_onnx, from_pt = (read_label(tmp_path / d / "scene.png")[0] for d in ("from_onnx", "from_pt"))
    assert from_onnx.shape == (45, 70) and len(np.unique(from_pt)) > 1
    assert (from_onnx == from_pt).mean() >= 0.999


def test_export_needs_an_onnx_name(run_folder, tmp_path, capsys):
    assert main(["export", str(run_folder), "--out", str(tmp_path / "model.pt")]) == 2
    err = capsys.readouterr().err
    assert "segviewer: error:" in err and "model.pt" in err and ".onnx" in err
    assert not (tmp_path / "model.pt").exists()
