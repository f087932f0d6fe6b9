"""Model > Load with an ONNX file from `segviewer export`: predictions as with the checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from segviewer.core.labels import get_scheme
from tests.gui.conftest import open_and_wait


def test_onnx_model_predicts_like_its_checkpoint(qtbot, window, tiny_bdd, tmp_path):
    pytest.importorskip("onnxruntime", reason="the [onnx] extra (onnxruntime) is not installed")
    pytest.importorskip("onnxscript", reason="the [onnx] extra (onnxscript) is not installed")
    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.models import build_model
    from segviewer.core.onnx_export import export_onnx

    model = build_model("ulite", 19, widths=[4, 4, 8, 8])
    ckpt = save_checkpoint(
        tmp_path / "tiny.pt", make_checkpoint(model, get_scheme("bdd100k"), (32, 48), 1, 0.1)
    )
    model_file = export_onnx(ckpt, tmp_path / "exported" / "tiny.onnx")
    open_and_wait(qtbot, window, tiny_bdd)
    shown = []
    for path, backend in ((ckpt, "torch"), (model_file, "onnxruntime")):
        with qtbot.waitSignal(window.model_loaded, timeout=60000):
            window.load_checkpoint(path)
        qtbot.waitUntil(lambda: window.viewer.current_prediction() is not None, timeout=60000)
        shown.append(window.viewer.current_prediction()[0])
        assert f"Model: U-Lite (paper) ({path.name})" in window.model_label.text()
        assert window.predictions.predictor.backend == backend
    assert shown[1].shape == (48, 64)
    assert (shown[0] == shown[1]).mean() >= 0.999
    assert window.viewer.mode_buttons["prediction"].isEnabled()
    np.testing.assert_array_less(shown[1], 19)
