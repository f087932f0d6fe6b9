"""The layout of a demo street: lanes, road edges and sidewalks, then where each building, tree, lamp,
sign, traffic light, vehicle and person goes. Placing only queues painters; they draw far to near."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from segviewer.core.demo_scene.canvas import Canvas
from segviewer.core.demo_scene.palette import FACADES
from segviewer.core.demo_scene.road_users import person, vehicle
from segviewer.core.demo_scene.roadside import building, hedge, lamp, sign, traffic_light, tree, treeline

Painters = list[tuple[float, Callable[[], None]]]  # (depth key, painter); larger keys are drawn first


@dataclass(frozen=True)
class Street:
    """The road across the picture, in metres (world X; the camera is at X = 0)."""

    lanes: int
    oncoming: int  # lanes left of the centre line
    lw: float  # lane width
    rl: float  # road edge, left
    rr: float  # road edge, right
    park: bool  # cars parked along both edges
    sw: float  # sidewalk width; 0 without sidewalks


def plan_street(c: Canvas) -> Street:
    rng = c.rng
    lanes = int(rng.integers(2, 5)) if c.kind == "city" else 2
    oncoming = max(lanes // 2, 1) if lanes > 2 else 1
    lw = rng.uniform(3.0, 3.7)
    ego = int(rng.integers(oncoming, lanes))
    rl = -(ego + 0.5) * lw + rng.uniform(-0.4, 0.4)
    rr = rl + lanes * lw
    park = c.kind != "rural" and rng.random() < 0.5
    sw = {"city": rng.uniform(2.5, 5), "suburb": rng.uniform(1.5, 2.6), "rural": 0.0}[c.kind]
    return Street(lanes, oncoming, lw, rl, rr, park, sw)


def populate(c: Canvas, street: Street) -> Painters:
    """Painters for everything that stands on or beside the road, in drawing order once sorted."""
    things: Painters = []
    for side in (-1, 1):
        roadside(c, street, side, things)
    traffic(c, street, things)
    people(c, street, things)
    return things


def roadside(c: Canvas, street: Street, side: int, things: Painters) -> None:
    rng = c.rng
    edge = street.rr if side > 0 else street.rl
    walk = edge + side * street.sw
    if c.kind == "city":
        buildings(c, side, walk + side * rng.uniform(0, 1.5), (8, 35), things)
    elif c.kind == "suburb":
        buildings(c, side, walk + side * rng.uniform(4, 10), (5, 10), things)
        if rng.random() < 0.6:
            things.append((5e4, partial(hedge, c, walk + side * rng.uniform(0.2, 1.0))))
    else:
        things.append((1e5 + 9e3, partial(treeline, c, edge + side * rng.uniform(6, 30))))
    for z in np.cumsum(rng.uniform(6, 16, 12)):  # street trees
        if rng.random() < (0.3 if c.kind == "city" else 0.5):
            x = edge + side * (rng.uniform(0.6, 1.0) if street.sw else rng.uniform(2, 6))
            things.append((z, partial(tree, c, x, z)))
    if c.kind != "rural":
        for z in np.arange(rng.uniform(8, 25), 150, rng.uniform(25, 45)):
            things.append((z, partial(lamp, c, edge + side * 0.5, z, side)))
    for _ in range(int(rng.integers(0, 3))):
        z = rng.uniform(6, 60)
        things.append((z, partial(sign, c, edge + side * rng.uniform(0.4, 1.2), z)))
    if rng.random() < (0.7 if c.kind == "city" else 0.3):
        z = rng.uniform(12, 45)
        things.append((z, partial(traffic_light, c, edge + side * 0.6, z, side)))


def buildings(c: Canvas, side: int, x: float, heights, things: Painters) -> None:
    rng, z = c.rng, 0.5
    while z < 180:
        length = rng.uniform(8, 30)
        if rng.random() < 0.15:  # a gap between buildings
            z += rng.uniform(3, 10)
            continue
        colour = c.jit(FACADES[int(rng.integers(len(FACADES)))], 10) * (0.95 if side == c.sun else 0.7)
        paint = partial(
            building, c, side, x + side * rng.uniform(0, 2), z, length, rng.uniform(*heights), colour
        )
        things.append((1e5 + z, paint))  # before everything else, far ones first
        z += length


def traffic(c: Canvas, street: Street, things: Painters) -> None:
    rng = c.rng
    for lane in range(street.lanes):
        xc = street.rl + (lane + 0.5) * street.lw
        for z in np.cumsum(rng.uniform(9, 35, 8)) + rng.uniform(-4, 8):
            if 5 < z < 110 and rng.random() < 0.65:
                kind = "car" if rng.random() < 0.85 else str(rng.choice(["truck", "bus"]))
                draw = partial(vehicle, c, xc + rng.uniform(-0.3, 0.3), z, kind, lane < street.oncoming)
                things.append((z, draw))
    if street.park:
        for x in (street.rl + 1.2, street.rr - 1.2):
            for z in np.cumsum(rng.uniform(5, 9, 12)) - 3:
                if rng.random() < 0.7:
                    things.append((z, partial(vehicle, c, x, z, "car", False)))


def people(c: Canvas, street: Street, things: Painters) -> None:
    rng = c.rng
    low, high = {"city": (1, 9), "suburb": (0, 4), "rural": (0, 2)}[c.kind]
    for _ in range(int(rng.integers(low, high))):
        side = 1 if rng.random() < 0.5 else -1
        edge = street.rr if side > 0 else street.rl
        on_walk = street.sw and rng.random() < 0.85
        x = edge + side * rng.uniform(0.5, street.sw - 0.3) if on_walk else rng.uniform(street.rl, street.rr)
        z = 4 + 40 * rng.random() ** 1.5  # more people close by
        things.append((z, partial(person, c, x, z)))
