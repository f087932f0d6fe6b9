"""Predictor: masks at the original size, confidences, batches equal to single images, reload identical."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
from segviewer.core.labels import get_scheme
from segviewer.core.models import build_model
from segviewer.core.pipeline import normalize_tf, resize_image, resize_mask
from segviewer.core.predict import Predictor

CAMVID = get_scheme("camvid")


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = build_model("ulite", CAMVID.num_classes, widths=(4, 8, 8, 16))
    model.train()
    with torch.no_grad():  # a few forward passes so batch-norm statistics are not the identity
        for _ in range(3):
            model(torch.randn(2, 3, 32, 48))
    return model.eval(), save_checkpoint(
        tmp_path / "best.pt", make_checkpoint(model, CAMVID, (32, 48), 3, 0.4)
    )


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
