"""The canvas every painter of a demo scene draws on: picture, mask, depth and glow buffers, a pinhole
camera, and the drawing primitives (polygons, walls, road strips, boxes, discs)."""

from __future__ import annotations

import cv2
import numpy as np

from segviewer.core.demo_scene.palette import SKY, VISIBILITY


class Canvas:
    """Canvas + camera. World: X right, Y up (metres above the road), Z forward from the camera.

    Also holds what the whole scene shares: time of day (`mode`), `weather`, `kind` of street and the
    random generator every painter draws from, in a fixed order (same seed, same bytes).
    """

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
        lo, hi, sky_keep = VISIBILITY[self.weather]
        self.vis = rng.uniform(lo, hi)
        self.img = np.zeros((h, w, 3), np.uint8)
        self.mask = np.full((h, w), SKY, np.uint8)
        self.emit = np.ones((h, w), np.uint8)  # 0 lit by the scene's light, 1 sky, 2 lamp (glows)
        rows = np.arange(h, dtype=np.float32)[:, None] + 0.5 - self.yh
        ground_z = self.f * self.hc / np.maximum(rows, 1e-3)
        sky_z = -self.vis * np.log(sky_keep)  # the sky keeps `sky_keep` of its colour through the fog
        self.depth = np.broadcast_to(np.where(rows > 0, ground_z, sky_z), (h, w)).astype(np.float32)

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
