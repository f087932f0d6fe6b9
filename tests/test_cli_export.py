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


@pytest.fixture
def demo_pair(tmp_path):
    """A labelled demo data set, and a tiny U-Lite checkpoint of its scheme with its dynamic ONNX export."""
    pytest.importorskip("onnxruntime", reason="the [onnx] extra (onnxruntime) is not installed")
    pytest.importorskip("onnxscript", reason="the [onnx] extra (onnxscript) is not installed")
    from segviewer.core.demo import generate_demo

    bdd = get_scheme("bdd100k")
    root = generate_demo(tmp_path / "demo", count=8, size=(36, 64), seed=1)
    torch.manual_seed(0)
    model = build_model("ulite", bdd.num_classes, widths=(4, 8, 8, 16))
    with torch.no_grad():
        model.classifier.bias.zero_()  # so that more than one class wins
        model.classifier.weight.normal_(0.0, 1.0)
    ckpt = save_checkpoint(tmp_path / "run" / "best.pt", make_checkpoint(model.eval(), bdd, (36, 64), 1, 0.1))
    model_file = tmp_path / "tiny.onnx"
    assert main(["export", str(ckpt), "--out", str(model_file), "--dynamic"]) == 0
    return root, ckpt, model_file


def test_evaluate_takes_an_onnx_file_like_its_checkpoint(demo_pair, capsys):
    import json

    root, ckpt, model_file = demo_pair
    capsys.readouterr()
    results = {}
    for source in (model_file, ckpt):
        assert main(["evaluate", str(source), str(root), "--json"]) == 0
        results[source.suffix] = json.loads(capsys.readouterr().out)
    onnx, pt = results[".onnx"], results[".pt"]
    assert [c["name"] for c in onnx["per_class"]] == [c["name"] for c in pt["per_class"]]
    assert abs(onnx["pixel_accuracy"] - pt["pixel_accuracy"]) < 1e-3  # masks agree on >= 99.9% of pixels
    assert 0.0 < pt["pixel_accuracy"] < 1.0


def test_compare_takes_an_onnx_file_beside_a_checkpoint(demo_pair, capsys):
    root, ckpt, model_file = demo_pair
    capsys.readouterr()
    assert main(["compare", str(model_file), str(ckpt), str(root), "--split", "val", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Category,U-Lite (paper) (tiny),U-Lite (paper) (run)"
    miou = next(line for line in lines if line.startswith("mIoU")).split(",")
    assert abs(float(miou[1]) - float(miou[2])) <= 0.002


def test_evaluate_a_damaged_onnx_file_is_a_clear_error(demo_pair, tmp_path, capsys):
    root, _, model_file = demo_pair
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(model_file.read_bytes()[:200])
    capsys.readouterr()
    assert main(["evaluate", str(broken), str(root)]) == 2
    err = capsys.readouterr().err
    assert "segviewer: error:" in err and "broken.onnx" in err and "export it again" in err
