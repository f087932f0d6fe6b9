"""Procedural street scenes for the demo data set: an RGB picture and its bdd100k training-id mask.

Drawn with numpy and OpenCV; deterministic for a seed. `segviewer.core.demo` writes them to disk.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial

import cv2
import numpy as np

from segviewer.core.labels import get_scheme

_IDS = {c.name: c.id for c in get_scheme("bdd100k").classes}
ROAD, SIDEWALK, BUILDING, FENCE, POLE = (_IDS[n] for n in ("road", "sidewalk", "building", "fence", "pole"))
LIGHT, SIGN, VEG, TERRAIN = (_IDS[n] for n in ("traffic light", "traffic sign", "vegetation", "terrain"))
SKY, PERSON, CAR, TRUCK, BUS = (_IDS[n] for n in ("sky", "person", "car", "truck", "bus"))

# fmt: off
# Texture: noise in percent of the colour per class (fine grain, blotches). Leaves are rough, sky smooth.
_TEXTURE = {ROAD: (6, 5), SIDEWALK: (5, 5), BUILDING: (3, 5), FENCE: (5, 4), POLE: (3, 2), VEG: (14, 28),
            TERRAIN: (12, 14), SKY: (1, 1.5), PERSON: (4, 3), CAR: (3, 2), TRUCK: (3, 3), BUS: (3, 3)}
_FACADES = [(150, 78, 60), (185, 160, 125), (205, 198, 185), (125, 115, 105), (165, 120, 85), (215, 205, 170),
            (110, 122, 135), (195, 172, 150), (135, 58, 48), (232, 226, 214), (160, 170, 150), (90, 85, 95)]
_PAINT = [(235, 235, 232), (28, 28, 32), (160, 164, 170), (150, 22, 28), (32, 62, 135), (82, 82, 88),
          (200, 190, 160), (40, 90, 62), (225, 195, 40), (105, 30, 42), (120, 160, 200)]
_SKIN = [(240, 200, 170), (200, 150, 110), (150, 100, 70), (95, 65, 45), (225, 180, 140)]
_LIGHTING = {  # sky top, sky at the horizon, gain on lit surfaces, colour tint, fog colour
    "day": ((70, 125, 205), (185, 208, 232), 1.0, (1.0, 1.0, 1.0), (205, 210, 215)),
    "dusk": ((45, 55, 110), (245, 150, 90), 0.55, (1.12, 0.92, 0.8), (170, 140, 135)),
    "night": ((4, 6, 18), (30, 32, 55), 0.3, (0.8, 0.85, 1.1), (28, 28, 36)),
}
_VISIBILITY = {"clear": (400, 900, 0.95), "haze": (120, 250, 0.6), "fog": (25, 60, 0.1), "rain": (80, 160, 0.5)}
# fmt: on
_AMP_FINE = np.zeros(256, np.float32)
_AMP_BLOT = np.zeros(256, np.float32)
for _cls, (_fine, _blot) in _TEXTURE.items():
    _AMP_FINE[_cls], _AMP_BLOT[_cls] = _fine, _blot


def render_scene(seed: int, size: tuple[int, int] = (360, 640)) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (RGB uint8 (H, W, 3), mask uint8 (H, W) of bdd100k training ids); same seed, same bytes."""
    h, w = int(size[0]), int(size[1])
    if h < 8 or w < 8:
        raise ValueError(f"scene size {h}x{w} is too small; use at least 8x8")
    scene = _Scene(h, w, np.random.default_rng(seed))
    scene.draw()
    return scene.finish(), scene.mask


