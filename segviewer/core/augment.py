"""Joint (image, mask) augmentation from named presets; masks move with geometry, never with colour.

A preset is a list of named transforms, each with a probability `p` and a `strength` (0 = mild, 1 = strong)
that we translate into albumentations parameters, so users and the GUI never see albumentations' own knobs.
albumentations is imported lazily: importing this module stays cheap for the CLI and the GUI.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segviewer.core.atomic import atomic_write
from segviewer.core.augment_looks import _compose
from segviewer.core.errors import UserError

# Also the order in which a pipeline applies them: geometry, then colour, then weather.
TRANSFORM_NAMES: tuple[str, ...] = (
    "hflip",
    "scale_crop",
    "rotate",
    "brightness_contrast",
    "hue_saturation",
    "blur",
    "noise",
    "snow",
    "rain",
    "fog",
    "sun_flare",
    "shadow",
    "night",
)
TRANSFORM_TITLES: dict[str, str] = {
    "hflip": "Horizontal flip",
    "scale_crop": "Scale and crop",
    "rotate": "Rotate",
    "brightness_contrast": "Brightness / contrast",
    "hue_saturation": "Hue / saturation",
    "blur": "Blur",
    "noise": "Noise",
    "snow": "Snow",
    "rain": "Rain",
    "fog": "Fog",
    "sun_flare": "Sun flare",
    "shadow": "Shadow",
    "night": "Night",
}
_GEOMETRIC = frozenset({"hflip", "scale_crop", "rotate"})
_SPEC_KEYS = ("name", "p", "strength", "enabled")
_PRESET_DIR = Path(__file__).parent / "presets"
_MAX_CACHED_SHAPES = 8


def is_geometric(name: str) -> bool:
    """True when the transform moves pixels, so the mask must move with the image."""
    return name in _GEOMETRIC


class PresetError(UserError):
    """A preset name or file that cannot be used."""


@dataclass
class TransformSpec:
    """One named transform of a preset: applied with probability `p`, parameters scaled by `strength`."""

    name: str
    p: float = 0.5
    strength: float = 0.5
    enabled: bool = True

    def __post_init__(self) -> None:
        problem = _spec_problem(self.name, self.p, self.strength, self.enabled)
        if problem:
            raise ValueError(problem)


@dataclass
class Preset:
    """A named, ordered-by-convention set of transforms; stored as JSON so users can share them."""

    name: str
    transforms: list[TransformSpec] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "transforms": [asdict(t) for t in self.transforms]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "preset") -> Preset:
        """Validate and build; `source` (a file name) goes into the error message."""
        if not isinstance(data, dict) or not isinstance(data.get("transforms"), list):
            raise _invalid(source, 'expected an object {"name": ..., "transforms": [...]}')
        name = data.get("name", Path(source).stem)
        if not isinstance(name, str):
            raise _invalid(source, '"name" must be a string')
        specs: list[TransformSpec] = []
        for i, item in enumerate(data["transforms"]):
            where = f"transforms[{i}]"
            if not isinstance(item, dict) or "name" not in item:
                raise _invalid(source, f'{where} must be an object with at least a "name"')
            unknown = sorted(set(item) - set(_SPEC_KEYS))
            if unknown:
                raise _invalid(
                    source,
                    f"{where} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_SPEC_KEYS)}",
                )
            values = {"p": 0.5, "strength": 0.5, "enabled": True, **item}
            problem = _spec_problem(values["name"], values["p"], values["strength"], values["enabled"])
            if problem:
                raise _invalid(source, f"{where}: {problem}")
            if any(s.name == values["name"] for s in specs):
                raise _invalid(source, f"{where}: transform {values['name']!r} is listed twice; keep one")
            specs.append(
                TransformSpec(
                    values["name"], float(values["p"]), float(values["strength"]), values["enabled"]
                )
            )
        return cls(name, specs)

    @classmethod
    def from_json(cls, text: str, source: str = "preset") -> Preset:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _invalid(source, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data, source)


def _spec_problem(name: Any, p: Any, strength: Any, enabled: Any) -> str | None:
    if name not in TRANSFORM_NAMES:
        return f"unknown transform {name!r}; valid names: {', '.join(TRANSFORM_NAMES)}"
    for key, value in (("p", p), ("strength", strength)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            return f"{name}: {key} must be a number from 0 to 1, not {value!r}"
    if not isinstance(enabled, bool):
        return f'{name}: "enabled" must be true or false, not {enabled!r}'
    return None


def _invalid(source: str, problem: str) -> PresetError:
    return PresetError(
        f"{source}: invalid augmentation preset: {problem}. Fix the file or pick a built-in preset."
    )


@functools.lru_cache(maxsize=1)
def _builtin_presets() -> dict[str, Preset]:
    presets = {}
    for path in sorted(_PRESET_DIR.glob("*.json")):
        preset = Preset.from_json(path.read_text(encoding="utf-8"), str(path))
        presets[preset.name] = preset
    return presets


def builtin_presets() -> dict[str, Preset]:
    """The presets shipped in segviewer/core/presets/*.json (fresh copies: callers may edit them)."""
    return copy.deepcopy(_builtin_presets())


def load_preset(name_or_path: str | Path) -> Preset:
    """A built-in preset by name, or a preset JSON file."""
    builtins = _builtin_presets()
    if isinstance(name_or_path, str) and name_or_path in builtins:
        return copy.deepcopy(builtins[name_or_path])
    path = Path(name_or_path)
    if not path.is_file():
        raise PresetError(
            f"{name_or_path}: no such augmentation preset; use one of {', '.join(builtins)} or the path of a preset .json file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read the augmentation preset ({exc}); check the file") from None
    return Preset.from_json(text, str(path))


def save_preset(preset: Preset, path: str | Path) -> None:
    """Write atomically, so a crash or a full disk never leaves half a preset behind."""
    atomic_write(
        path,
        lambda f: f.write(preset.to_json().encode("utf-8")),
        what="could not save the preset",
        fix="choose another folder or free disk space",
        create_folder=False,
    )


class Augmenter:
    """Applies a preset to (image, mask) pairs; picklable, so it can run in DataLoader worker processes.

    The albumentations pipeline is built lazily per image size and per process: pickling drops it, and a
    process forked after it was built rebuilds it, so workers never share one random stream.
    """

    def __init__(self, preset: Preset, ignore_index: int = 255) -> None:
        for spec in preset.transforms:
            problem = _spec_problem(spec.name, spec.p, spec.strength, spec.enabled)
            if problem:
                raise ValueError(problem)
        self.preset = copy.deepcopy(preset)
        self.ignore_index = int(ignore_index)
        self._active = [s for s in self.preset.transforms if s.enabled and s.p > 0]
        self._active.sort(key=lambda s: TRANSFORM_NAMES.index(s.name))
        self._pipelines: dict[tuple[int, int], Any] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_pipelines"] = {}
        return state

    def __call__(
        self, image: np.ndarray, mask: np.ndarray | None = None, seed: int | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Augment one pair; the same seed gives the same result, seed None a new draw each call."""
        if mask is not None and mask.shape[:2] != image.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} does not match image shape {image.shape}")
        if not self._active:
            return image, mask
        pipeline = self._pipeline(image.shape[0], image.shape[1])
        if seed is not None:
            # One shared stream for all transforms; Compose(seed=...) would give each transform an identical
            # copy of the same stream, so transforms with equal p would always fire together.
            seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
            pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
        data = {"image": image} if mask is None else {"image": image, "mask": mask}
        out = pipeline(**data)
        return out["image"], out.get("mask")

    def _pipeline(self, height: int, width: int) -> Any:
        if self._pid != os.getpid():
            self._pipelines, self._pid = {}, os.getpid()
        key = (height, width)
        if key not in self._pipelines:
            if len(self._pipelines) >= _MAX_CACHED_SHAPES:
                self._pipelines.clear()
            self._pipelines[key] = _compose(self._active, key, self.ignore_index)
        return self._pipelines[key]


def preview_grid(
    image: np.ndarray,
    mask: np.ndarray | None,
    preset: Preset,
    count: int = 8,
    seed: int = 0,
    ignore_index: int = 255,
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """`count` augmented versions of one pair for the GUI; sample i uses seed + i, so it is repeatable."""
    augmenter = Augmenter(preset, ignore_index)
    return [augmenter(image, mask, seed=seed + i) for i in range(count)]


def apply_single(
    name: str,
    image: np.ndarray,
    mask: np.ndarray | None,
    strength: float = 0.5,
    seed: int = 0,
    ignore_index: int = 255,
) -> tuple[np.ndarray, np.ndarray | None]:
    """One transform at p=1, so the GUI can show what each transform does at a given strength."""
    preset = Preset(name, [TransformSpec(name, p=1.0, strength=strength)])
    return Augmenter(preset, ignore_index)(image, mask, seed=seed)
