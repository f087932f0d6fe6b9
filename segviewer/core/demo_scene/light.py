"""The last pass over a drawn demo scene: texture, lighting and tint, fog, the glow of lamps, rain."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from segviewer.core.demo_scene.canvas import Canvas
from segviewer.core.demo_scene.palette import LIGHTING, TEXTURE

_AMP_FINE = np.zeros(256, np.float32)
_AMP_BLOT = np.zeros(256, np.float32)
for _cls, (_fine, _blot) in TEXTURE.items():
    _AMP_FINE[_cls], _AMP_BLOT[_cls] = _fine, _blot


def finish(c: Canvas) -> np.ndarray:
    """Texture, lighting, fog, glow and rain on the drawn picture; the mask stays as drawn."""
    h, w, rng, m = c.h, c.w, c.rng, c.mask
    fine = rng.standard_normal((h, w), dtype=np.float32)
    blot = cv2.resize(rng.standard_normal((h // 6 + 2, w // 6 + 2), dtype=np.float32), (w, h))
    low = cv2.resize(rng.standard_normal((4, 6), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    _, _, gain, tint, fog = LIGHTING[c.mode]
    gain *= 0.75 if c.weather == "rain" else 1.0
    lit = c.emit == 0
    keep = np.exp(-c.depth / np.float32(c.vis))  # share of the colour that gets through the haze
    factor = 1 + (_AMP_FINE[m] * fine + _AMP_BLOT[m] * blot) / 100
    factor *= (1 + 0.07 * low) * _vignette(h, w) * np.where(lit, np.float32(gain), np.float32(1)) * keep
    if c.mode == "day":
        img = c.img * factor[..., None]
    else:  # tint only what the scene's light falls on, not the sky or the lamps
        img = c.img * (factor[..., None] * np.where(lit[..., None], np.float32(tint), np.float32(1)))
    img += (1 - keep)[..., None] * np.asarray(fog, np.float32)
    glow = c.emit == 2
    if c.mode != "day" and glow.any():  # bloom around lamps, blurred at a quarter of the size
        small = cv2.resize(
            np.where(glow[..., None], img, 0),
            (max(w // 4, 1), max(h // 4, 1)),
            interpolation=cv2.INTER_AREA,
        )
        small = cv2.GaussianBlur(small, (0, 0), max(w / 500, 0.5))
        img += cv2.resize(small, (w, h)) * (1.5 if c.mode == "night" else 0.7)
    if c.weather == "rain":
        img = _rain(c, img)
    return img.clip(0, 255).astype(np.uint8)


def _rain(c: Canvas, img: np.ndarray) -> np.ndarray:
    h, w, rng = c.h, c.w, c.rng
    n, step = int(h * w / 700), max(w / 60, 2)
    start = rng.uniform(0, 1, (n, 2)) * (w, h)
    end = start + np.stack([rng.uniform(-0.25, -0.1, n), np.ones(n)], 1) * step
    streaks = np.zeros((h, w), np.float32)
    lines = np.concatenate([start, end], 1).round().astype(np.int32).reshape(-1, 2, 2)
    cv2.polylines(streaks, list(lines), False, 1.0, 1, cv2.LINE_AA)
    return cv2.GaussianBlur(img + streaks[..., None] * 70, (0, 0), 0.7)


@lru_cache(maxsize=4)
def _vignette(h: int, w: int) -> np.ndarray:
    yy, xx = np.ogrid[:h, :w]
    return (1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)).astype(np.float32)