class _Scene:
    """Canvas + camera. World: X right, Y up (metres above the road), Z forward from the camera."""

    def __init__(self, h: int, w: int, rng: np.random.Generator):
        self.h, self.w, self.rng = h, w, rng
        self.mode = str(rng.choice(["day", "day", "day", "dusk", "night"]))
        self.weather = str(rng.choice(["clear", "clear", "clear", "haze", "fog", "rain"]))
        self.kind = str(rng.choice(["city", "city", "suburb", "rural"]))
        self.f, self.hc = (
            w * rng.uniform(0.62, 0.9),
            rng.uniform(1.2, 2.0),
        )  # focal length (px), camera height
        self.yh, self.xv = h * rng.uniform(0.36, 0.5), w * rng.uniform(0.42, 0.58)  # vanishing point
        self.sun = int(rng.choice([-1, 1]))  # which side's facades are lit
        lo, hi, sky_keep = _VISIBILITY[self.weather]
        self.vis = rng.uniform(lo, hi)
        self.img = np.zeros((h, w, 3), np.uint8)
        self.mask = np.full((h, w), SKY, np.uint8)
        self.emit = np.ones((h, w), np.uint8)  # 0 lit by the scene's light, 1 sky, 2 lamp (glows)
        rows = np.arange(h, dtype=np.float32)[:, None] + 0.5 - self.yh
        ground_z = self.f * self.hc / np.maximum(rows, 1e-3)
        sky_z = -self.vis * np.log(sky_keep)  # the sky keeps `sky_keep` of its colour through the fog
        self.depth = np.broadcast_to(np.where(rows > 0, ground_z, sky_z), (h, w)).astype(np.float32)

    # --- drawing primitives --------------------------------------------------------------------
    def proj(self, pts) -> np.ndarray:
        p = np.asarray(pts, np.float64)
        z = np.maximum(p[..., 2], 0.3)
        return np.stack([self.xv + self.f * p[..., 0] / z, self.yh + self.f * (self.hc - p[..., 1]) / z], -1)

    def fill(self, pts2d, cls, color, z=None, emit=0) -> None:
        """Fill pixel polygon(s) (K, 2) or (N, K, 2): image always; mask, depth and emit for surfaces."""
        p = (np.asarray(pts2d) * 16).round().clip(-(2**26), 2**26).astype(np.int32)
        polys = list(p) if p.ndim == 3 else [p]
        cv2.fillPoly(self.img, polys, tuple(min(255, max(0, int(c))) for c in color), cv2.LINE_AA, 4)
        if cls is not None:
            cv2.fillPoly(self.mask, polys, int(cls), cv2.LINE_8, 4)
        if z is not None:
            cv2.fillPoly(self.depth, polys, float(z), cv2.LINE_8, 4)
        if cls is not None or emit:
            cv2.fillPoly(self.emit, polys, int(emit), cv2.LINE_8, 4)

    def face_x(self, x, y0, y1, z0, z1) -> np.ndarray:
        """Vertical wall at constant X (a facade along the street); arrays give one wall each."""
        y0, y1, z0, z1 = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (y0, y1, z0, z1)))
        xs = np.full_like(y0, x)
        return self.proj(
            np.stack([np.stack([xs, a, b], -1) for a, b in ((y0, z0), (y1, z0), (y1, z1), (y0, z1))], -2)
        )

    def face_z(self, x0, x1, y0, y1, z) -> np.ndarray:
        """Vertical rectangle facing the camera."""
        return self.proj([(x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z)])

    def ground(self, x0, x1, z0, z1) -> np.ndarray:
        """Strip of road surface; arrays of z give one strip each."""
        z0, z1 = np.broadcast_arrays(np.asarray(z0, np.float64), np.asarray(z1, np.float64))
        corners = [(x0, z0), (x1, z0), (x1, z1), (x0, z1)]
        return self.proj(
            np.stack([np.stack([np.full_like(z0, x), np.zeros_like(z0), z], -1) for x, z in corners], -2)
        )

    def limb(self, a, b, half_a: float, half_b: float, z: float) -> np.ndarray:
        """A body part facing the camera: a quad from point a (half width half_a) to point b."""
        (ax, ay), (bx, by) = a, b
        return self.proj(
            [(ax - half_a, ay, z), (ax + half_a, ay, z), (bx + half_b, by, z), (bx - half_b, by, z)]
        )

    def disc(self, x, y, z, radius, n: int = 14) -> np.ndarray:
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return self.proj(np.stack([x + radius * np.cos(ang), y + radius * np.sin(ang), np.full(n, z)], -1))

    def box(self, x0, x1, y0, y1, z0, z1, cls, color) -> None:
        """Visible faces of an axis-aligned box, shaded by orientation."""
        color = np.asarray(color, np.float32)
        if y1 < self.hc:
            self.fill(
                self.proj([(x0, y1, z0), (x1, y1, z0), (x1, y1, z1), (x0, y1, z1)]), cls, color * 1.1, z0
            )
        if x0 > 0 or x1 < 0:
            self.fill(self.face_x(x0 if x0 > 0 else x1, y0, y1, z0, z1), cls, color * 0.72, z0)
        self.fill(self.face_z(x0, x1, y0, y1, z0), cls, color * 0.88, z0)

    def jit(self, color, amount: float = 14.0) -> np.ndarray:
        c = np.asarray(color, np.float32) * self.rng.uniform(0.85, 1.15)
        return np.clip(c + self.rng.normal(0, amount, 3), 0, 255)

    def px(self, metres: float, z: float) -> float:
        return self.f * metres / max(z, 0.3)

    # --- the scene -----------------------------------------------------------------------------
    def draw(self) -> None:
        rng = self.rng
        self.lanes = int(rng.integers(2, 5)) if self.kind == "city" else 2
        self.oncoming = max(self.lanes // 2, 1) if self.lanes > 2 else 1  # lanes left of the centre line
        self.lw = rng.uniform(3.0, 3.7)
        ego = int(rng.integers(self.oncoming, self.lanes))
        self.rl = -(ego + 0.5) * self.lw + rng.uniform(-0.4, 0.4)  # road edges, left and right
        self.rr = self.rl + self.lanes * self.lw
        self.park = self.kind != "rural" and rng.random() < 0.5
        self.sw = {"city": rng.uniform(2.5, 5), "suburb": rng.uniform(1.5, 2.6), "rural": 0.0}[self.kind]
        self.sky()
        self.ground_plane()
        self.backdrop()
        things: list[tuple[float, Callable[[], None]]] = []  # (depth key, painter), drawn far to near
        for side in (-1, 1):
            self.roadside(side, things)
        self.traffic(things)
        self.people(things)
        for _, paint in sorted(things, key=lambda t: -t[0]):
            paint()

    def sky(self) -> None:
        top, hor, *_ = _LIGHTING[self.mode]
        top, hor = self.jit(top, 10), self.jit(hor, 10)
        if self.weather in ("fog", "rain"):
            grey = np.array(_LIGHTING[self.mode][4], np.float32) * (0.8 if self.weather == "rain" else 1.0)
            top, hor = 0.3 * top + 0.7 * grey, 0.2 * hor + 0.8 * grey
        rows = min(self.h, int(self.yh) + 2)
        t = (np.arange(rows, dtype=np.float32) / max(self.yh, 1)).clip(0, 1)[:, None, None] ** 1.5
        sky = top * (1 - t) + hor * t + np.zeros((1, self.w, 1), np.float32)
        if self.mode != "night" and self.rng.random() < 0.7:  # soft clouds from upscaled noise
            cells = self.rng.random((max(self.h // 40, 2), max(self.w // 40, 2))).astype(np.float32)
            cloud = cv2.resize(cells, (self.w, self.h), interpolation=cv2.INTER_CUBIC)[:rows, :, None]
            cloud = ((cloud - self.rng.uniform(0.45, 0.75)) * 3).clip(0, 1) * (1 - 0.6 * t)
            sky = sky * (1 - 0.8 * cloud) + 0.8 * cloud * min(255, hor.max() + 20)
        self.img[:rows] = sky.clip(0, 255).astype(np.uint8)

    def ground_plane(self) -> None:
        h, w, rng, far = self.h, self.w, self.rng, 2000.0
        grass = self.jit((95, 125, 55) if rng.random() < 0.7 else (140, 125, 80), 10)
        self.fill([(-w, self.yh + 0.5), (2 * w, self.yh + 0.5), (2 * w, 2 * h), (-w, 2 * h)], TERRAIN, grass)
        asphalt = self.jit(np.full(3, rng.uniform(70, 125)), 4)
        self.fill(self.ground(self.rl, self.rr, 0.5, far), ROAD, asphalt)
        white = self.jit((230, 230, 225), 6)
        for i in range(1, self.lanes):  # markings: solid or yellow centre line, dashes between lanes
            x = self.rl + i * self.lw
            if i == self.oncoming and (self.lanes > 2 or rng.random() < 0.5):
                paint = (225, 190, 40) if rng.random() < 0.5 else white
                self.fill(self.ground(x - 0.08, x + 0.08, 0.5, far), None, paint)
                continue
            period, dash = rng.uniform(9, 13), rng.uniform(3, 4)
            z = np.arange(rng.uniform(0.5, 6), 150, period)
            self.fill(self.ground(x - 0.07, x + 0.07, z, z + dash), None, white)
        for x in (self.rl + 0.25, self.rr - 0.25):
            self.fill(self.ground(x - 0.07, x + 0.07, 0.5, far), None, white)
        if self.kind != "rural" and rng.random() < 0.35:  # zebra crossing
            z0 = rng.uniform(9, 25)
            for k in np.arange(self.rl + 0.6, self.rr - 0.6, 1.0):
                self.fill(self.ground(k, k + 0.5, z0, z0 + 3), None, white)
        for _ in range(int(rng.integers(0, 5))):  # asphalt patches
            x, z = rng.uniform(self.rl, self.rr - 1), rng.uniform(3, 60)
            self.fill(
                self.ground(x, x + rng.uniform(0.5, 2), z, z + rng.uniform(0.5, 4)), None, asphalt * 0.85
            )
        if self.sw:
            slab = self.jit(rng.choice([(165, 160, 150), (190, 180, 160), (150, 150, 155)]), 8)
            for a, b in ((self.rl - self.sw, self.rl), (self.rr, self.rr + self.sw)):
                self.fill(self.ground(a, b, 0.5, far), SIDEWALK, slab)
                kerb = b - 0.2 if a < 0 else a
                self.fill(self.ground(kerb, kerb + 0.2, 0.5, far), None, slab * 1.15)
                joints = np.cumsum(rng.uniform(1.5, 2.5, 40)) + rng.uniform(-1, 0.5)
                self.fill(self.ground(a, b, joints, joints + 0.06), None, slab * 0.8)

    def backdrop(self) -> None:
        """The far end of the street: a skyline or a tree line across the horizon."""
        rng, z, x, base = self.rng, self.rng.uniform(220, 400), -self.w, self.yh + 1
        city = self.kind == "city" or (self.kind == "suburb" and rng.random() < 0.3)
        while x < 2 * self.w:
            wide = rng.uniform(0.04, 0.12) * self.w
            if city:
                top = self.yh - self.px(rng.uniform(12, 60), z)
                self.fill(
                    [(x, base), (x + wide, base), (x + wide, top), (x, top)],
                    BUILDING,
                    self.jit((150, 150, 160), 20),
                    z,
                )
            else:
                xs, tops = (
                    np.linspace(x, x + wide, 6),
                    self.yh - self.px(rng.uniform(8, 20), z) * rng.uniform(0.6, 1, 6),
                )
                pts = [(x, base), *zip(xs, tops, strict=True), (x + wide, base)]
                self.fill(pts, VEG, self.jit((60, 85, 50), 6), z)
            x += wide * rng.uniform(0.7, 1.0)

    def roadside(self, side: int, things: list) -> None:
        rng = self.rng
        edge = self.rr if side > 0 else self.rl
        walk = edge + side * self.sw
        if self.kind == "city":
            self.buildings(side, walk + side * rng.uniform(0, 1.5), (8, 35), things)
        elif self.kind == "suburb":
            self.buildings(side, walk + side * rng.uniform(4, 10), (5, 10), things)
            if rng.random() < 0.6:
                things.append((5e4, partial(self.hedge, walk + side * rng.uniform(0.2, 1.0))))
        else:
            things.append((1e5 + 9e3, partial(self.treeline, edge + side * rng.uniform(6, 30))))
        for z in np.cumsum(rng.uniform(6, 16, 12)):  # street trees
            if rng.random() < (0.3 if self.kind == "city" else 0.5):
                x = edge + side * (rng.uniform(0.6, 1.0) if self.sw else rng.uniform(2, 6))
                things.append((z, partial(self.tree, x, z)))
        if self.kind != "rural":
            for z in np.arange(rng.uniform(8, 25), 150, rng.uniform(25, 45)):
                things.append((z, partial(self.lamp, edge + side * 0.5, z, side)))
        for _ in range(int(rng.integers(0, 3))):
            z = rng.uniform(6, 60)
            things.append((z, partial(self.sign, edge + side * rng.uniform(0.4, 1.2), z)))
        if rng.random() < (0.7 if self.kind == "city" else 0.3):
            z = rng.uniform(12, 45)
            things.append((z, partial(self.traffic_light, edge + side * 0.6, z, side)))

    def buildings(self, side: int, x: float, heights, things: list) -> None:
        rng, z = self.rng, 0.5
        while z < 180:
            length = rng.uniform(8, 30)
            if rng.random() < 0.15:  # a gap between buildings
                z += rng.uniform(3, 10)
                continue
            colour = self.jit(_FACADES[int(rng.integers(len(_FACADES)))], 10) * (
                0.95 if side == self.sun else 0.7
            )
            paint = partial(
                self.building, side, x + side * rng.uniform(0, 2), z, length, rng.uniform(*heights), colour
            )
            things.append((1e5 + z, paint))  # before everything else, far ones first
            z += length

    def building(self, side: int, x: float, z0: float, length: float, tall: float, colour) -> None:
        rng, z1, back = self.rng, z0 + length, x + side * 12
        self.fill(self.face_z(min(x, back), max(x, back), 0, tall, z0), BUILDING, colour * 0.85, z0)
        self.fill(self.face_x(x, 0, tall, z0, z1), BUILDING, colour, z0)
        self.fill(self.face_x(x, tall - 0.6, tall, z0, z1), None, colour * 0.7)  # cornice
        floor, bay = rng.uniform(2.8, 3.6), rng.uniform(2.4, 4.0)
        shop = rng.random() < 0.5
        if shop:
            self.fill(self.face_x(x, 0.3, floor - 0.5, z0 + 0.8, z1 - 0.8), None, self.jit((40, 45, 55), 10))
        if self.px(1.2, z0) < 0.7:
            return
        ys, zs = (
            np.arange(floor if shop else 0.0, tall - 2.5, floor),
            np.arange(z0 + 0.6, z1 - bay * 0.5, bay),
        )
        zs = zs[self.f * bay / zs > 1.2]  # skip windows smaller than a pixel
        y, z = (a.ravel() for a in np.meshgrid(ys, zs))
        if y.size == 0:
            return
        panes = self.face_x(x, y + 0.9, y + 2.3, z, z + bay * 0.55)
        glass = self.jit((55, 68, 82) if rng.random() < 0.7 else (125, 145, 165), 6)
        lit_share = {"night": 0.45, "dusk": 0.15}.get(self.mode, 0.0)
        group = rng.integers(0, 3, y.size) + 3 * (rng.random(y.size) < lit_share)
        for g in np.unique(group):
            lit = g >= 3
            pane = (255, 215, 130) if lit else glass * (0.85 + 0.15 * g)
            self.fill(panes[group == g], None, pane, None, 2 if lit else 0)

    def hedge(self, x: float) -> None:
        tall, cls = self.rng.uniform(0.8, 1.6), VEG if self.rng.random() < 0.6 else FENCE
        colour = self.jit((55, 95, 40) if cls == VEG else (150, 120, 85), 10)
        self.fill(self.face_x(x, 0, tall, 0.5, 150), cls, colour, 0.5)
        if cls == FENCE:
            zs = np.arange(1.0, 60, 0.5)
            self.fill(self.face_x(x, 0, tall, zs, zs + 0.08), None, colour * 0.6)

    def treeline(self, x: float) -> None:
        """A forest edge along the road: a wall whose top is a row of rounded crowns."""
        rng, z, pts, t = self.rng, 0.5, [], np.linspace(0, 1, 6)
        while z < 400:
            wide, base, bump = rng.uniform(3, 7) * (1 + z / 60), rng.uniform(5, 10), rng.uniform(2, 6)
            pts += [(x, base + bump * np.sqrt(np.sin(np.pi * k)), z + wide * k) for k in t]
            z += wide * rng.uniform(0.7, 1.0)
        outline = np.vstack([self.proj(pts), self.proj([(x, 0, pts[-1][2]), (x, 0, 0.5)])])
        self.fill(outline, VEG, self.jit((50, 82, 40), 4), 50)

    def tree(self, x: float, z: float) -> None:
        rng = self.rng
        trunk, r = rng.uniform(2.0, 3.5), rng.uniform(1.2, 2.6)
        self.fill(self.face_z(x - 0.15, x + 0.15, 0, trunk + r * 0.5, z), VEG, self.jit((90, 65, 45), 8), z)
        green = self.jit((70, 110, 45) if rng.random() < 0.7 else (110, 120, 50), 12)
        for _ in range(9):  # the crown: overlapping blobs of different greens
            cx, cy = x + rng.uniform(-0.7, 0.7) * r, trunk + r + rng.uniform(-0.6, 0.7) * r
            self.fill(
                self.disc(cx, cy, z, r * rng.uniform(0.45, 0.75), 16), VEG, green * rng.uniform(0.75, 1.2), z
            )

    def pole(self, x: float, z: float, tall: float) -> None:
        self.fill(self.face_z(x - 0.07, x + 0.07, 0, tall, z), POLE, self.jit((130, 130, 128), 8), z)

    def lamp(self, x: float, z: float, side: int) -> None:
        tall, arm = self.rng.uniform(6.5, 9), x - side * 1.6
        self.pole(x, z, tall)
        self.fill(self.face_z(min(x, arm), max(x, arm), tall - 0.12, tall, z), POLE, (120, 120, 118), z)
        on = self.mode != "day"
        head = self.face_z(arm - 0.35, arm + 0.35, tall - 0.3, tall - 0.05, z)
        self.fill(head, POLE, (255, 235, 190) if on else (90, 90, 90), z, 2 if on else 0)

    def sign(self, x: float, z: float) -> None:
        rng, tall = self.rng, self.rng.uniform(2.2, 3.0)
        self.pole(x, z, tall + 0.3)
        (cx, cy), r = self.proj([(x, tall, z - 0.05)])[0], self.px(rng.uniform(0.3, 0.45), z)
        shape = int(rng.integers(4))  # no entry / warning / information / priority road
        n, rot = [(24, 0), (3, np.pi / 2), (4, np.pi / 4), (4, 0)][shape]
        ang = rot + np.arange(n) * 2 * np.pi / n
        outer = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
        rim, face = [((200, 25, 30), (250, 250, 250)), ((200, 25, 30), (250, 250, 245)),
                     ((240, 240, 240), (30, 70, 170)), ((30, 30, 30), (240, 200, 30))][shape]  # fmt: skip
        self.fill(outer, SIGN, self.jit(rim, 8), z - 0.05)
        self.fill(np.array([cx, cy]) + (outer - (cx, cy)) * 0.72, None, self.jit(face, 8))

    def traffic_light(self, x: float, z: float, side: int) -> None:
        rng = self.rng
        if rng.random() < 0.6:  # a mast arm over the road with hanging lights
            reach, tall = x - side * rng.uniform(3, 7), rng.uniform(5.5, 6.5)
            self.pole(x, z, tall + 0.3)
            self.fill(
                self.face_z(min(x, reach), max(x, reach), tall, tall + 0.15, z), POLE, (110, 110, 108), z
            )
            heads = [(reach + side * 0.3, tall - 1.0), (reach + side * 3.2, tall - 1.0)]
        else:
            heads = [(x, rng.uniform(2.6, 3.2))]
            self.pole(x, z, heads[0][1] + 0.1)
        state = int(rng.integers(3))
        for hx, hy in heads:
            self.fill(
                self.face_z(hx - 0.18, hx + 0.18, hy, hy + 1.0, z - 0.1),
                LIGHT,
                self.jit((35, 38, 35), 5),
                z - 0.1,
            )
            for k, colour in enumerate([(255, 40, 30), (255, 180, 20), (60, 255, 120)]):
                on = k == 2 - state
                lamp = self.disc(hx, hy + 0.82 - 0.31 * k, z - 0.12, 0.11, 12)
                self.fill(lamp, None, colour if on else (55, 55, 50), None, 2 if on else 0)

    def traffic(self, things: list) -> None:
        rng = self.rng
        for lane in range(self.lanes):
            xc = self.rl + (lane + 0.5) * self.lw
            for z in np.cumsum(rng.uniform(9, 35, 8)) + rng.uniform(-4, 8):
                if 5 < z < 110 and rng.random() < 0.65:
                    kind = "car" if rng.random() < 0.85 else str(rng.choice(["truck", "bus"]))
                    draw = partial(self.vehicle, xc + rng.uniform(-0.3, 0.3), z, kind, lane < self.oncoming)
                    things.append((z, draw))
        if self.park:
            for x in (self.rl + 1.2, self.rr - 1.2):
                for z in np.cumsum(rng.uniform(5, 9, 12)) - 3:
                    if rng.random() < 0.7:
                        things.append((z, partial(self.vehicle, x, z, "car", False)))

    def vehicle(self, xc: float, z0: float, kind: str, oncoming: bool) -> None:
        rng = self.rng
        cls, wide, length, tall = {"car": (CAR, 1.8, 4.4, rng.uniform(1.4, 1.6)), "truck": (TRUCK, 2.4, 8.0, 3.4),
                                   "bus": (BUS, 2.5, 12.0, 3.2)}[kind]  # fmt: skip
        paint = self.jit(_PAINT[int(rng.integers(len(_PAINT)))], 8)
        x0, x1, z1 = xc - wide / 2, xc + wide / 2, z0 + length
        self.fill(self.ground(x0 - 0.15, x1 + 0.15, z0 - 0.3, z1), None, (25, 25, 28))  # shadow
        for wx in (x0 + 0.05, x1 - 0.3):
            self.fill(self.face_z(wx, wx + 0.25, 0, 0.4, z0 + 0.3), cls, (20, 20, 22), z0)
        self.box(x0, x1, 0.3, 0.95 if kind == "car" else tall, z0, z1, cls, paint)
        side = x0 if x0 > 0 else (x1 if x1 < 0 else None)  # the flank the camera sees, if any
        glass = self.jit((40, 50, 60), 6)
        if kind == "car":
            self.box(x0 + 0.15, x1 - 0.15, 0.95, tall, z0 + 1.0, z1 - 1.2, cls, paint)
            self.fill(self.face_z(x0 + 0.25, x1 - 0.25, 1.0, tall - 0.08, z0 + 1.0), None, glass)
            if side is not None:
                inset = side + (0.15 if side == x0 else -0.15)
                self.fill(self.face_x(inset, 1.0, tall - 0.08, z0 + 1.15, z1 - 1.35), None, glass)
        else:
            band = self.face_z(x0 + 0.2, x1 - 0.2, tall - 1.3, tall - 0.3, z0)
            self.fill(band, None, glass if kind == "bus" else paint * 0.8)
            if kind == "bus" and side is not None:
                self.fill(self.face_x(side, tall - 1.5, tall - 0.4, z0 + 0.3, z1 - 0.3), None, glass)
        if side is not None:
            ang = np.linspace(0, 2 * np.pi, 10, endpoint=False)
            for zc in (z0 + 0.85, z1 - 0.95):
                wheel = np.stack([np.full(10, side), 0.34 + 0.34 * np.sin(ang), zc + 0.34 * np.cos(ang)], -1)
                self.fill(self.proj(wheel), cls, (22, 22, 24), z0)
        on = self.mode != "day" or rng.random() < 0.2
        for lx in (x0 + 0.1, x1 - 0.45):
            lamp = self.face_z(lx, lx + 0.35, 0.65, 0.82, z0)
            self.fill(lamp, None, (255, 245, 215) if oncoming else (230, 25, 25), None, 2 if on else 0)
        self.fill(self.face_z(xc - 0.25, xc + 0.25, 0.42, 0.55, z0), None, (235, 230, 200))  # plate

    def people(self, things: list) -> None:
        rng = self.rng
        low, high = {"city": (1, 9), "suburb": (0, 4), "rural": (0, 2)}[self.kind]
        for _ in range(int(rng.integers(low, high))):
            side = 1 if rng.random() < 0.5 else -1
            edge = self.rr if side > 0 else self.rl
            on_walk = self.sw and rng.random() < 0.85
            x = edge + side * rng.uniform(0.5, self.sw - 0.3) if on_walk else rng.uniform(self.rl, self.rr)
            z = 4 + 40 * rng.random() ** 1.5  # more people close by
            things.append((z, partial(self.person, x, z)))

    def person(self, x: float, z: float) -> None:
        rng, hp = self.rng, self.rng.uniform(1.5, 1.9)
        shirt = self.jit(rng.integers(20, 235, 3), 5)
        trousers = self.jit(
            _PAINT[int(rng.integers(len(_PAINT)))] if rng.random() < 0.3 else (40, 45, 70), 10
        )
        skin = self.jit(_SKIN[int(rng.integers(len(_SKIN)))], 6)
        stride, shoulder, hip = rng.uniform(0.02, 0.18), 0.21 * hp / 1.75, 0.15 * hp / 1.75
        for s in (-1, 1):
            leg = self.limb((x + s * 0.08, hp * 0.53), (x + s * (0.08 + stride), 0), 0.07, 0.06, z)
            self.fill(leg, PERSON, trousers, z)
            swing = s * rng.uniform(0, 0.12)
            arm = self.limb(
                (x + s * shoulder, hp * 0.81), (x + s * (shoulder + 0.06) + swing, hp * 0.47), 0.05, 0.04, z
            )
            self.fill(arm, PERSON, shirt * 0.85, z)
        self.fill(self.limb((x, hp * 0.82), (x, hp * 0.5), shoulder, hip, z), PERSON, shirt, z)
        head = self.disc(x, hp - 0.12, z, 0.11)
        self.fill(head, PERSON, skin, z)
        self.fill(head[:8], None, self.jit((40, 30, 25), 10))  # hair on top

    # --- light, weather, texture ---------------------------------------------------------------
    def finish(self) -> np.ndarray:
        """Texture, lighting, fog, glow and rain on the drawn picture; the mask stays as drawn."""
        h, w, rng, m = self.h, self.w, self.rng, self.mask
        fine = rng.standard_normal((h, w), dtype=np.float32)
        blot = cv2.resize(rng.standard_normal((h // 6 + 2, w // 6 + 2), dtype=np.float32), (w, h))
        low = cv2.resize(rng.standard_normal((4, 6), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        _, _, gain, tint, fog = _LIGHTING[self.mode]
        gain *= 0.75 if self.weather == "rain" else 1.0
        lit = self.emit == 0
        keep = np.exp(-self.depth / np.float32(self.vis))  # share of the colour that gets through the haze
        factor = 1 + (_AMP_FINE[m] * fine + _AMP_BLOT[m] * blot) / 100
        factor *= (1 + 0.07 * low) * _vignette(h, w) * np.where(lit, np.float32(gain), np.float32(1)) * keep
        if self.mode == "day":
            img = self.img * factor[..., None]
        else:  # tint only what the scene's light falls on, not the sky or the lamps
            img = self.img * (factor[..., None] * np.where(lit[..., None], np.float32(tint), np.float32(1)))
        img += (1 - keep)[..., None] * np.asarray(fog, np.float32)
        glow = self.emit == 2
        if self.mode != "day" and glow.any():  # bloom around lamps, blurred at a quarter of the size
            small = cv2.resize(
                np.where(glow[..., None], img, 0),
                (max(w // 4, 1), max(h // 4, 1)),
                interpolation=cv2.INTER_AREA,
            )
            small = cv2.GaussianBlur(small, (0, 0), max(w / 500, 0.5))
            img += cv2.resize(small, (w, h)) * (1.5 if self.mode == "night" else 0.7)
        if self.weather == "rain":
            img = self._rain(img)
        return img.clip(0, 255).astype(np.uint8)

    def _rain(self, img: np.ndarray) -> np.ndarray:
        h, w, rng = self.h, self.w, self.rng
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


# --- writing the data set ----------------------------------------------------------------------
