"""The demo scenes' bdd100k training ids and look tables: texture, facades, paint, skin, light, weather."""

from __future__ import annotations

from segviewer.core.labels import get_scheme

_IDS = {c.name: c.id for c in get_scheme("bdd100k").classes}
ROAD, SIDEWALK, BUILDING, FENCE, POLE = (_IDS[n] for n in ("road", "sidewalk", "building", "fence", "pole"))
LIGHT, SIGN, VEG, TERRAIN = (_IDS[n] for n in ("traffic light", "traffic sign", "vegetation", "terrain"))
SKY, PERSON, CAR, TRUCK, BUS = (_IDS[n] for n in ("sky", "person", "car", "truck", "bus"))

# fmt: off
# Texture: noise in percent of the colour per class (fine grain, blotches). Leaves are rough, sky smooth.
TEXTURE = {ROAD: (6, 5), SIDEWALK: (5, 5), BUILDING: (3, 5), FENCE: (5, 4), POLE: (3, 2), VEG: (14, 28),
           TERRAIN: (12, 14), SKY: (1, 1.5), PERSON: (4, 3), CAR: (3, 2), TRUCK: (3, 3), BUS: (3, 3)}
FACADES = [(150, 78, 60), (185, 160, 125), (205, 198, 185), (125, 115, 105), (165, 120, 85), (215, 205, 170),
           (110, 122, 135), (195, 172, 150), (135, 58, 48), (232, 226, 214), (160, 170, 150), (90, 85, 95)]
PAINT = [(235, 235, 232), (28, 28, 32), (160, 164, 170), (150, 22, 28), (32, 62, 135), (82, 82, 88),
         (200, 190, 160), (40, 90, 62), (225, 195, 40), (105, 30, 42), (120, 160, 200)]
SKIN = [(240, 200, 170), (200, 150, 110), (150, 100, 70), (95, 65, 45), (225, 180, 140)]
LIGHTING = {  # sky top, sky at the horizon, gain on lit surfaces, colour tint, fog colour
    "day": ((70, 125, 205), (185, 208, 232), 1.0, (1.0, 1.0, 1.0), (205, 210, 215)),
    "dusk": ((45, 55, 110), (245, 150, 90), 0.55, (1.12, 0.92, 0.8), (170, 140, 135)),
    "night": ((4, 6, 18), (30, 32, 55), 0.3, (0.8, 0.85, 1.1), (28, 28, 36)),
}
# Visibility per weather: range of the fog's distance scale (m) and the share of the sky's colour kept.
VISIBILITY = {"clear": (400, 900, 0.95), "haze": (120, 250, 0.6), "fog": (25, 60, 0.1), "rain": (80, 160, 0.5)}
# fmt: on
