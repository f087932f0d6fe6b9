"""Painters of a demo scene's background, drawn before anything else: the sky with its clouds, the
ground with the road, its markings and the sidewalks, and the skyline or tree line at the horizon."""

from __future__ import annotations

import cv2
import numpy as np

from segviewer.core.demo_scene.canvas import Canvas
from segviewer.core.demo_scene.palette import BUILDING, LIGHTING, ROAD, SIDEWALK, TERRAIN, VEG
from segviewer.core.demo_scene.street import Street


def sky(c: Canvas) -> None:
    top, hor, *_ = LIGHTING[c.mode]
    top, hor = c.jit(top, 10), c.jit(hor, 10)
    if c.weather in ("fog", "rain"):
        grey = np.array(LIGHTING[c.mode][4], np.float32) * (0.8 if c.weather == "rain" else 1.0)
        top, hor = 0.3 * top + 0.7 * grey, 0.2 * hor + 0.8 * grey
    rows = min(c.h, int(c.yh) + 2)
    t = (np.arange(rows, dtype=np.float32) / max(c.yh, 1)).clip(0, 1)[:, None, None] ** 1.5
    picture = top * (1 - t) + hor * t + np.zeros((1, c.w, 1), np.float32)
    if c.mode != "night" and c.rng.random() < 0.7:  # soft clouds from upscaled noise
        cells = c.rng.random((max(c.h // 40, 2), max(c.w // 40, 2))).astype(np.float32)
        cloud = cv2.resize(cells, (c.w, c.h), interpolation=cv2.INTER_CUBIC)[:rows, :, None]
        cloud = ((cloud - c.rng.uniform(0.45, 0.75)) * 3).clip(0, 1) * (1 - 0.6 * t)
        picture = picture * (1 - 0.8 * cloud) + 0.8 * cloud * min(255, hor.max() + 20)
    c.img[:rows] = picture.clip(0, 255).astype(np.uint8)


def ground_plane(c: Canvas, street: Street) -> None:
    h, w, rng, far = c.h, c.w, c.rng, 2000.0
    rl, rr, lw, lanes, sw = street.rl, street.rr, street.lw, street.lanes, street.sw
    grass = c.jit((95, 125, 55) if rng.random() < 0.7 else (140, 125, 80), 10)
    c.fill([(-w, c.yh + 0.5), (2 * w, c.yh + 0.5), (2 * w, 2 * h), (-w, 2 * h)], TERRAIN, grass)
    asphalt = c.jit(np.full(3, rng.uniform(70, 125)), 4)
    c.fill(c.ground(rl, rr, 0.5, far), ROAD, asphalt)
    white = c.jit((230, 230, 225), 6)
    for i in range(1, lanes):  # markings: solid or yellow centre line, dashes between lanes
        x = rl + i * lw
        if i == street.oncoming and (lanes > 2 or rng.random() < 0.5):
            paint = (225, 190, 40) if rng.random() < 0.5 else white
            c.fill(c.ground(x - 0.08, x + 0.08, 0.5, far), None, paint)
            continue
        period, dash = rng.uniform(9, 13), rng.uniform(3, 4)
        z = np.arange(rng.uniform(0.5, 6), 150, period)
        c.fill(c.ground(x - 0.07, x + 0.07, z, z + dash), None, white)
    for x in (rl + 0.25, rr - 0.25):
        c.fill(c.ground(x - 0.07, x + 0.07, 0.5, far), None, white)
    if c.kind != "rural" and rng.random() < 0.35:  # zebra crossing
        z0 = rng.uniform(9, 25)
        for k in np.arange(rl + 0.6, rr - 0.6, 1.0):
            c.fill(c.ground(k, k + 0.5, z0, z0 + 3), None, white)
    for _ in range(int(rng.integers(0, 5))):  # asphalt patches
        x, z = rng.uniform(rl, rr - 1), rng.uniform(3, 60)
        c.fill(c.ground(x, x + rng.uniform(0.5, 2), z, z + rng.uniform(0.5, 4)), None, asphalt * 0.85)
    if sw:
        slab = c.jit(rng.choice([(165, 160, 150), (190, 180, 160), (150, 150, 155)]), 8)
        for a, b in ((rl - sw, rl), (rr, rr + sw)):
            c.fill(c.ground(a, b, 0.5, far), SIDEWALK, slab)
            kerb = b - 0.2 if a < 0 else a
            c.fill(c.ground(kerb, kerb + 0.2, 0.5, far), None, slab * 1.15)
            joints = np.cumsum(rng.uniform(1.5, 2.5, 40)) + rng.uniform(-1, 0.5)
            c.fill(c.ground(a, b, joints, joints + 0.06), None, slab * 0.8)


def backdrop(c: Canvas) -> None:
    """The far end of the street: a skyline or a tree line across the horizon."""
    rng, z, x, base = c.rng, c.rng.uniform(220, 400), -c.w, c.yh + 1
    city = c.kind == "city" or (c.kind == "suburb" and rng.random() < 0.3)
    while x < 2 * c.w:
        wide = rng.uniform(0.04, 0.12) * c.w
        if city:
            top = c.yh - c.px(rng.uniform(12, 60), z)
            c.fill(
                [(x, base), (x + wide, base), (x + wide, top), (x, top)],
                BUILDING,
                c.jit((150, 150, 160), 20),
                z,
            )
        else:
            xs, tops = (
                np.linspace(x, x + wide, 6),
                c.yh - c.px(rng.uniform(8, 20), z) * rng.uniform(0.6, 1, 6),
            )
            pts = [(x, base), *zip(xs, tops, strict=True), (x + wide, base)]
            c.fill(pts, VEG, c.jit((60, 85, 50), 6), z)
        x += wide * rng.uniform(0.7, 1.0)
