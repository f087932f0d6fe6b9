"""Painters of who is on a demo street: cars, trucks and buses, and pedestrians."""

from __future__ import annotations

import numpy as np

from segviewer.core.demo_scene.canvas import Canvas
from segviewer.core.demo_scene.palette import BUS, CAR, PAINT, PERSON, SKIN, TRUCK


def vehicle(c: Canvas, xc: float, z0: float, kind: str, oncoming: bool) -> None:
    rng = c.rng
    cls, wide, length, tall = {"car": (CAR, 1.8, 4.4, rng.uniform(1.4, 1.6)), "truck": (TRUCK, 2.4, 8.0, 3.4),
                               "bus": (BUS, 2.5, 12.0, 3.2)}[kind]  # fmt: skip
    paint = c.jit(PAINT[int(rng.integers(len(PAINT)))], 8)
    x0, x1, z1 = xc - wide / 2, xc + wide / 2, z0 + length
    c.fill(c.ground(x0 - 0.15, x1 + 0.15, z0 - 0.3, z1), None, (25, 25, 28))  # shadow
    for wx in (x0 + 0.05, x1 - 0.3):
        c.fill(c.face_z(wx, wx + 0.25, 0, 0.4, z0 + 0.3), cls, (20, 20, 22), z0)
    c.box(x0, x1, 0.3, 0.95 if kind == "car" else tall, z0, z1, cls, paint)
    side = x0 if x0 > 0 else (x1 if x1 < 0 else None)  # the flank the camera sees, if any
    glass = c.jit((40, 50, 60), 6)
    if kind == "car":
        c.box(x0 + 0.15, x1 - 0.15, 0.95, tall, z0 + 1.0, z1 - 1.2, cls, paint)
        c.fill(c.face_z(x0 + 0.25, x1 - 0.25, 1.0, tall - 0.08, z0 + 1.0), None, glass)
        if side is not None:
            inset = side + (0.15 if side == x0 else -0.15)
            c.fill(c.face_x(inset, 1.0, tall - 0.08, z0 + 1.15, z1 - 1.35), None, glass)
    else:
        band = c.face_z(x0 + 0.2, x1 - 0.2, tall - 1.3, tall - 0.3, z0)
        c.fill(band, None, glass if kind == "bus" else paint * 0.8)
        if kind == "bus" and side is not None:
            c.fill(c.face_x(side, tall - 1.5, tall - 0.4, z0 + 0.3, z1 - 0.3), None, glass)
    if side is not None:
        ang = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        for zc in (z0 + 0.85, z1 - 0.95):
            wheel = np.stack([np.full(10, side), 0.34 + 0.34 * np.sin(ang), zc + 0.34 * np.cos(ang)], -1)
            c.fill(c.proj(wheel), cls, (22, 22, 24), z0)
    on = c.mode != "day" or rng.random() < 0.2
    for lx in (x0 + 0.1, x1 - 0.45):
        lamp = c.face_z(lx, lx + 0.35, 0.65, 0.82, z0)
        c.fill(lamp, None, (255, 245, 215) if oncoming else (230, 25, 25), None, 2 if on else 0)
    c.fill(c.face_z(xc - 0.25, xc + 0.25, 0.42, 0.55, z0), None, (235, 230, 200))  # plate


def person(c: Canvas, x: float, z: float) -> None:
    rng, hp = c.rng, c.rng.uniform(1.5, 1.9)
    shirt = c.jit(rng.integers(20, 235, 3), 5)
    trousers = c.jit(PAINT[int(rng.integers(len(PAINT)))] if rng.random() < 0.3 else (40, 45, 70), 10)
    skin = c.jit(SKIN[int(rng.integers(len(SKIN)))], 6)
    stride, shoulder, hip = rng.uniform(0.02, 0.18), 0.21 * hp / 1.75, 0.15 * hp / 1.75
    for s in (-1, 1):
        leg = c.limb((x + s * 0.08, hp * 0.53), (x + s * (0.08 + stride), 0), 0.07, 0.06, z)
        c.fill(leg, PERSON, trousers, z)
        swing = s * rng.uniform(0, 0.12)
        arm = c.limb(
            (x + s * shoulder, hp * 0.81), (x + s * (shoulder + 0.06) + swing, hp * 0.47), 0.05, 0.04, z
        )
        c.fill(arm, PERSON, shirt * 0.85, z)
    c.fill(c.limb((x, hp * 0.82), (x, hp * 0.5), shoulder, hip, z), PERSON, shirt, z)
    head = c.disc(x, hp - 0.12, z, 0.11)
    c.fill(head, PERSON, skin, z)
    c.fill(head[:8], None, c.jit((40, 30, 25), 10))  # hair on top
