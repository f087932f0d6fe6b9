"""ONNX export: all four models round-trip through onnxruntime with the masks of the PyTorch checkpoint.

Exports are slow on a small CPU (several seconds each), so each model is exported once per module,
at small widths where the model has a width option; SegNet has none and is exported at its real size.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="the [onnx] extra (onnxruntime) is not installed")
pytest.importorskip("onnxscript", reason="the [onnx] extra (onnxscript) is not installed")
onnx = pytest.importorskip("onnx", reason="the [onnx] extra (onnx) is not installed")

from segviewer.core.checkpoint import CheckpointError, make_checkpoint, save_checkpoint  # noqa: E402
from segviewer.core.errors import UserError  # noqa: E402
from segviewer.core.imageio import read_image  # noqa: E402
from segviewer.core.labels import get_scheme  # noqa: E402
from segviewer.core.models import build_model  # noqa: E402
from segviewer.core.onnx_export import OnnxExportError, export_onnx  # noqa: E402
from segviewer.core.predict import Predictor, load_predictor  # noqa: E402

CAMVID = get_scheme("camvid")
SMALL_OPTIONS = {
    "ulite": {"widths": (4, 8, 8, 16)},
    "segnet-basic": {"width": 8, "kernel": 3},
    "unet": {"widths": (4, 8, 8, 16, 16)},
    "segnet": {},  # no width option: the real network (29 M parameters)
}
INPUT_SIZE = (72, 104)  # a multiple of no model's stride: the export must pad like the model does


def make_checkpoint_file(path, name: str, input_size=INPUT_SIZE, seed: int = 0):
    """A model with non-trivial batch-norm statistics whose argmax follows the image, as a checkpoint.

    Freshly initialised, the classifier's biases outweigh its inputs and one class wins everywhere;
    without biases and with larger weights the classes follow the features, as in a trained model.
    """
    torch.manual_seed(seed)
    model = build_model(name, CAMVID.num_classes, **SMALL_OPTIONS[name])
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a plain average: every layer normalised, however deep
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 3, 64, 96) * 2 - 1)
        model.classifier.bias.zero_()
        model.classifier.weight.normal_(0.0, 1.0)
    return save_checkpoint(path, make_checkpoint(model.eval(), CAMVID, input_size, 7, 0.25))


@pytest.fixture(scope="module", params=list(SMALL_OPTIONS))
def exported(request, tmp_path_factory):
    """(model name, checkpoint, dynamic export) of each model."""
    folder = tmp_path_factory.mktemp(request.param)
    ckpt = make_checkpoint_file(folder / "best.pt", request.param)
    return request.param, ckpt, export_onnx(ckpt, folder / "model.onnx", dynamic=True)


def real_images(shared_data):
    """Real driving scenes (CamVid 480x360, a Cityscapes frame 256x128) and one odd-sized random image."""
    names = sorted((shared_data / "camvid" / "val").glob("*.png"))[:2]
    names += sorted((shared_data / "cityscapes-sample" / "leftImg8bit").rglob("*.png"))[:1]
    assert len(names) == 3
    return [read_image(p) for p in names] + [np.random.default_rng(1).integers(0, 256, (61, 83, 3), np.uint8)]


def test_masks_from_onnx_equal_the_checkpoints_on_real_images(exported, shared_data):
    _, ckpt, model_file = exported
    images = real_images(shared_data)
    torch_predictor = Predictor.from_checkpoint(ckpt, threads=2)
    onnx_predictor = load_predictor(model_file, threads=2)
    assert onnx_predictor.backend == "onnxruntime" and torch_predictor.backend == "torch"
    agree, total, classes = 0, 0, set()
    for image, (mask, conf) in zip(images, onnx_predictor.predict_batch(images, batch_size=3), strict=True):
        want_mask, want_conf = torch_predictor.predict(image)
        assert mask.shape == conf.shape == image.shape[:2] and mask.dtype == np.uint8
        agree += int((mask == want_mask).sum())
        total += mask.size
        classes |= set(np.unique(want_mask).tolist())
        # most pixels agree closely; where a near-tie in max pooling sends an unpooled value elsewhere, not
        assert np.median(np.abs(conf - want_conf)) < 1e-4
    # measured 99.996% for SegNet and 100% for the others at this input size; fresh SegNet at 360x480
    # is at ~99.8%, as PyTorch against itself in its other memory layout (README, Measured)
    assert agree / total >= 0.999
    assert len(classes) > 1  # a model that predicts one class everywhere would prove little


def test_dynamic_export_takes_any_batch_and_multiples_of_the_stride(exported):
    import onnxruntime as ort

    name, ckpt, model_file = exported
    model = build_model(name, CAMVID.num_classes, **SMALL_OPTIONS[name])
    model.load_state_dict(torch.load(ckpt, weights_only=True)["state_dict"])
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    m = model.multiple
    for shape in ((1, 3, m, 2 * m), (3, 3, 4 * m, m)):
        x = torch.randn(*shape)
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            want = model.eval()(x).numpy()
        assert got.shape == want.shape == (shape[0], CAMVID.num_classes, *shape[2:])
        assert np.abs(got - want).max() < 1e-3


def test_metadata_is_enough_to_predict(exported):
    _, _, model_file = exported
    props = {p.key: p.value for p in onnx.load(str(model_file)).metadata_props}
    assert json.loads(props["classes"]) == CAMVID.names
    assert json.loads(props["colors"]) == [list(c.color) for c in CAMVID.classes]
    assert json.loads(props["input_size"]) == list(INPUT_SIZE)
    assert props["normalization"] == "tf" and "127.5" in props["normalization_formula"]
    predictor = load_predictor(model_file)
    assert predictor.scheme == CAMVID and predictor.input_size == INPUT_SIZE
    assert predictor.meta["epoch"] == 7 and predictor.meta["val_miou"] == 0.25


def test_static_export_takes_one_image_of_the_input_size(tmp_path):
    ckpt = make_checkpoint_file(tmp_path / "best.pt", "ulite")
    model_file = export_onnx(ckpt, tmp_path / "static.onnx", input_size=(40, 60))
    predictor = load_predictor(model_file)
    assert predictor.input_size == (40, 60)
    shape = onnx.load(str(model_file)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in shape] == [1, 3, 40, 60]
    images = [np.random.default_rng(i).integers(0, 256, (30 + i, 50, 3), np.uint8) for i in range(3)]
    batch = predictor.predict_batch(images)  # a batch-1 graph runs a batch image by image
    for image, (mask, _) in zip(images, batch, strict=True):
        assert np.array_equal(mask, predictor.predict(image)[0])


def test_export_without_the_onnx_extra_says_what_to_install(tmp_path, monkeypatch):
    ckpt = make_checkpoint_file(tmp_path / "best.pt", "ulite")
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(OnnxExportError, match=r"onnxscript is missing.*segviewer\[onnx\]"):
        export_onnx(ckpt, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_export_refuses_bad_outputs_and_inputs(tmp_path):
    ckpt = make_checkpoint_file(tmp_path / "best.pt", "ulite")
    with pytest.raises(OnnxExportError, match=r"must end in \.onnx"):
        export_onnx(ckpt, tmp_path / "model.txt")
    renamed = tmp_path / "model.onnx"
    renamed.write_bytes(ckpt.read_bytes())
    with pytest.raises(OnnxExportError, match="the checkpoint itself"):
        export_onnx(renamed, renamed)
    assert renamed.read_bytes() == ckpt.read_bytes()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        export_onnx(junk, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()
    assert issubclass(OnnxExportError, UserError)
