"""Painters of what stands beside a demo street: buildings with windows, hedges and fences, tree lines,
trees, poles, street lamps, traffic signs and traffic lights."""

from __future__ import annotations

import numpy as np

from segviewer.core.demo_scene.canvas import Canvas
from segviewer.core.demo_scene.palette import BUILDING, FENCE, LIGHT, POLE, SIGN, VEG


def building(c: Canvas, side: int, x: float, z0: float, length: float, tall: float, colour) -> None:
    rng, z1, back = c.rng, z0 + length, x + side * 12
    c.fill(c.face_z(min(x, back), max(x, back), 0, tall, z0), BUILDING, colour * 0.85, z0)
    c.fill(c.face_x(x, 0, tall, z0, z1), BUILDING, colour, z0)
    c.fill(c.face_x(x, tall - 0.6, tall, z0, z1), None, colour * 0.7)  # cornice
    floor, bay = rng.uniform(2.8, 3.6), rng.uniform(2.4, 4.0)
    shop = rng.random() < 0.5
    if shop:
        c.fill(c.face_x(x, 0.3, floor - 0.5, z0 + 0.8, z1 - 0.8), None, c.jit((40, 45, 55), 10))
    if c.px(1.2, z0) < 0.7:
        return
    ys, zs = (
        np.arange(floor if shop else 0.0, tall - 2.5, floor),
        np.arange(z0 + 0.6, z1 - bay * 0.5, bay),
    )
    zs = zs[c.f * bay / zs > 1.2]  # skip windows smaller than a pixel
    y, z = (a.ravel() for a in np.meshgrid(ys, zs))
    if y.size == 0:
        return
    panes = c.face_x(x, y + 0.9, y + 2.3, z, z + bay * 0.55)
    glass = c.jit((55, 68, 82) if rng.random() < 0.7 else (125, 145, 165), 6)
    lit_share = {"night": 0.45, "dusk": 0.15}.get(c.mode, 0.0)
    group = rng.integers(0, 3, y.size) + 3 * (rng.random(y.size) < lit_share)
    for g in np.unique(group):
        lit = g >= 3
        pane = (255, 215, 130) if lit else glass * (0.85 + 0.15 * g)
        c.fill(panes[group == g], None, pane, None, 2 if lit else 0)


def hedge(c: Canvas, x: float) -> None:
    tall, cls = c.rng.uniform(0.8, 1.6), VEG if c.rng.random() < 0.6 else FENCE
    colour = c.jit((55, 95, 40) if cls == VEG else (150, 120, 85), 10)
    c.fill(c.face_x(x, 0, tall, 0.5, 150), cls, colour, 0.5)
    if cls == FENCE:
        zs = np.arange(1.0, 60, 0.5)
        c.fill(c.face_x(x, 0, tall, zs, zs + 0.08), None, colour * 0.6)


def treeline(c: Canvas, x: float) -> None:
    """A forest edge along the road: a wall whose top is a row of rounded crowns."""
    rng, z, pts, t = c.rng, 0.5, [], np.linspace(0, 1, 6)
    while z < 400:
        wide, base, bump = rng.uniform(3, 7) * (1 + z / 60), rng.uniform(5, 10), rng.uniform(2, 6)
        pts += [(x, base + bump * np.sqrt(np.sin(np.pi * k)), z + wide * k) for k in t]
        z += wide * rng.uniform(0.7, 1.0)
    outline = np.vstack([c.proj(pts), c.proj([(x, 0, pts[-1][2]), (x, 0, 0.5)])])
    c.fill(outline, VEG, c.jit((50, 82, 40), 4), 50)


def tree(c: Canvas, x: float, z: float) -> None:
    rng = c.rng
    trunk, r = rng.uniform(2.0, 3.5), rng.uniform(1.2, 2.6)
    c.fill(c.face_z(x - 0.15, x + 0.15, 0, trunk + r * 0.5, z), VEG, c.jit((90, 65, 45), 8), z)
    green = c.jit((70, 110, 45) if rng.random() < 0.7 else (110, 120, 50), 12)
    for _ in range(9):  # the crown: overlapping blobs of different greens
        cx, cy = x + rng.uniform(-0.7, 0.7) * r, trunk + r + rng.uniform(-0.6, 0.7) * r
        c.fill(c.disc(cx, cy, z, r * rng.uniform(0.45, 0.75), 16), VEG, green * rng.uniform(0.75, 1.2), z)


def pole(c: Canvas, x: float, z: float, tall: float) -> None:
    c.fill(c.face_z(x - 0.07, x + 0.07, 0, tall, z), POLE, c.jit((130, 130, 128), 8), z)


def lamp(c: Canvas, x: float, z: float, side: int) -> None:
    tall, arm = c.rng.uniform(6.5, 9), x - side * 1.6
    pole(c, x, z, tall)
    c.fill(c.face_z(min(x, arm), max(x, arm), tall - 0.12, tall, z), POLE, (120, 120, 118), z)
    on = c.mode != "day"
    head = c.face_z(arm - 0.35, arm + 0.35, tall - 0.3, tall - 0.05, z)
    c.fill(head, POLE, (255, 235, 190) if on else (90, 90, 90), z, 2 if on else 0)


def sign(c: Canvas, x: float, z: float) -> None:
    rng, tall = c.rng, c.rng.uniform(2.2, 3.0)
    pole(c, x, z, tall + 0.3)
    (cx, cy), r = c.proj([(x, tall, z - 0.05)])[0], c.px(rng.uniform(0.3, 0.45), z)
    shape = int(rng.integers(4))  # no entry / warning / information / priority road
    n, rot = [(24, 0), (3, np.pi / 2), (4, np.pi / 4), (4, 0)][shape]
    ang = rot + np.arange(n) * 2 * np.pi / n
    outer = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
    rim, face = [((200, 25, 30), (250, 250, 250)), ((200, 25, 30), (250, 250, 245)),
                 ((240, 240, 240), (30, 70, 170)), ((30, 30, 30), (240, 200, 30))][shape]  # fmt: skip
    c.fill(outer, SIGN, c.jit(rim, 8), z - 0.05)
    c.fill(np.array([cx, cy]) + (outer - (cx, cy)) * 0.72, None, c.jit(face, 8))


def traffic_light(c: Canvas, x: float, z: float, side: int) -> None:
    rng = c.rng
    if rng.random() < 0.6:  # a mast arm over the road with hanging lights
        reach, tall = x - side * rng.uniform(3, 7), rng.uniform(5.5, 6.5)
        pole(c, x, z, tall + 0.3)
        c.fill(c.face_z(min(x, reach), max(x, reach), tall, tall + 0.15, z), POLE, (110, 110, 108), z)
        heads = [(reach + side * 0.3, tall - 1.0), (reach + side * 3.2, tall - 1.0)]
    else:
        heads = [(x, rng.uniform(2.6, 3.2))]
        pole(c, x, z, heads[0][1] + 0.1)
    state = int(rng.integers(3))
    for hx, hy in heads:
        c.fill(c.face_z(hx - 0.18, hx + 0.18, hy, hy + 1.0, z - 0.1), LIGHT, c.jit((35, 38, 35), 5), z - 0.1)
        for k, colour in enumerate([(255, 40, 30), (255, 180, 20), (60, 255, 120)]):
            on = k == 2 - state
            bulb = c.disc(hx, hy + 0.82 - 0.31 * k, z - 0.12, 0.11, 12)
            c.fill(bulb, None, colour if on else (55, 55, 50), None, 2 if on else 0)
