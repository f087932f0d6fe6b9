"""Folder layouts of the data sets segviewer reads, and their lazy listing.

`detect(root, scheme)` tries each layout in turn and lists its samples. Nothing here opens an image:
files are listed with os.scandir and paired by name, so 10,000 samples index in a fraction of a second.
Pairing problems (an image without its mask, a mask without its image) go into `Dataset.problems` as
"path: message" strings; an unmatched file is never paired with another one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from segviewer.core.datasets import SPLITS, Dataset, DatasetError, Sample, list_images
from segviewer.core.labels import LabelScheme, get_scheme

# format -> folder pattern; shown to the user when a folder matches none of them.
LAYOUTS: dict[str, str] = {
    "bdd100k-10k": "images/10k/{train,val,test}/*.jpg + labels/sem_seg/masks/{train,val}/*.png "
    "(or labels/sem_seg/colormaps/{train,val}/*.png); ROOT may also be the bdd100k/ folder above them",
    "bdd100k-2018": "seg/images/{train,val,test}/*.jpg + seg/labels/{train,val}/*_train_id.png",
    "cityscapes": "leftImg8bit/{split}/{city}/*_leftImg8bit.png + gtFine/{split}/{city}/*_gtFine_labelTrainIds.png "
    "(or *_gtFine_labelIds.png)",
    "camvid": "train/ trainannot/ val/ valannot/ test/ testannot/ (SegNet layout)",
    "folder": "images/ + masks/ paired by file name (optionally train/ val/ test/ inside each); "
    "masks hold class ids (or colours) of the chosen label scheme, bdd100k by default",
    "images": "any folder of images without masks (sub-folders too), or one image file: unlabelled",
    "video": "a video file (.mp4, .avi, .mov, ... as OpenCV's FFmpeg backend reads): unlabelled frames",
}
UNLABELLED_SPLIT = "all"  # the one split of an 'images' or 'video' data set

SPLIT_RATIOS = (0.70, 0.15, 0.15)  # train:val:test for data sets without splits, as in the paper

CITY_IMAGE = "_leftImg8bit"
CITY_TRAIN_IDS = "_gtFine_labelTrainIds"
CITY_IDS = "_gtFine_labelIds"
BDD2018_MASK = "_train_id"

MaskPath = Callable[[str, Path], Path]  # (sample name, image path) -> where its mask should be


def detect(root: Path, scheme: LabelScheme | None) -> Dataset:
    """The data set in `root`. `scheme` is used by plain folders only; the other layouts fix their own."""
    try:
        for fmt, find, build in _DETECTORS:
            base = find(root)
            if base is not None:
                ds = build(base, scheme)
                if not any(ds.splits.values()):
                    raise DatasetError(
                        f"{base}: looks like a {fmt} data set ({LAYOUTS[fmt]}) but holds no images"
                    )
                return ds
        images, problems = _nested_images(root)
    except PermissionError as exc:
        raise DatasetError(
            f"{exc.filename or root}: cannot be read (permission denied); allow reading it or choose another folder"
        ) from None
    if images:
        return _unlabelled(root, "images", images, scheme, problems)
    raise DatasetError(_no_layout_message(root))


def open_file(path: Path, scheme: LabelScheme | None) -> Dataset:
    """A data set of one image file, or of the frames of one video file."""
    from segviewer.core.imageio import IMAGE_SUFFIXES
    from segviewer.core.video import VideoFile, is_video

    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _unlabelled(path, "images", [Sample(_stem(path.name), path)], scheme)
    if is_video(path):
        video = VideoFile(path)
        samples = [Sample(f"{path.stem} #{i:06d}", path, None, i) for i in range(len(video))]
        return _unlabelled(path, "video", samples, scheme)
    raise DatasetError(
        f"{path}: is a file segviewer does not open; choose a data set's folder, an image "
        f"({', '.join(IMAGE_SUFFIXES)}) or a video ({', '.join(_video_suffixes())})"
    )


def _video_suffixes() -> tuple[str, ...]:
    from segviewer.core.video import VIDEO_SUFFIXES

    return VIDEO_SUFFIXES


def _unlabelled(
    root: Path, fmt: str, samples: list[Sample], scheme: LabelScheme | None, problems: list[str] | None = None
) -> Dataset:
    scheme = scheme or get_scheme("bdd100k")
    return Dataset(root, fmt, scheme, {UNLABELLED_SPLIT: samples}, "none", problems or [])


def _nested_images(root: Path) -> tuple[list[Sample], list[str]]:
    """Every image under `root` in file order, named by its path without suffix ('seq01/0001')."""
    samples: list[Sample] = []
    problems: list[str] = []
    for folder, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(folder)
        prefix = base.relative_to(root).as_posix()
        for name, path in _index(list_images(base), _stem, "image", problems).items():
            samples.append(Sample(f"{prefix}/{name}" if prefix != "." else name, path))
    return samples, problems


# --- splitting ---------------------------------------------------------------------------------


def split_counts(n: int, ratios: tuple[float, float, float] = SPLIT_RATIOS) -> tuple[int, int, int]:
    """Sizes of train/val/test for `n` samples: nearest to the ratios, val and test non-empty from n=3."""
    exact = [n * r / sum(ratios) for r in ratios]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    if n >= 3:
        for i in (1, 2):
            if counts[i] == 0:
                counts[i], counts[0] = 1, counts[0] - 1
    return counts[0], counts[1], counts[2]


def split_samples(samples: list[Sample]) -> dict[str, list[Sample]]:
    """Shuffle by a hash of each name (the same on every run, machine and Python) and split 70:15:15."""
    order = sorted(samples, key=lambda s: (hashlib.sha1(s.name.encode("utf-8")).hexdigest(), s.name))
    n_train, n_val, _ = split_counts(len(order))
    parts = {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    return {name: sorted(part, key=lambda s: s.name) for name, part in parts.items()}


# --- pairing -----------------------------------------------------------------------------------


def _index(
    paths: list[Path], key: Callable[[str], str | None], what: str, problems: list[str]
) -> dict[str, Path]:
    """name -> file; `key` turns a file name into a sample name (None: not part of the data set)."""
    out: dict[str, Path] = {}
    for path in paths:
        name = key(path.name)
        if name is None:
            continue
        if name in out:
            problems.append(
                f"{path}: {what} with the same name as {out[name].name}; only that one is used, rename or remove this one"
            )
            continue
        out[name] = path
    return out


def _pair(
    images: dict[str, Path], masks: dict[str, Path] | None, mask_path: MaskPath, problems: list[str]
) -> list[Sample]:
    """Samples by exact name; `masks` None means an unlabelled split (no problem reported)."""
    if masks is None:
        return [Sample(name, img) for name, img in images.items()]
    samples = []
    for name, img in images.items():
        mask = masks.get(name)
        if mask is None:
            problems.append(f"{img}: image has no mask (expected {mask_path(name, img)})")
        samples.append(Sample(name, img, mask))
    for name, mask in masks.items():
        if name not in images:
            problems.append(f"{mask}: mask has no image named '{name}'; add the image or remove the mask")
    return samples


def _stem(filename: str) -> str:
    return filename.rsplit(".", 1)[0]


def _suffixed(suffix: str) -> Callable[[str], str | None]:
    """Key for files named <name><suffix>.<ext>; other files are not part of the data set."""

    def key(filename: str) -> str | None:
        stem = _stem(filename)
        return stem[: -len(suffix)] if stem.endswith(suffix) else None

    return key


def _mask_in(folder: Path, suffix: str = ".png") -> MaskPath:
    return lambda name, _image: folder / f"{name}{suffix}"


def _subdirs(folder: Path) -> list[str]:
    """Sub-folder names, train/val/test first, then the others by name."""
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if e.is_dir() and not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [s for s in SPLITS if s in names] + sorted(n for n in names if n not in SPLITS)


def _listed(
    folder: Path, key: Callable[[str], str | None], what: str, problems: list[str]
) -> dict[str, Path] | None:
    """Index of `folder`, or None when the folder does not exist (an unlabelled split)."""
    return _index(list_images(folder), key, what, problems) if folder.is_dir() else None


# --- BDD100K 10K -------------------------------------------------------------------------------


def _find_bdd10k(root: Path) -> Path | None:
    for base in (root, root / "bdd100k"):
        if (base / "images" / "10k").is_dir():
            return base
    return None


def _build_bdd10k(base: Path, scheme: LabelScheme | None) -> Dataset:
    image_root, sem = base / "images" / "10k", base / "labels" / "sem_seg"
    mask_root, kind = sem / "masks", "train_ids"
    if not mask_root.is_dir() and (sem / "colormaps").is_dir():
        mask_root, kind = sem / "colormaps", "palette"
    problems: list[str] = []
    splits = {}
    for split in _subdirs(image_root):
        images = _index(list_images(image_root / split), _stem, "image", problems)
        masks = _listed(mask_root / split, _stem, "mask", problems)
        splits[split] = _pair(images, masks, _mask_in(mask_root / split), problems)
    return Dataset(base, "bdd100k-10k", get_scheme("bdd100k"), splits, kind, problems)


# --- BDD100K 2018 ------------------------------------------------------------------------------


def _find_bdd2018(root: Path) -> Path | None:
    if (root / "seg" / "images").is_dir():
        return root / "seg"
    if (root / "images").is_dir() and (root / "labels").is_dir():
        if root.name == "seg" or any(_has_suffix(root / "labels" / s, BDD2018_MASK + ".png") for s in SPLITS):
            return root
    return None


def _has_suffix(folder: Path, suffix: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return any(e.name.endswith(suffix) for e in it)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _build_bdd2018(base: Path, scheme: LabelScheme | None) -> Dataset:
    problems: list[str] = []
    splits = {}
    for split in _subdirs(base / "images"):
        images = _index(list_images(base / "images" / split), _stem, "image", problems)
        mask_dir = base / "labels" / split
        masks = _listed(mask_dir, _suffixed(BDD2018_MASK), "mask", problems)
        splits[split] = _pair(images, masks, _mask_in(mask_dir, BDD2018_MASK + ".png"), problems)
    return Dataset(base, "bdd100k-2018", get_scheme("bdd100k"), splits, "train_ids", problems)


# --- Cityscapes --------------------------------------------------------------------------------


def _find_cityscapes(root: Path) -> Path | None:
    return root if (root / "leftImg8bit").is_dir() else None


def _list_cities(folder: Path) -> list[Path] | None:
    if not folder.is_dir():
        return None
    return [p for city in _subdirs(folder) for p in list_images(folder / city)]


def _build_cityscapes(base: Path, scheme: LabelScheme | None) -> Dataset:
    image_root, gt_root = base / "leftImg8bit", base / "gtFine"
    listing = {
        s: (_list_cities(image_root / s) or [], _list_cities(gt_root / s)) for s in _subdirs(image_root)
    }
    has_train_ids = any(
        _stem(p.name).endswith(CITY_TRAIN_IDS) for _, gts in listing.values() for p in gts or []
    )
    suffix, file_scheme, kind = (
        (CITY_TRAIN_IDS, get_scheme("bdd100k"), "train_ids")
        if has_train_ids
        else (CITY_IDS, get_scheme("cityscapes"), "ids")
    )
    problems: list[str] = []
    splits = {}
    for split, (image_files, gt_files) in listing.items():
        images = _index(image_files, _suffixed(CITY_IMAGE), "image", problems)
        masks = None if gt_files is None else _index(gt_files, _suffixed(suffix), "mask", problems)
        splits[split] = _pair(images, masks, _city_mask(gt_root / split, suffix), problems)
    return Dataset(base, "cityscapes", file_scheme, splits, kind, problems)


def _city_mask(split_dir: Path, suffix: str) -> MaskPath:
    return lambda name, image: split_dir / image.parent.name / f"{name}{suffix}.png"


# --- CamVid ------------------------------------------------------------------------------------


def _find_camvid(root: Path) -> Path | None:
    return root if any((root / s).is_dir() and (root / f"{s}annot").is_dir() for s in SPLITS) else None


def _build_camvid(base: Path, scheme: LabelScheme | None) -> Dataset:
    problems: list[str] = []
    splits = {}
    for split in SPLITS:
        if (base / split).is_dir():
            images = _index(list_images(base / split), _stem, "image", problems)
            masks = _listed(base / f"{split}annot", _stem, "mask", problems)
            splits[split] = _pair(images, masks, _mask_in(base / f"{split}annot"), problems)
    return Dataset(base, "camvid", get_scheme("camvid"), splits, "train_ids", problems)


# --- plain folder ------------------------------------------------------------------------------


def _find_folder(root: Path) -> Path | None:
    return root if (root / "images").is_dir() else None


def _build_folder(base: Path, scheme: LabelScheme | None) -> Dataset:
    image_root, mask_root = base / "images", base / "masks"
    problems: list[str] = []
    split_names = [s for s in SPLITS if (image_root / s).is_dir()]
    if split_names:
        splits = {}
        for split in split_names:
            images = _index(list_images(image_root / split), _stem, "image", problems)
            masks = _listed(mask_root / split, _stem, "mask", problems)
            splits[split] = _pair(images, masks, _mask_in(mask_root / split), problems)
        loose = list_images(image_root)
        if loose:
            problems.append(
                f"{loose[0]}: {len(loose)} image(s) directly in {image_root} are not used because it has "
                f"{'/'.join(split_names)} folders; move them into one"
            )
    else:
        images = _index(list_images(image_root), _stem, "image", problems)
        masks = _listed(mask_root, _stem, "mask", problems)
        splits = split_samples(_pair(images, masks, _mask_in(mask_root), problems))
    if not mask_root.is_dir():
        for other in ("labels", "annotations", "annot", "gt"):
            if (base / other).is_dir():
                problems.append(
                    f"{base / other}: masks are read from {mask_root}; rename the folder to masks/"
                )
    return Dataset(base, "folder", scheme or get_scheme("bdd100k"), splits, "ids", problems)


_DETECTORS: list[tuple[str, Callable[[Path], Path | None], Callable[[Path, LabelScheme | None], Dataset]]] = [
    ("bdd100k-10k", _find_bdd10k, _build_bdd10k),
    ("bdd100k-2018", _find_bdd2018, _build_bdd2018),
    ("cityscapes", _find_cityscapes, _build_cityscapes),
    ("camvid", _find_camvid, _build_camvid),
    ("folder", _find_folder, _build_folder),
]


def _no_layout_message(root: Path) -> str:
    try:
        with os.scandir(root) as it:
            entries = sorted(e.name + ("/" if e.is_dir() else "") for e in it if not e.name.startswith("."))
    except OSError:
        entries = []
    found = (
        ", ".join(entries[:10]) + (f" and {len(entries) - 10} more" if len(entries) > 10 else "")
        if entries
        else "nothing"
    )
    lines = [f"{root}: not a data set layout segviewer knows (found: {found}). Expected one of:"]
    lines += [f"  {fmt:<13} {pattern}" for fmt, pattern in LAYOUTS.items()]
    return "\n".join(lines)
