"""Tiny fake data sets of every layout, written with real (32x48) JPEG/PNG files into a test's tmp_path.

Each writer returns the root to pass to `open_dataset`. Masks hold a simple pattern of `values` so a test
can check what `load_mask` returns; images are noise so JPEG encoding has something to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segviewer.core.imageio import write_jpeg, write_png
from segviewer.core.labels import get_scheme

H, W = 32, 48


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def mask(values: tuple[int, ...] = (0, 13, 255)) -> np.ndarray:
    """Vertical stripes of `values`, left to right."""
    stripes = np.array_split(np.arange(W), len(values))
    out = np.zeros((H, W), np.uint8)
    for v, cols in zip(values, stripes, strict=True):
        out[:, cols] = v
    return out


def names(count: int, prefix: str = "s") -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(count)]


def write_pairs(
    image_dir: Path,
    mask_dir: Path | None,
    count: int,
    prefix: str,
    values=(0, 13, 255),
    suffix=".png",
    ext=".jpg",
):
    """`count` images (and masks named <name><suffix> when mask_dir is given)."""
    for i, name in enumerate(names(count, prefix)):
        if ext == ".jpg":
            write_jpeg(image_dir / f"{name}.jpg", image(i))
        else:
            write_png(image_dir / f"{name}{ext}", image(i))
        if mask_dir is not None:
            write_png(mask_dir / f"{name}{suffix}", mask(values))


def write_bdd10k(root: Path, counts=(3, 2, 2), colormaps: bool = False, values=(0, 13, 255)) -> Path:
    """images/10k/{train,val,test} + labels/sem_seg/masks (or colormaps: palette PNGs) for train and val."""
    for split, count in zip(("train", "val", "test"), counts, strict=True):
        image_dir = root / "images" / "10k" / split
        write_pairs(image_dir, None, count, split)
        if split == "test":
            continue
        for name in names(count, split):
            if colormaps:
                write_png(
                    root / "labels" / "sem_seg" / "colormaps" / split / f"{name}.png",
                    mask(values),
                    get_scheme("bdd100k").palette,
                )
            else:
                write_png(root / "labels" / "sem_seg" / "masks" / split / f"{name}.png", mask(values))
    return root


def write_bdd2018(root: Path, counts=(3, 2, 1)) -> Path:
    """seg/images/{train,val,test} + seg/labels/{train,val}/*_train_id.png."""
    seg = root / "seg"
    for split, count in zip(("train", "val", "test"), counts, strict=True):
        labels = None if split == "test" else seg / "labels" / split
        write_pairs(seg / "images" / split, labels, count, split, suffix="_train_id.png")
    return root


def write_cityscapes(root: Path, train_ids: bool = True, label_ids: bool = True) -> Path:
    """leftImg8bit/{train,val}/{city} + gtFine with labelTrainIds and/or labelIds (road, car, unlabeled)."""
    frames = {"train": [("aachen", 2), ("bochum", 1)], "val": [("frankfurt", 2)]}
    for split, cities in frames.items():
        for city, count in cities:
            for i in range(count):
                name = f"{city}_{i:06d}_000019"
                write_png(root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png", image(i))
                gt = root / "gtFine" / split / city
                if train_ids:
                    write_png(gt / f"{name}_gtFine_labelTrainIds.png", mask((0, 13, 255)))
                if label_ids:
                    write_png(gt / f"{name}_gtFine_labelIds.png", mask((7, 26, 0)))
                write_png(gt / f"{name}_gtFine_color.png", np.zeros((H, W, 3), np.uint8))
    return root


def write_camvid(root: Path, counts=(3, 2, 2)) -> Path:
    """SegNet layout: train/ trainannot/ val/ valannot/ test/ testannot/ with CamVid ids (11 = void)."""
    for split, count in zip(("train", "val", "test"), counts, strict=True):
        write_pairs(root / split, root / f"{split}annot", count, split, values=(0, 3, 11), ext=".png")
    return root


def write_folder(
    root: Path, count: int = 20, values=(0, 13, 255), color_scheme: str | None = None, splits: bool = False
) -> Path:
    """images/ + masks/ paired by stem; colour masks in `color_scheme`'s palette when given."""

    def write_masks(mask_dir: Path, prefix: str, n: int) -> None:
        for name in names(n, prefix):
            m = mask(values)
            if color_scheme:
                write_png(mask_dir / f"{name}.png", get_scheme(color_scheme).colorize(m))
            else:
                write_png(mask_dir / f"{name}.png", m)

    if splits:
        for split, n in (("train", 4), ("val", 2), ("test", 2)):
            write_pairs(root / "images" / split, None, n, split)
            write_masks(root / "masks" / split, split, n)
    else:
        write_pairs(root / "images", None, count, "img")
        write_masks(root / "masks", "img", count)
    return root
