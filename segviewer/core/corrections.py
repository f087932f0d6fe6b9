"""Corrections: edited masks kept beside a data set, never over its original masks.

A correction is an 8-bit PNG of training ids named after its sample (`<sample>.png`) in one folder
per split. The folder is `ROOT/.segviewer/corrections/<split>/`; when ROOT cannot be written it is
`paths.corrections_home()/paths.dataset_key(ROOT)/<split>/` in the user's data folder instead, and
`Corrections.where()` says so. A folder that already holds corrections is used wherever it is, so
corrections saved while ROOT was read-only are still found later.

Each split folder may also hold `reviewed.json`: the samples a person marked as reviewed.
`apply_corrections` turns a `Dataset` read from the original files into one whose samples use the
corrections (a correction wins over the original mask; an unlabelled image with a correction becomes
labelled).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from segviewer.core import paths
from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError
from segviewer.core.imageio import ImageReadError, read_label, write_png
from segviewer.core.training.config import LABELS

SUFFIX = ".png"
REVIEWED_FILE = "reviewed.json"


class Corrections:
    """The correction store of one data set root (all its splits)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self.in_root = self.root / ".segviewer" / "corrections"
        self.in_data_home = paths.corrections_home() / paths.dataset_key(self.root)
        self.folder = _choose_folder(self.root, self.in_root, self.in_data_home)

    @property
    def uses_data_home(self) -> bool:
        return self.folder == self.in_data_home

    def where(self) -> str:
        """A sentence for the user: where corrections are saved, and why there."""
        if self.uses_data_home:
            return f"{self.root} cannot be written, so corrections are saved in {self.folder}"
        return f"corrections are saved in {self.folder}"

    def split_folder(self, split: str) -> Path:
        return self.folder / _safe_part(split, "split")

    def path(self, split: str, sample: str) -> Path:
        """Where the correction of `sample` lives; a name like 'sub/img' (nested images) is a subfolder."""
        parts = sample.split("/")
        for part in parts:
            _safe_part(part, "sample name")
        return self.split_folder(split).joinpath(*parts[:-1], f"{parts[-1]}{SUFFIX}")

    def samples(self, split: str) -> list[str]:
        """Names of the corrected samples of `split` (subfolders give 'sub/name'), sorted."""
        folder = self.split_folder(split)
        names: list[str] = []
        pending = [(folder, "")]
        while pending:
            current, prefix = pending.pop()
            try:
                with os.scandir(current) as it:
                    entries = list(it)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except PermissionError:
                raise UserError(f"{current}: cannot be read (permission denied); allow reading it") from None
            for e in entries:
                if e.name.startswith("."):
                    continue
                if e.is_dir():
                    pending.append((Path(e.path), f"{prefix}{e.name}/"))
                elif e.name.endswith(SUFFIX) and e.is_file():
                    names.append(prefix + e.name[: -len(SUFFIX)])
        return sorted(names)

    def splits(self) -> list[str]:
        """Split folders that hold at least one correction."""
        try:
            names = sorted(
                e.name for e in os.scandir(self.folder) if e.is_dir() and not e.name.startswith(".")
            )
        except OSError:
            return []
        return [s for s in names if self.samples(s)]

    def has(self, split: str, sample: str) -> bool:
        return self.path(split, sample).is_file()

    def read(self, split: str, sample: str) -> np.ndarray:
        """(H, W) uint8 training ids of a saved correction."""
        path = self.path(split, sample)
        arr, kind = read_label(path)
        if kind != "index":
            raise ImageReadError(f"{path}: a correction must be an 8-bit grey PNG of training ids; delete it")
        return np.asarray(arr, np.uint8)

    def write(self, split: str, sample: str, mask: np.ndarray) -> Path:
        """Save `mask` (H, W) of training ids atomically; the original mask file is never touched."""
        mask = np.asarray(mask)
        if mask.ndim != 2 or mask.size == 0:
            raise ValueError(f"a correction is an (H, W) array of training ids, got shape {mask.shape}")
        if mask.dtype != np.uint8:
            if mask.min() < 0 or mask.max() > 255:
                raise ValueError("correction values must be training ids 0..255")
            mask = mask.astype(np.uint8)
        path = self.path(split, sample)
        write_png(path, mask)
        return path

    def delete(self, split: str, sample: str) -> bool:
        """Remove a correction (the sample goes back to its original mask). True when one was removed."""
        path = self.path(split, sample)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise UserError(f"{path}: the correction could not be removed ({exc.strerror or exc})") from None
        return True

    def reviewed(self, split: str) -> set[str]:
        """Samples of `split` a person marked as reviewed."""
        path = self.split_folder(split) / REVIEWED_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            raise UserError(
                f"{path}: not a readable list of reviewed samples; delete it to start over"
            ) from None
        names = data.get("reviewed", []) if isinstance(data, dict) else []
        return {str(n) for n in names}

    def set_reviewed(self, split: str, sample: str, reviewed: bool = True) -> None:
        """Remember (or forget) that `sample` was reviewed; written atomically."""
        names = self.reviewed(split)
        names = names | {sample} if reviewed else names - {sample}
        text = json.dumps({"version": 1, "reviewed": sorted(names)}, indent=1) + "\n"
        path = self.split_folder(split) / REVIEWED_FILE
        atomic_write(path, lambda f: f.write(text.encode("utf-8")), kept="the previous marks are unchanged")

    def summary(self) -> dict:
        """What a run's config.json records: where the corrections are and a digest of their contents."""
        splits = {}
        for split in self.splits():
            digest = hashlib.sha1()
            names = self.samples(split)
            for name in names:
                digest.update(name.encode("utf-8") + b"\0")
                try:
                    digest.update(hashlib.sha1(self.path(split, name).read_bytes()).digest())
                except OSError:
                    digest.update(b"unreadable")
            splits[split] = {"samples": len(names), "sha1": digest.hexdigest()}
        return {"folder": str(self.folder), "splits": splits}


