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
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(preset.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise UserError(
            f"{path}: could not save the preset ({exc.strerror or exc}); choose another folder or free disk space"
        ) from None


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


# --- albumentations adapter: strength (0 mild .. 1 strong) -> parameters -------------------------------


def _lerp(mild: float, strong: float, strength: float) -> float:
    return mild + (strong - mild) * strength


def _compose(specs: list[TransformSpec], shape: tuple[int, int], ignore_index: int) -> Any:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    transforms = [_build(A, s.name, s.p, s.strength, shape, ignore_index) for s in specs]
    return A.Compose(transforms, mask_interpolation=0)  # 0 = cv2.INTER_NEAREST: no new class ids


def _build(A: Any, name: str, p: float, s: float, shape: tuple[int, int], ignore: int) -> Any:
    """One albumentations transform; geometry pads images with black and masks with `ignore`."""
    height, width = shape
    nearest, linear, constant = 0, 1, 0  # cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT
    if name == "hflip":
        return A.HorizontalFlip(p=p)
    if name == "scale_crop":  # zoom in up to 1.1x (mild) .. 2x (strong), never pad
        zoom = 1.0 + 0.1 + 0.9 * s
        ratio = width / height
        return A.RandomResizedCrop(
            size=(height, width), scale=(1.0 / zoom**2, 1.0), ratio=(ratio, ratio),
            interpolation=linear, mask_interpolation=nearest, p=p,
        )  # fmt: skip
    if name == "rotate":
        return A.Rotate(
            limit=_lerp(3, 10, s), interpolation=linear, mask_interpolation=nearest,
            border_mode=constant, fill=0, fill_mask=ignore, p=p,
        )  # fmt: skip
    if name == "brightness_contrast":
        limit = _lerp(0.1, 0.4, s)
        return A.RandomBrightnessContrast(brightness_limit=limit, contrast_limit=limit, p=p)
    if name == "hue_saturation":
        return A.HueSaturationValue(
            hue_shift_limit=_lerp(3, 20, s),
            sat_shift_limit=_lerp(8, 40, s),
            val_shift_limit=_lerp(3, 20, s),
            p=p,
        )
    if name == "blur":
        return A.GaussianBlur(blur_limit=0, sigma_limit=(_lerp(0.3, 1.0, s), _lerp(0.8, 3.0, s)), p=p)
    if name == "noise":
        return A.GaussNoise(std_range=(_lerp(0.01, 0.04, s), _lerp(0.03, 0.12, s)), p=p)
    if name == "snow":
        return _own_transforms(A)["snow"](strength=s, p=p)
    if name == "rain":
        rain_type = "drizzle" if s < 0.34 else "heavy" if s < 0.67 else "torrential"
        drop_length = max(1, int(height * _lerp(0.04, 0.08, s)))
        return A.RandomRain(
            rain_type=rain_type,
            drop_length=drop_length,
            brightness_coefficient=_lerp(0.9, 0.7, s),
            blur_value=3,
            p=p,
        )
    if name == "fog":
        return _own_transforms(A)["fog"](strength=s, p=p)
    if name == "sun_flare":
        radius = max(2, int(min(height, width) * _lerp(0.12, 0.3, s)))
        return A.RandomSunFlare(
            flare_roi=(0.1, 0.05, 0.9, 0.4), src_radius=radius, num_flare_circles_range=(3, int(_lerp(5, 10, s))),
            method="physics_based", p=p,
        )  # fmt: skip
    if name == "shadow":
        return A.RandomShadow(
            shadow_roi=(0, 0.5, 1, 1), num_shadows_limit=(1, int(round(_lerp(1, 3, s)))),
            shadow_intensity_range=(_lerp(0.2, 0.5, s), _lerp(0.4, 0.8, s)), p=p,
        )  # fmt: skip
    if name == "night":
        return _own_transforms(A)["night"](strength=s, p=p)
    raise ValueError(f"unknown transform {name!r}")


@functools.cache
def _own_transforms(A: Any) -> dict[str, type]:
    """Looks albumentations lacks (night), renders poorly on sunny roads (snow) or slowly (fog).

    Built on first use so that importing this module does not import albumentations. Randomness comes only
    from `self.py_random`, which the pipeline seeds, so a seed still reproduces the result.
    """

    class _Scaled(A.ImageOnlyTransform):
        def __init__(self, strength: float = 0.5, p: float = 0.5) -> None:
            super().__init__(p=p)
            self.strength = strength

        def get_transform_init_args_names(self) -> tuple[str, ...]:
            return ("strength",)

    class NightLook(_Scaled):
        """Darken, raise gamma (midtones sink first), tint blue, add a little sensor noise."""

        def get_params(self) -> dict[str, Any]:
            s, r = self.strength, self.py_random
            return {
                "gain": r.uniform(_lerp(0.55, 0.3, s), _lerp(0.7, 0.45, s)),
                "gamma": r.uniform(_lerp(1.2, 1.5, s), _lerp(1.4, 2.0, s)),
                "seed": r.getrandbits(32),
            }

        def apply(self, img: np.ndarray, gain: float, gamma: float, seed: int, **params: Any) -> np.ndarray:
            x = np.power(_to_float(img), gamma) * gain
            sky = (
                1.0
                - _lerp(0.3, 0.6, self.strength) * np.linspace(1.0, 0.0, x.shape[0], dtype=np.float32) ** 2
            )
            x *= _per_row(sky, x)  # a dark sky: light falls off towards the top of the frame
            x *= _channel_weights(
                x,
                (
                    _lerp(0.85, 0.65, self.strength),
                    _lerp(0.92, 0.8, self.strength),
                    _lerp(1.05, 1.15, self.strength),
                ),
            )
            noise = np.random.default_rng(seed).standard_normal(x.shape[:2], np.float32) * _lerp(
                0.005, 0.02, self.strength
            )
            x += noise[..., None] if x.ndim == 3 else noise
            return _from_float(x, img.dtype)

    class SnowFall(_Scaled):
        """Falling flakes over a cold, pale haze that thickens towards the horizon."""

        def get_params(self) -> dict[str, Any]:
            s, r = self.strength, self.py_random
            return {"haze": r.uniform(_lerp(0.12, 0.3, s), _lerp(0.2, 0.45, s)), "seed": r.getrandbits(32)}

        def apply(self, img: np.ndarray, haze: float, seed: int, **params: Any) -> np.ndarray:
            x = _to_float(img)
            h, w = x.shape[:2]
            if x.ndim == 3:  # desaturate: snow light is flat
                x += (x.mean(axis=2, keepdims=True) - x) * _lerp(0.2, 0.45, self.strength)
            x += (_channel_weights(x, (0.86, 0.88, 0.92)) - x) * (
                haze * _per_row(np.linspace(1.0, 0.5, h, dtype=np.float32), x)
            )
            flakes = _snow_flakes(h, w, self.strength, np.random.default_rng(seed))
            flakes = flakes[..., None] if x.ndim == 3 else flakes
            x += (0.97 - x) * flakes
            return _from_float(x, img.dtype)

    class FogHaze(_Scaled):
        """Pale, patchy haze that hides detail, densest at the top where things are far away.

        Our own because albumentations' RandomFog paints hundreds of blurred discs (about 110 ms per 360x640).
        """

        def get_params(self) -> dict[str, Any]:
            s, r = self.strength, self.py_random
            return {"density": r.uniform(_lerp(0.35, 0.7, s), _lerp(0.5, 0.95, s)), "seed": r.getrandbits(32)}

        def apply(self, img: np.ndarray, density: float, seed: int, **params: Any) -> np.ndarray:
            import cv2

            x = _to_float(img)
            h, w = x.shape[:2]
            rows = np.clip(1.5 - 1.6 * np.linspace(0.0, 1.0, h, dtype=np.float32), 0.3, 1.0)
            patches = np.random.default_rng(seed).uniform(0.85, 1.15, (4, 6)).astype(np.float32)
            weight = np.clip(
                cv2.resize(patches, (w, h), interpolation=cv2.INTER_CUBIC) * rows[:, None] * density, 0, 1
            )
            weight = weight[..., None] if x.ndim == 3 else weight
            blurred = cv2.GaussianBlur(x, (0, 0), max(0.8, 2.0 * density * max(h, w) / 640))
            x += (blurred - x) * weight
            x += (_channel_weights(x, (0.8, 0.82, 0.84)) - x) * weight
            return _from_float(x, img.dtype)

    return {"night": NightLook, "snow": SnowFall, "fog": FogHaze}


def _snow_flakes(h: int, w: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Soft flake opacity in 0..1: more and bigger flakes with strength, sized relative to the image."""
    import cv2

    layer = np.zeros((h, w), np.uint8)
    scale = max(h, w) / 480.0
    count = int(h * w * _lerp(0.0012, 0.004, strength))
    xs, ys = rng.uniform(0, w, count), rng.uniform(0, h, count)
    radii = (
        np.minimum(0.6 + rng.exponential(_lerp(0.7, 1.2, strength), count), 4.5) * scale
    )  # a few near, big
    alphas = rng.integers(150, 256, count)
    for x, y, r, a in zip(
        (xs * 16).astype(int), (ys * 16).astype(int), (radii * 16).astype(int), alphas, strict=True
    ):
        cv2.circle(layer, (int(x), int(y)), max(int(r), 8), int(a), -1, cv2.LINE_AA, 4)
    sigma = max(0.5, 0.8 * scale)
    return cv2.GaussianBlur(layer, (0, 0), sigma).astype(np.float32) / 255.0


def _to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)


def _from_float(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.clip(x, 0.0, 1.0).astype(dtype)


def _per_row(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One value per image row, shaped to broadcast over `x` (grey or colour)."""
    return values.reshape(-1, *([1] * (x.ndim - 1)))


def _channel_weights(x: np.ndarray, rgb: tuple[float, float, float]) -> np.ndarray:
    """Per-channel values broadcastable to `x`; grey images get their mean."""
    if x.ndim == 3 and x.shape[2] == 3:
        return np.array(rgb, np.float32)
    return np.float32(sum(rgb) / 3)
