"""Predictor: masks at the original size, confidences, batches equal to single images; the backend from the file."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
from segviewer.core.errors import UserError
from segviewer.core.labels import get_scheme
from segviewer.core.models import build_model
from segviewer.core.pipeline import normalize_tf, resize_image, resize_mask
from segviewer.core.predict import Predictor, load_predictor, onnx_session
from segviewer.core.predict import faster as predict_faster

CAMVID = get_scheme("camvid")


def make_checkpoint_file(folder):
    torch.manual_seed(0)
    model = build_model("ulite", CAMVID.num_classes, widths=(4, 8, 8, 16))
    model.train()
    with torch.no_grad():  # a few forward passes so batch-norm statistics are not the identity
        for _ in range(3):
            model(torch.randn(2, 3, 32, 48))
    return model.eval(), save_checkpoint(folder / "best.pt", make_checkpoint(model, CAMVID, (32, 48), 3, 0.4))


@pytest.fixture
def checkpoint(tmp_path):
    return make_checkpoint_file(tmp_path)


def images():
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (50, 70, 3), dtype=np.uint8),
        rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
    ]


def test_predict_returns_mask_and_confidence_at_the_original_size(checkpoint):
    _, path = checkpoint
    predictor = Predictor.from_checkpoint(path, threads=1)
    assert predictor.model_name == "ulite" and predictor.scheme is CAMVID and predictor.input_size == (32, 48)
    assert "state_dict" not in predictor.meta
    mask, conf = predictor.predict(images()[0])
    assert mask.shape == conf.shape == (50, 70)
    assert mask.dtype == np.uint8 and conf.dtype == np.float32
    assert mask.max() < CAMVID.num_classes
    assert (conf >= 1 / CAMVID.num_classes - 1e-6).all() and (conf <= 1 + 1e-6).all()


def test_prediction_matches_the_model_at_input_size(checkpoint):
    model, path = checkpoint
    image = images()[0]
    with torch.inference_mode():
        x = normalize_tf(torch.from_numpy(resize_image(image, (32, 48))[None]))
        expected = model(x).argmax(1)[0].numpy().astype(np.uint8)
    predictor = Predictor.from_checkpoint(path)
    small = resize_image(image, (32, 48))
    mask, _ = predictor.predict(small)  # at the input size no resizing happens either way
    assert np.array_equal(mask, expected)
    big, _ = predictor.predict(image)
    agree = (resize_mask(big, (32, 48)) == expected).mean()
    assert agree > 0.8  # bilinear logits upsampling keeps the regions


def test_batch_equals_single_images(checkpoint):
    _, path = checkpoint
    predictor = Predictor.from_checkpoint(path)
    batch = predictor.predict_batch(images())
    for image, (mask, conf) in zip(images(), batch, strict=True):
        single_mask, single_conf = predictor.predict(image)
        assert np.array_equal(mask, single_mask)
        assert np.allclose(conf, single_conf, atol=1e-5)


def test_rejects_non_rgb_input(checkpoint):
    predictor = Predictor.from_checkpoint(checkpoint[1])
    with pytest.raises(ValueError, match="RGB uint8"):
        predictor.predict(np.zeros((10, 10, 3), np.float32))


# --- load_predictor: the backend from the file --------------------------------------------------
@pytest.fixture(scope="module")
def exported_once(tmp_path_factory):
    pytest.importorskip("onnxruntime", reason="the [onnx] extra (onnxruntime) is not installed")
    pytest.importorskip("onnxscript", reason="the [onnx] extra (onnxscript) is not installed")
    from segviewer.core.onnx_export import export_onnx

    _, path = make_checkpoint_file(tmp_path_factory.mktemp("run"))
    return path, export_onnx(path, path.with_suffix(".onnx"), dynamic=True)


@pytest.fixture
def exported(exported_once, tmp_path):
    """A checkpoint and its ONNX twin (best.onnx exported from it, beside it), copies of one export."""
    for source in exported_once:
        (tmp_path / source.name).write_bytes(source.read_bytes())
    return tmp_path / "best.pt", tmp_path / "best.onnx"


def test_load_predictor_picks_the_backend_from_the_content(exported, tmp_path):
    ckpt, model_file = exported
    assert load_predictor(ckpt).backend == "torch"
    assert load_predictor(ckpt.parent).backend == "torch"  # a run folder means its best.pt
    assert load_predictor(model_file).backend == "onnxruntime"
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(model_file.read_bytes())
    predictor = load_predictor(renamed)
    assert predictor.backend == "onnxruntime" and predictor.scheme is CAMVID
    mask, conf = predictor.predict(images()[0])
    want_mask, want_conf = load_predictor(ckpt).predict(images()[0])
    assert (mask == want_mask).mean() >= 0.999 and np.allclose(conf, want_conf, atol=1e-4)


def test_fastest_times_both_backends_when_the_twin_is_of_this_very_checkpoint(exported, monkeypatch):
    from segviewer.core import predict

    ckpt, _ = exported
    offered = []

    def pick_onnx(*predictors):
        offered.append(sorted(p.backend for p in predictors))
        return next(p for p in predictors if p.backend == "onnxruntime")

    monkeypatch.setattr(predict, "faster", pick_onnx)
    assert load_predictor(ckpt, fastest=True).backend == "onnxruntime"
    assert offered == [["onnxruntime", "torch"]]
    assert load_predictor(ckpt, fastest=False).backend == "torch"
    other = build_model("ulite", CAMVID.num_classes, widths=(4, 8, 8, 16))  # new weights, same name
    save_checkpoint(ckpt, make_checkpoint(other, CAMVID, (32, 48), 4, 0.5))
    assert load_predictor(ckpt, fastest=True).backend == "torch"  # the twin is of the old weights
    assert len(offered) == 1


def test_faster_returns_one_of_the_predictors_it_timed(exported):
    ckpt, model_file = exported
    pair = load_predictor(ckpt), load_predictor(model_file)
    assert any(predict_faster(*pair) is p for p in pair)


def test_onnx_sessions_do_not_spin_and_use_the_threads_asked_for(exported):
    _, model_file = exported
    options = onnx_session(model_file, "cpu", 1).get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_onnx_sessions_take_a_graph_optimisation_level(exported):
    import onnxruntime as ort

    _, model_file = exported
    levels = ort.GraphOptimizationLevel
    assert (
        onnx_session(model_file, "cpu", 1).get_session_options().graph_optimization_level
        == levels.ORT_ENABLE_ALL
    )
    slow = onnx_session(model_file, "cpu", 1, "disable").get_session_options()
    assert slow.graph_optimization_level == levels.ORT_DISABLE_ALL
    with pytest.raises(ValueError, match="optimization"):
        onnx_session(model_file, "cpu", 1, "fastest")


def test_foreign_corrupt_and_unsupported_onnx_files_are_user_errors(exported, tmp_path, monkeypatch):
    import onnx
    from onnx import TensorProto, helper

    _, model_file = exported
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(model_file.read_bytes()[:5000])
    with pytest.raises(UserError, match=r"corrupt\.onnx: not a readable ONNX model"):
        load_predictor(corrupt)
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [value], [value])
    graph.output[0].name = "y"
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), str(foreign))
    with pytest.raises(
        UserError, match=r"foreign\.onnx: an ONNX model, but not one written by `segviewer export`"
    ):
        load_predictor(foreign)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the [onnx] extra were not installed
    with pytest.raises(UserError, match=r"needs onnxruntime.*segviewer\[onnx\]"):
        load_predictor(model_file)
