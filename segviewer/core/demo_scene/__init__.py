"""Procedural street scenes for the demo data set: an RGB picture and its bdd100k training-id mask.

Drawn with numpy and OpenCV; deterministic for a seed. `segviewer.core.demo` writes them to disk.
The parts, in drawing order: canvas.py (buffers, camera, primitives), street.py (the road's plan and
where everything goes), surfaces.py (sky, road, horizon), roadside.py and road_users.py (the painters
of each kind of object), light.py (lighting and weather); palette.py holds the ids and colour tables.
Every step draws from one random generator in a fixed order, so moving a draw changes every scene.
"""

from __future__ import annotations

import numpy as np

from segviewer.core.demo_scene.canvas import Canvas
from segviewer.core.demo_scene.light import finish
from segviewer.core.demo_scene.street import plan_street, populate
from segviewer.core.demo_scene.surfaces import backdrop, ground_plane, sky

__all__ = ["render_scene"]


def render_scene(seed: int, size: tuple[int, int] = (360, 640)) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (RGB uint8 (H, W, 3), mask uint8 (H, W) of bdd100k training ids); same seed, same bytes."""
    h, w = int(size[0]), int(size[1])
    if h < 8 or w < 8:
        raise ValueError(f"scene size {h}x{w} is too small; use at least 8x8")
    c = Canvas(h, w, np.random.default_rng(seed))
    street = plan_street(c)
    sky(c)
    ground_plane(c, street)
    backdrop(c)
    for _, paint in sorted(populate(c, street), key=lambda t: -t[0]):  # far to near
        paint()
    return finish(c), c.mask
