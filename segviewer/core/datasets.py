"""Data set layouts: detection and lazy readers (no image is opened while listing).

`open_dataset(root)` returns a `Dataset` whose splits list `Sample` records; `Dataset.load_image` and
`Dataset.load_mask` decode one sample, the mask already in training ids of `Dataset.scheme`. Corrections
saved beside the data set (core/corrections.py) replace the original masks unless `labels="original"`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segviewer.core.errors import UserError
from segviewer.core.imageio import ImageReadError, read_image, read_label
from segviewer.core.labels import LabelScheme, get_scheme

SPLITS = ("train", "val", "test")


class DatasetError(UserError):
    """A folder that is not a data set segviewer can read."""


@dataclass(frozen=True)
class Sample:
    """One image and its mask file (None for unlabelled images such as test splits).

    A corrected sample's `mask` is its correction (training ids) and `original_mask` the data set's own.
    For a video, `image` is the video file and `frame` the frame's index in it.
    """

    name: str
    image: Path
    mask: Path | None = None
    frame: int | None = None
    original_mask: Path | None = None
    corrected: bool = False

    @property
    def key(self) -> str:
        """Names this picture in caches: the image path, and the frame index for a frame of a video
        (all frames of one video share `image`)."""
        return str(self.image) if self.frame is None else f"{self.image}#{self.frame}"


@dataclass
class Dataset:
    """A data set on disk.

    `file_scheme` describes the values stored in the mask files; `scheme` the training ids that
    `load_mask` returns (`file_scheme.training_scheme()`). `mask_kind` is how mask files store classes:
    'train_ids' (values are already training ids), 'ids' (values are `file_scheme` ids), 'palette'
    (palette PNG whose index is the training id), 'color' (RGB colours of `file_scheme`) or 'none'
    (formats 'images' and 'video': unlabelled, every sample's mask is None).
    """

    root: Path
    format: str
    file_scheme: LabelScheme
    splits: dict[str, list[Sample]]
    mask_kind: str = "train_ids"
    problems: list[str] = field(default_factory=list)
    labels: str = "original"  # which masks `load_mask` returns: "original" or "corrected"
    corrections: Path | None = None  # the corrections folder (see core/corrections.py)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def scheme(self) -> LabelScheme:
        return self.file_scheme.training_scheme()

    def split(self, name: str) -> list[Sample]:
        if name not in self.splits:
            raise DatasetError(
                f"{self.root}: no '{name}' split; this data set has {', '.join(self.splits) or 'none'}"
            )
        return self.splits[name]

    def labelled(self, name: str) -> list[Sample]:
        """The samples of a split that have a mask (training and evaluation use only these)."""
        return [s for s in self.split(name) if s.mask is not None]

    def load_image(self, sample: Sample) -> np.ndarray:
        if sample.frame is not None:
            return self.frame_source().read(sample.frame)
        return read_image(sample.image)

    def frame_source(self):
        """The frames of a video data set in order (`segviewer.core.video`), opened once."""
        from segviewer.core.video import ImageSequence, VideoFile

        if "frames" not in self._cache:
            samples = [s for split in self.splits.values() for s in split]
            if self.format == "video":
                self._cache["frames"] = VideoFile(samples[0].image)
            else:
                self._cache["frames"] = ImageSequence([s.image for s in samples], name=self.root.name)
        return self._cache["frames"]

    def load_mask(self, sample: Sample) -> np.ndarray:
        """(H, W) uint8 training ids of `self.scheme`; its ignore index where unlabelled."""
        if sample.mask is None:
            raise ImageReadError(f"{sample.image}: this image has no mask")
        if sample.corrected:
            return decode_mask(sample.mask, self.file_scheme, "train_ids")
        return decode_mask(sample.mask, self.file_scheme, self.mask_kind)

    def load_original_mask(self, sample: Sample) -> np.ndarray | None:
        """The data set's own mask of a sample, corrected or not; None when it has none."""
        if not sample.corrected:
            return self.load_mask(sample) if sample.mask is not None else None
        if sample.original_mask is None:
            return None
        return decode_mask(sample.original_mask, self.file_scheme, self.mask_kind)

    def load_mask_values(self, sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
        """(values, lut): the mask as stored (uint8) and the (256,) lookup to training ids, or None where
        the stored values are training ids already. Evaluation maps 256 histogram rows through `lut`
        instead of every pixel (`load_mask` applies it to every pixel)."""
        if sample.mask is None:
            raise ImageReadError(f"{sample.image}: this image has no mask")
        if getattr(sample, "corrected", False):  # a correction (core/corrections.py) holds training ids
            return self.load_mask(sample), None
        arr, kind = read_label(sample.mask)
        if kind == "color" or arr.dtype != np.uint8:
            return decode_mask(sample.mask, self.file_scheme, self.mask_kind), None
        if self.mask_kind == "ids" and self.file_scheme.training_scheme() is not self.file_scheme:
            return arr, self.file_scheme.train_lut
        return arr, None


def decode_mask(path: Path, file_scheme: LabelScheme, mask_kind: str) -> np.ndarray:
    """Read a mask file and return training ids; raises ImageReadError / LabelError naming the file."""
    arr, kind = read_label(path)
    train = file_scheme.training_scheme()
    if kind == "color":
        if mask_kind in ("train_ids", "palette"):
            return train.decolorize(arr, source=str(path))
        return file_scheme.to_train_ids(file_scheme.decolorize(arr, source=str(path)))
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ImageReadError(
                f"{path}: mask values {int(arr.min())}..{int(arr.max())} do not fit 8 bits; save class ids 0..255"
            )
        arr = arr.astype(np.uint8)
    if mask_kind == "ids":
        return file_scheme.to_train_ids(arr)
    return arr


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted by name; scandir keeps 10,000 files well under a second."""
    from segviewer.core.imageio import IMAGE_SUFFIXES

    try:
        with os.scandir(folder) as it:
            names = [
                e.name for e in it if e.name.lower().endswith(IMAGE_SUFFIXES) and not e.name.startswith(".")
            ]
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise DatasetError(
            f"{folder}: is a file where a folder of images was expected; move it away"
        ) from None
    except PermissionError:
        raise DatasetError(
            f"{folder}: cannot be read (permission denied); allow reading it or choose another folder"
        ) from None
    return [folder / n for n in sorted(names)]


def open_dataset(root: str | Path, scheme: str | None = None, labels: str = "auto") -> Dataset:
    """Detect the layout of `root` and list its samples. `scheme` names the scheme of a plain folder.

    A single image file or a video file opens as an unlabelled data set (formats 'images', 'video').
    labels: "auto" applies corrections when the data set has any, "corrected" requires them,
    "original" reads the data set's own masks only.
    """
    from segviewer.core import layouts
    from segviewer.core.corrections import apply_corrections

    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: folder not found")
    chosen = get_scheme(scheme) if scheme else None
    if not root.is_dir():
        return layouts.open_file(root, chosen)
    return apply_corrections(layouts.detect(root, chosen), labels)