def _check_labels(labels: str) -> None:
    if labels not in LABELS:
        raise UserError(f"labels must be one of {', '.join(LABELS)}, not '{labels}'")


def resolve_labels(root: str | Path, labels: str) -> str:
    """'auto' -> 'corrected' when the data set has corrections, else 'original'."""
    _check_labels(labels)
    if labels != "auto":
        return labels
    return "corrected" if Corrections(root).splits() else "original"


def apply_corrections(dataset, labels: str = "auto"):
    """`dataset` (a `datasets.Dataset`) with its samples' masks replaced by their corrections.

    labels: 'original' (the files as they are), 'corrected' (corrections must exist) or 'auto'
    (corrected when any exist). Corrections that match no image are listed in `dataset.problems`.
    """
    _check_labels(labels)
    store = Corrections(dataset.root)
    dataset.corrections = store.folder
    if labels == "original":
        dataset.labels = "original"
        return dataset
    found = store.splits()
    if labels == "corrected" and not found:
        raise UserError(
            f"{dataset.root}: has no corrections (looked in {store.folder}); use --labels original"
        )
    applied = 0
    for split in found:
        names = set(store.samples(split))
        samples = dataset.splits.get(split, [])
        for i, sample in enumerate(samples):
            if sample.name in names:
                samples[i] = replace(
                    sample, mask=store.path(split, sample.name), original_mask=sample.mask, corrected=True
                )
                names.discard(sample.name)
                applied += 1
        dataset.problems.extend(
            f"{store.path(split, n)}: correction of no image in the '{split}' split; it is not used"
            for n in sorted(names)
        )
    dataset.labels = "corrected" if applied else "original"
    return dataset


def labels_note(dataset, requested: str) -> str | None:
    """What a command says when corrections decide which masks it uses; None when none are used."""
    if dataset.labels != "corrected":
        return None
    fixed = sum(s.corrected for samples in dataset.splits.values() for s in samples)
    how = (
        ""
        if requested == "corrected"
        else " (the default when corrections exist; --labels original to ignore them)"
    )
    return f"using corrected labels: {fixed} corrected samples in {dataset.corrections}{how}"


def corrections_used(dataset) -> dict | None:
    """For a run's config.json: the corrections a data set was read with, None when it used originals."""
    if dataset.labels != "corrected":
        return None
    return {"labels": "corrected"} | Corrections(dataset.root).summary()


def export_corrections(dataset, out: str | Path) -> list[Path]:
    """Write the corrected masks of `dataset` (read with corrections) into `out`/<split>/ in its own format.

    The format follows `dataset.mask_kind`: training ids, palette PNGs (BDD100K colormaps), the scheme's
    own ids (Cityscapes labelIds; ignored pixels get the scheme's ignore id) or its colours. Files keep
    the data set's mask names (`<sample>.png` for images that had none). `out` must be new or empty, so
    nothing is overwritten.
    """
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: exists and is not an empty folder; choose a new folder for the export")
    written = []
    for split, samples in dataset.splits.items():
        for sample in samples:
            if not sample.corrected:
                continue
            name = sample.original_mask.name if sample.original_mask is not None else f"{sample.name}{SUFFIX}"
            if not name.lower().endswith(SUFFIX):
                name = f"{Path(name).stem}{SUFFIX}"
            target = out / split / name
            array, palette = encode_mask(dataset.load_mask(sample), dataset)
            write_png(target, array, palette=palette)
            written.append(target)
    return written


def encode_mask(train_ids: np.ndarray, dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """(array, palette or None) of a training-id mask as the data set's mask files store it."""
    train = dataset.scheme
    if dataset.mask_kind == "palette":
        return train_ids, train.palette
    if dataset.mask_kind == "train_ids":
        return train_ids, None
    file_scheme = dataset.file_scheme
    ids = np.full(256, file_scheme.ignore_index, np.uint8)
    filled = np.zeros(256, bool)
    for c in file_scheme.classes:  # the first class of each training id stands for it
        t = int(c.train_id)
        if 0 <= t < 256 and t != train.ignore_index and not filled[t] and 0 <= c.id < 256:
            ids[t], filled[t] = c.id, True
    file_ids = ids[train_ids]
    if dataset.mask_kind == "color":
        return file_scheme.colorize(file_ids), None
    return file_ids, None


def _choose_folder(root: Path, in_root: Path, in_data_home: Path) -> Path:
    """The folder that holds corrections already, else ROOT's own when it can be written."""
    if in_root.is_dir():
        return in_root
    if in_data_home.is_dir():
        return in_data_home
    existing = in_root
    while not existing.exists() and existing != root:
        existing = existing.parent
    return in_root if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK) else in_data_home


def _safe_part(name: str, what: str) -> str:
    """A split or sample name as one path part, so a name never escapes the corrections folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{what} '{name}' cannot name a file")
    return name
