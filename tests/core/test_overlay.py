"""Overlay composition (numpy, no Qt), the LRU cache and the pixel readout."""

from __future__ import annotations

import numpy as np

from segviewer.core.labels import get_scheme
from segviewer.core.lru import LruCache
from segviewer.core.overlay import (
    ERROR_COLORS,
    SIDE_GAP,
    blend,
    class_shares,
    compose,
    source_pixel,
    stack_side_by_side,
)
from segviewer.core.sample_view import pixel_readout

SCHEME = get_scheme("bdd100k")


def _case():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    gt = np.array([[0, 13, 255, 10] * 2] * 6, np.uint8)
    drawn = np.zeros(256, bool)
    drawn[:19] = True
    return image, gt, drawn


def test_blend_matches_the_formula_and_skips_hidden_and_ignored():
    image, gt, drawn = _case()
    drawn[13] = False
    out = blend(image, gt, SCHEME.palette, 0.25, drawn)
    expected = np.round(0.75 * image + 0.25 * SCHEME.palette[gt]).astype(int)
    shown = (gt == 0) | (gt == 10)
    assert np.abs(out[shown].astype(int) - expected[shown]).max() <= 1
    assert (out[~shown] == image[~shown]).all()  # car hidden, 255 ignored: the bare image


def test_error_map_colours():
    image, gt, drawn = _case()
    pred = np.zeros_like(gt)
    out = compose(image, gt, pred, "error", SCHEME.palette, 1.0, drawn, 255)
    assert tuple(out[0, 0]) == ERROR_COLORS["correct"]
    assert tuple(out[0, 1]) == ERROR_COLORS["wrong"]
    assert tuple(out[0, 2]) == ERROR_COLORS["ignored"]


def test_side_by_side_layout_and_pixel_mapping():
    image, gt, drawn = _case()
    beside = compose(image, gt, None, "side", SCHEME.palette, 1.0, drawn, 255)
    stacked = compose(image, gt, None, "side", SCHEME.palette, 1.0, drawn, 255, stacked=True)
    assert beside.shape == (6, 16 + SIDE_GAP, 3) and stacked.shape == (12 + SIDE_GAP, 8, 3)
    assert (beside[:, 8 + SIDE_GAP :] == image).all()  # no prediction: the plain image on the right
    assert source_pixel(8 + SIDE_GAP + 3, 2, "side", 8, 6) == (3, 2)
    assert source_pixel(8, 2, "side", 8, 6) is None  # the gap
    assert source_pixel(3, 6 + SIDE_GAP + 2, "side", 8, 6, stacked=True) == (3, 2)
    assert stack_side_by_side(800, 900, 640, 360) and not stack_side_by_side(1600, 400, 640, 360)


def test_class_shares():
    _, gt, _ = _case()
    shares = class_shares(gt)
    assert shares[0] == shares[13] == shares[255] == shares[10] == 0.25
    assert shares.sum() == 1.0


def test_pixel_readout_names_classes():
    image, gt, _ = _case()
    pred = (np.full_like(gt, 13), np.full(gt.shape, 0.875, np.float32))
    text = pixel_readout(0, 1, image, gt, SCHEME, pred)
    assert text.startswith("x 0, y 1  ·  RGB ")
    assert "ground truth: road" in text and "prediction: car (88% sure)" in text
    assert "ground truth: ignored" in pixel_readout(2, 0, image, gt, SCHEME)


def test_lru_cache_is_bounded_by_bytes():
    cache = LruCache(100)
    cache.put("a", 1, 40)
    cache.put("b", 2, 40)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3, 40)
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.nbytes == 80
    cache.put("huge", 4, 1000)
    assert "huge" not in cache and len(cache) == 2
