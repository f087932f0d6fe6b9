"""Label schemes: class ids, names, colours, ignore index and the mapping to training ids.

A *mask* is a per-pixel array of class ids; a *colormap* is its coloured picture. Every scheme maps
its stored ids to training ids through a 256-entry lookup table (`train_lut`); for the schemes whose
files already hold training ids that table is the identity on the classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segviewer.core.errors import UserError


class LabelError(UserError):
    """A user-facing problem with a label scheme or a mask's values."""


@dataclass(frozen=True)
class LabelClass:
    id: int
    name: str
    color: tuple[int, int, int]
    train_id: int  # training id this class maps to; the scheme's ignore index when ignored


@dataclass(frozen=True)
class LabelScheme:
    """Classes of one labelling convention.

    `classes` are the ids stored in mask files. `train_scheme` names the scheme whose classes the
    training ids refer to (itself when None).
    """

    name: str
    classes: tuple[LabelClass, ...]
    ignore_index: int = 255
    train_scheme: str | None = None
    void_color: tuple[int, int, int] = (0, 0, 0)
    description: str = ""
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    # --- basic views -------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.classes]

    def name_of(self, class_id: int) -> str:
        if class_id == self.ignore_index:
            return "ignored"
        for c in self.classes:
            if c.id == class_id:
                return c.name
        return f"unknown id {class_id}"

    @property
    def palette(self) -> np.ndarray:
        """(256, 3) uint8: colour per stored id; unknown ids and the ignore index get `void_color`."""
        if "palette" not in self._cache:
            pal = np.zeros((256, 3), np.uint8)
            pal[:] = self.void_color
            for c in self.classes:
                if 0 <= c.id < 256:
                    pal[c.id] = c.color
            self._cache["palette"] = pal
        return self._cache["palette"]

    @property
    def valid_lut(self) -> np.ndarray:
        """(256,) bool: True for values allowed in a mask of this scheme (class ids and the ignore index)."""
        if "valid" not in self._cache:
            ok = np.zeros(256, bool)
            for c in self.classes:
                if 0 <= c.id < 256:
                    ok[c.id] = True
            if 0 <= self.ignore_index < 256:
                ok[self.ignore_index] = True
            self._cache["valid"] = ok
        return self._cache["valid"]

    @property
    def train_lut(self) -> np.ndarray:
        """(256,) uint8 lookup: stored id -> training id (ignore index of the training scheme otherwise)."""
        if "train" not in self._cache:
            target = self.training_scheme()
            lut = np.full(256, target.ignore_index, np.uint8)
            for c in self.classes:
                if 0 <= c.id < 256:
                    lut[c.id] = c.train_id
            self._cache["train"] = lut
        return self._cache["train"]

    def training_scheme(self) -> LabelScheme:
        """The scheme whose class ids the training ids are (this one when it stores training ids)."""
        return self if self.train_scheme in (None, self.name) else get_scheme(self.train_scheme)

    def to_train_ids(self, mask: np.ndarray) -> np.ndarray:
        return self.train_lut[mask]

    def invalid_values(self, mask: np.ndarray) -> list[int]:
        """Values in `mask` that are neither a class id nor the ignore index."""
        values = np.unique(mask)
        if values.size and (values.min() < 0 or values.max() > 255):
            bad = [int(v) for v in values if v < 0 or v > 255]
            values = values[(values >= 0) & (values <= 255)]
        else:
            bad = []
        return bad + [int(v) for v in values if not self.valid_lut[int(v)]]

    # --- conversions -------------------------------------------------------------------------
    def colorize(self, mask: np.ndarray) -> np.ndarray:
        """Id mask (H, W) -> RGB colormap (H, W, 3) uint8."""
        return self.palette[np.asarray(mask).astype(np.intp) & 0xFF]

    def decolorize(self, rgb: np.ndarray, source: str = "image") -> np.ndarray:
        """RGB colormap (H, W, 3) -> id mask (H, W) uint8.

        Colours shared by several classes (e.g. Cityscapes' black void classes) map to the first id.
        The void colour maps to the ignore index. Raises LabelError naming the first colour not in the
        palette and where it occurs.
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] < 3:
            raise LabelError(f"{source}: expected an RGB colour image, got shape {rgb.shape}")
        rgb = rgb[..., :3].astype(np.uint32)
        codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        table: dict[int, int] = {}
        vr, vg, vb = self.void_color
        table[(vr << 16) | (vg << 8) | vb] = self.ignore_index
        for c in reversed(self.classes):
            r, g, b = c.color
            table[(r << 16) | (g << 8) | b] = c.id
        keys = np.array(sorted(table), np.uint32)
        vals = np.array([table[int(k)] for k in keys], np.uint8)
        pos = np.searchsorted(keys, codes)
        pos = np.clip(pos, 0, len(keys) - 1)
        found = keys[pos] == codes
        if not found.all():
            y, x = np.argwhere(~found)[0]
            colour = tuple(int(v) for v in rgb[y, x])
            count = int((~found).sum())
            raise LabelError(
                f"{source}: colour {colour} at (x={x}, y={y}) is not in the '{self.name}' palette "
                f"({count} pixels have colours outside it). Use the scheme the masks were drawn with, "
                f"or save masks as class ids."
            )
        return vals[pos]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "ignore_index": self.ignore_index,
            "classes": [{"id": c.id, "name": c.name, "color": list(c.color)} for c in self.classes],
        }


# --- built-in schemes --------------------------------------------------------------------------

_TRAIN19 = [
    ("road", (128, 64, 128)),
    ("sidewalk", (244, 35, 232)),
    ("building", (70, 70, 70)),
    ("wall", (102, 102, 156)),
    ("fence", (190, 153, 153)),
    ("pole", (153, 153, 153)),
    ("traffic light", (250, 170, 30)),
    ("traffic sign", (220, 220, 0)),
    ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)),
    ("sky", (70, 130, 180)),
    ("person", (220, 20, 60)),
    ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)),
    ("truck", (0, 0, 70)),
    ("bus", (0, 60, 100)),
    ("train", (0, 80, 100)),
    ("motorcycle", (0, 0, 230)),
    ("bicycle", (119, 11, 32)),
]

# BDD100K's 41 categories (bdd100k/label/label.py): name, id, train id, colour.
_BDD_FULL = [
    ("unlabeled", 0, 255, (0, 0, 0)),
    ("dynamic", 1, 255, (111, 74, 0)),
    ("ego vehicle", 2, 255, (0, 0, 0)),
    ("ground", 3, 255, (81, 0, 81)),
    ("static", 4, 255, (0, 0, 0)),
    ("parking", 5, 255, (250, 170, 160)),
    ("rail track", 6, 255, (230, 150, 140)),
    ("road", 7, 0, (128, 64, 128)),
    ("sidewalk", 8, 1, (244, 35, 232)),
    ("bridge", 9, 255, (150, 100, 100)),
    ("building", 10, 2, (70, 70, 70)),
    ("fence", 11, 4, (190, 153, 153)),
    ("garage", 12, 255, (180, 100, 180)),
    ("guard rail", 13, 255, (180, 165, 180)),
    ("tunnel", 14, 255, (150, 120, 90)),
    ("wall", 15, 3, (102, 102, 156)),
    ("banner", 16, 255, (250, 170, 100)),
    ("billboard", 17, 255, (220, 220, 250)),
    ("lane divider", 18, 255, (255, 165, 0)),
    ("parking sign", 19, 255, (220, 20, 60)),
    ("pole", 20, 5, (153, 153, 153)),
    ("polegroup", 21, 255, (153, 153, 153)),
    ("street light", 22, 255, (220, 220, 100)),
    ("traffic cone", 23, 255, (255, 70, 0)),
    ("traffic device", 24, 255, (220, 220, 220)),
    ("traffic light", 25, 6, (250, 170, 30)),
    ("traffic sign", 26, 7, (220, 220, 0)),
    ("traffic sign frame", 27, 255, (250, 170, 250)),
    ("terrain", 28, 9, (152, 251, 152)),
    ("vegetation", 29, 8, (107, 142, 35)),
    ("sky", 30, 10, (70, 130, 180)),
    ("person", 31, 11, (220, 20, 60)),
    ("rider", 32, 12, (255, 0, 0)),
    ("bicycle", 33, 18, (119, 11, 32)),
    ("bus", 34, 15, (0, 60, 100)),
    ("car", 35, 13, (0, 0, 142)),
    ("caravan", 36, 255, (0, 0, 90)),
    ("motorcycle", 37, 17, (0, 0, 230)),
    ("trailer", 38, 255, (0, 0, 110)),
    ("train", 39, 16, (0, 80, 100)),
    ("truck", 40, 14, (0, 0, 70)),
]

# Cityscapes' 34 labelIds (cityscapesScripts labels.py): name, id, train id, colour.
_CITYSCAPES = [
    ("unlabeled", 0, 255, (0, 0, 0)),
    ("ego vehicle", 1, 255, (0, 0, 0)),
    ("rectification border", 2, 255, (0, 0, 0)),
    ("out of roi", 3, 255, (0, 0, 0)),
    ("static", 4, 255, (0, 0, 0)),
    ("dynamic", 5, 255, (111, 74, 0)),
    ("ground", 6, 255, (81, 0, 81)),
    ("road", 7, 0, (128, 64, 128)),
    ("sidewalk", 8, 1, (244, 35, 232)),
    ("parking", 9, 255, (250, 170, 160)),
    ("rail track", 10, 255, (230, 150, 140)),
    ("building", 11, 2, (70, 70, 70)),
    ("wall", 12, 3, (102, 102, 156)),
    ("fence", 13, 4, (190, 153, 153)),
    ("guard rail", 14, 255, (180, 165, 180)),
    ("bridge", 15, 255, (150, 100, 100)),
    ("tunnel", 16, 255, (150, 120, 90)),
    ("pole", 17, 5, (153, 153, 153)),
    ("polegroup", 18, 255, (153, 153, 153)),
    ("traffic light", 19, 6, (250, 170, 30)),
    ("traffic sign", 20, 7, (220, 220, 0)),
    ("vegetation", 21, 8, (107, 142, 35)),
    ("terrain", 22, 9, (152, 251, 152)),
    ("sky", 23, 10, (70, 130, 180)),
    ("person", 24, 11, (220, 20, 60)),
    ("rider", 25, 12, (255, 0, 0)),
    ("car", 26, 13, (0, 0, 142)),
    ("truck", 27, 14, (0, 0, 70)),
    ("bus", 28, 15, (0, 60, 100)),
    ("caravan", 29, 255, (0, 0, 90)),
    ("trailer", 30, 255, (0, 0, 110)),
    ("train", 31, 16, (0, 80, 100)),
    ("motorcycle", 32, 17, (0, 0, 230)),
    ("bicycle", 33, 18, (119, 11, 32)),
]

_CAMVID = [
    ("Sky", (128, 128, 128)),
    ("Building", (128, 0, 0)),
    ("Pole", (192, 192, 128)),
    ("Road", (128, 64, 128)),
    ("Pavement", (60, 40, 222)),
    ("Tree", (128, 128, 0)),
    ("SignSymbol", (192, 128, 128)),
    ("Fence", (64, 64, 128)),
    ("Car", (64, 0, 128)),
    ("Pedestrian", (64, 64, 0)),
    ("Bicyclist", (0, 128, 192)),
]


def _identity(name: str, entries, ignore: int, description: str) -> LabelScheme:
    classes = tuple(LabelClass(i, n, tuple(c), i) for i, (n, c) in enumerate(entries))
    return LabelScheme(name, classes, ignore, None, (0, 0, 0), description)


def _mapped(name: str, entries, description: str) -> LabelScheme:
    classes = tuple(LabelClass(i, n, tuple(c), t) for n, i, t, c in entries)
    return LabelScheme(name, classes, 255, "bdd100k", (0, 0, 0), description)


BUILTIN_SCHEMES: dict[str, LabelScheme] = {
    "bdd100k": _identity("bdd100k", _TRAIN19, 255, "19 BDD100K / Cityscapes training classes"),
    "bdd100k-full": _mapped("bdd100k-full", _BDD_FULL, "41 BDD100K categories (ids 0..40)"),
    "cityscapes": _mapped("cityscapes", _CITYSCAPES, "34 Cityscapes labelIds"),
    "camvid": _identity("camvid", _CAMVID, 11, "11 CamVid classes (SegNet), 11 = Unlabelled"),
}


def scheme_names() -> list[str]:
    return list(BUILTIN_SCHEMES)


def get_scheme(name_or_path: str | Path) -> LabelScheme:
    """A built-in scheme by name, or a custom scheme from a JSON file."""
    key = str(name_or_path)
    if key in BUILTIN_SCHEMES:
        return BUILTIN_SCHEMES[key]
    path = Path(key)
    if path.suffix.lower() == ".json" or path.is_file():
        return load_scheme_json(path)
    raise LabelError(
        f"unknown label scheme '{key}': use one of {', '.join(BUILTIN_SCHEMES)} or the path of a JSON scheme file"
    )


def load_scheme_json(path: str | Path) -> LabelScheme:
    """Read a custom scheme.

    Format::

        {"name": "my-roads", "ignore_index": 255,
         "classes": [{"name": "road", "color": [128, 64, 128]},
                     {"id": 1, "name": "car", "color": "#00008e"}]}

    `id` defaults to the position in the list; `color` is [r, g, b] or "#rrggbb".
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabelError(f"{path}: scheme file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelError(f"{path}: not a readable JSON scheme file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("classes"), list) or not data["classes"]:
        raise LabelError(f'{path}: a scheme file needs a non-empty "classes" list (see the README)')
    ignore = data.get("ignore_index", 255)
    if not isinstance(ignore, int) or not 0 <= ignore <= 255:
        raise LabelError(f"{path}: ignore_index must be an integer 0..255, got {ignore!r}")
    classes, seen = [], set()
    for pos, entry in enumerate(data["classes"]):
        if not isinstance(entry, dict) or "name" not in entry or "color" not in entry:
            raise LabelError(f'{path}: class #{pos} needs "name" and "color"')
        cid = entry.get("id", pos)
        if not isinstance(cid, int) or not 0 <= cid <= 254 or cid == ignore:
            raise LabelError(
                f"{path}: class '{entry['name']}' has id {cid!r}; ids are 0..254 and not the ignore index"
            )
        if cid in seen:
            raise LabelError(f"{path}: class id {cid} appears twice")
        seen.add(cid)
        classes.append(
            LabelClass(cid, str(entry["name"]), _parse_color(entry["color"], path, entry["name"]), cid)
        )
    ids = sorted(seen)
    if ids != list(range(len(ids))):
        raise LabelError(f"{path}: class ids must be 0..{len(ids) - 1} without gaps, got {ids}")
    classes.sort(key=lambda c: c.id)
    name = str(data.get("name") or path.stem)
    void = _parse_color(data.get("void_color", [0, 0, 0]), path, "void_color")
    return LabelScheme(
        name, tuple(classes), ignore, None, void, data.get("description", f"custom scheme from {path}")
    )


