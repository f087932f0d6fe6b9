"""Open every file of a data set and report what would break training or evaluation.

Listing (layouts.py) never opens a file; `check_dataset` does, one sample at a time, so a GUI can show
progress and stop it between samples. A bad file becomes a `Problem`, never an exception.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segviewer.core.datasets import Dataset, Sample, decode_mask
from segviewer.core.errors import UserError
from segviewer.core.imageio import read_label
from segviewer.core.labels import LabelScheme

# Problem kinds, stable for scripts reading `segviewer info --check --json`.
PAIRING = "pairing"
UNREADABLE_IMAGE = "unreadable-image"
UNREADABLE_MASK = "unreadable-mask"
SIZE_MISMATCH = "size-mismatch"
INVALID_VALUES = "invalid-values"


@dataclass(frozen=True)
class Problem:
    """One problem with one file: `path` names the file, `message` says what is wrong and the fix."""

    path: str
    kind: str
    message: str

    def to_json(self) -> dict:
        return {"path": self.path, "kind": self.kind, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def listing_problems(ds: Dataset) -> list[Problem]:
    """`ds.problems` ("path: message" strings found while listing) as Problems."""
    out = []
    for text in ds.problems:
        path, sep, message = text.partition(": ")
        out.append(Problem(path, PAIRING, message) if sep else Problem(str(ds.root), PAIRING, text))
    return out


def check_dataset(
    ds: Dataset,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Problem]:
    """Listing problems plus those found by opening every image and mask.

    `progress(done, total)` is called after each sample; `should_stop()` is asked before each one and
    ends the check early (the problems found so far are returned).
    """
    problems = listing_problems(ds)
    samples = [s for split in ds.splits.values() for s in split]
    for done, sample in enumerate(samples, 1):
        if should_stop is not None and should_stop():
            break
        problems.extend(check_sample(ds, sample))
        if progress is not None:
            progress(done, len(samples))
    return problems


def check_sample(ds: Dataset, sample: Sample) -> list[Problem]:
    """Problems of one sample's image and mask."""
    problems: list[Problem] = []
    if sample.frame is not None:  # a video frame: decode it from the video
        try:
            ds.load_image(sample)
        except UserError as exc:
            problems.append(Problem(str(sample.image), UNREADABLE_IMAGE, _without_path(exc, sample.image)))
        return problems
    image_hw = _check_image(sample.image, problems)
    if sample.mask is not None:
        _check_mask(ds, sample, image_hw, problems)
    return problems


def _check_image(path: Path, problems: list[Problem]) -> tuple[int, int] | None:
    """(height, width) of a readable image; records a problem otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(path), UNREADABLE_IMAGE, f"cannot be read ({exc.strerror or exc})"))
        return None
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-64:] and _truncated_jpeg(data):
        problems.append(
            Problem(
                str(path), UNREADABLE_IMAGE, "truncated JPEG (the file ends early); download or copy it again"
            )
        )
        return None
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        problems.append(
            Problem(
                str(path),
                UNREADABLE_IMAGE,
                "not a readable image (corrupt or unsupported format); replace or remove it",
            )
        )
        return None
    return img.shape[0], img.shape[1]


def _truncated_jpeg(data: bytes) -> bool:
    """Strict decode of a JPEG without an end marker near its end (OpenCV would fill the rest with grey)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except OSError as exc:
        return "truncated" in str(exc)
    except Exception:  # other decode errors are left to OpenCV
        return False
    return False


def _check_mask(
    ds: Dataset, sample: Sample, image_hw: tuple[int, int] | None, problems: list[Problem]
) -> None:
    path = sample.mask
    assert path is not None
    try:
        values, kind = read_label(path)
    except Exception as exc:  # any unreadable mask is a problem to report, not a crash
        problems.append(Problem(str(path), UNREADABLE_MASK, _without_path(exc, path)))
        return
    if image_hw is not None and values.shape[:2] != image_hw:
        (h, w), (ih, iw) = values.shape[:2], image_hw
        problems.append(
            Problem(
                str(path),
                SIZE_MISMATCH,
                f"mask is {w}x{h} but its image {sample.image.name} is {iw}x{ih}; masks must have their image's size",
            )
        )
    scheme = ds.scheme if sample.corrected else ds.file_scheme  # corrections hold training ids
    if kind == "index":
        bad = scheme.invalid_values(values)
        if bad:
            shown = ", ".join(str(v) for v in bad[:10]) + (
                f" and {len(bad) - 10} more" if len(bad) > 10 else ""
            )
            problems.append(
                Problem(
                    str(path),
                    INVALID_VALUES,
                    f"values {shown} are not classes of the '{scheme.name}' scheme "
                    f"(ids {_id_range(scheme)}, ignore {scheme.ignore_index}); "
                    "choose the scheme the masks were made with or fix the mask",
                )
            )
        return
    try:
        decode_mask(path, ds.file_scheme, ds.mask_kind)
    except Exception as exc:  # colours outside the palette, reported as a problem
        problems.append(Problem(str(path), INVALID_VALUES, _without_path(exc, path)))


def _id_range(scheme: LabelScheme) -> str:
    ids = scheme.ids
    return (
        f"{min(ids)}..{max(ids)}" if ids == list(range(min(ids), max(ids) + 1)) else ", ".join(map(str, ids))
    )


def _without_path(exc: BaseException, path: Path) -> str:
    """The exception's message without a leading "path: " (the Problem names the file already)."""
    text = str(exc) or type(exc).__name__
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
