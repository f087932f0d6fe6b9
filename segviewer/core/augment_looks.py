"""The albumentations adapter and the project's own looks (night, snow, fog).

A transform's `strength` (0 = mild, 1 = strong) is translated here into albumentations parameters.
albumentations is imported only when a pipeline is first built, never when this module is imported.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from segviewer.core.augment import TransformSpec

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