def _parse_color(value, path: Path, what: str) -> tuple[int, int, int]:
    if isinstance(value, str) and value.startswith("#") and len(value) == 7:
        try:
            return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
        except ValueError:
            pass
    if (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(v, int) and 0 <= v <= 255 for v in value)
    ):
        return tuple(value)  # type: ignore[return-value]
    raise LabelError(f"{path}: colour of '{what}' must be [r, g, b] (0..255) or \"#rrggbb\", got {value!r}")


# A colour-blind-safe alternative palette (Okabe-Ito, then Paul Tol's muted), cycled over classes.
COLORBLIND_SAFE = [
    (0, 114, 178),
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (213, 94, 0),
    (204, 121, 167),
    (0, 0, 0),
    (51, 34, 136),
    (136, 204, 238),
    (68, 170, 153),
    (17, 119, 51),
    (153, 153, 51),
    (221, 204, 119),
    (204, 102, 119),
    (136, 34, 85),
    (170, 68, 153),
    (221, 221, 221),
    (102, 51, 0),
]


def colorblind_palette(scheme: LabelScheme) -> np.ndarray:
    """(256, 3) uint8 palette using colour-blind-safe colours, in class order."""
    pal = scheme.palette.copy()
    for i, c in enumerate(scheme.classes):
        pal[c.id] = COLORBLIND_SAFE[i % len(COLORBLIND_SAFE)]
    return pal
