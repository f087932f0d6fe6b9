"""Input pipeline: decode, resize, cache, augment, batch; normalisation happens on the compute device.

Decode cache: resized uint8 arrays (RGB + mask as a 4th channel) saved as one .npy per sample under
`paths.decoded_cache_dir()` (`$SEGVIEWER_CACHE_DIR/decoded`, or the platform's cache folder), keyed by both files' path, mtime and size,
the label decoding and the input size. A disk cache rather than an in-memory LRU because DataLoader
workers are separate processes (each would need its own copy of the whole split, since shuffling sends
every sample to a random worker), because it survives between runs and processes (the GUI's spawned
trainer, `--resume`), and because the OS page cache makes warm reads about as fast as memory. It is
pruned to `SEGVIEWER_CACHE_MAX_GB` (default 5) oldest-first; the files are ours, never the user's.

Bad samples (unreadable image or mask, mask of another size than its image) are skipped and reported
as warnings naming the file: one broken file in 10,000 should not cost a night of training. Mask
values that are not classes of the scheme become the ignore index, also with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from torch.utils.data import Dataset as TorchDataset

from segviewer.core import paths
from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError

CACHE_VERSION = 2  # bump when decoding or resizing changes


# --- resizing and normalisation ------------------------------------------------------------------
def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 to (h, w): area averaging when shrinking (no aliasing), bilinear when enlarging."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrink = h <= image.shape[0] and w <= image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest neighbour, so that no class id is invented at boundaries.

    INTER_NEAREST_EXACT samples at pixel centres like the area-averaged image; plain INTER_NEAREST
    would shift the mask by up to half an output pixel against it (it matters for 3-pixel poles).
    """
    h, w = size
    if mask.shape[:2] == (h, w):
        return mask
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST_EXACT)


def normalize_tf(images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1] (Keras 'tf' mode: x / 127.5 - 1, as the paper)."""
    x = images.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


# --- decode cache ----------------------------------------------------------------------------------
def _file_id(path: Path | None) -> list:
    if path is None:
        return [None]
    try:
        st = path.stat()
    except OSError:  # missing: decoding will report it
        return [str(path), None, None]
    return [str(path.resolve()), st.st_mtime_ns, st.st_size]


def decoding_id(dataset: Dataset) -> str:
    """What turns mask files into training ids: the file scheme and how masks store classes."""
    scheme = json.dumps(dataset.file_scheme.to_json(), sort_keys=True)
    return hashlib.sha1(f"{scheme}|{dataset.mask_kind}".encode()).hexdigest()[:16]


def cache_key(decoding: str, sample: Sample, size: tuple[int, int]) -> str:
    """Changes when either file, the mask decoding or the input size changes."""
    parts = [CACHE_VERSION, _file_id(sample.image), _file_id(sample.mask), decoding, list(size)]
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()


def prune_cache(folder: Path, max_bytes: int | None = None) -> int:
    """Delete the oldest cache files until the folder holds at most `max_bytes`. Returns bytes freed."""
    if max_bytes is None:
        max_bytes = int(float(os.environ.get("SEGVIEWER_CACHE_MAX_GB", "5")) * 1e9)
    try:
        entries = [
            (e.stat().st_mtime, e.stat().st_size, e.path)
            for e in os.scandir(folder)
            if e.name.endswith(".npy")
        ]
    except OSError:
        return 0
    total = sum(size for _, size, _ in entries)
    freed = 0
    for _, size, path in sorted(entries):
        if total - freed <= max_bytes:
            break
        try:
            os.unlink(path)
            freed += size
        except OSError:
            pass
    return freed


# --- torch data set --------------------------------------------------------------------------------
class SampleLoadError(UserError):
    """One sample that cannot be used (reported and skipped during training)."""


class SegmentationSet(TorchDataset):
    """Resized (image, mask) pairs as uint8 tensors, through the decode cache, optionally augmented.

    Items are indexed by `(index, seed)` from `EpochSampler` so that augmentation is reproducible no
    matter which worker process draws the sample. An item is `(image HWC, mask HW, problem)`; a
    skipped sample has `image is None` and `problem` says why.

    `crop_size=(h, w)` (training split only) takes one random h x w window of each resized, augmented
    image and the same window of its mask: the network then trains at the cost of h x w images while
    seeing, and validating at, the larger `input_size`, where small objects span more pixels.
    """

    def __init__(
        self,
        dataset: Dataset,
        samples: list[Sample],
        input_size: tuple[int, int],
        cache_dir: str | Path | None = None,
        augmenter=None,
        crop_size: tuple[int, int] | None = None,
    ) -> None:
        self.dataset = Dataset(dataset.root, dataset.format, dataset.file_scheme, {}, dataset.mask_kind, [])
        self.samples = list(samples)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.augmenter = augmenter
        self.crop_size = None if crop_size is None else (int(crop_size[0]), int(crop_size[1]))
        if self.crop_size is not None:
            (ch, cw), (h, w) = self.crop_size, self.input_size
            if not (1 <= ch <= h and 1 <= cw <= w):
                raise UserError(
                    f"training crop {ch}x{cw} does not fit in the input size {h}x{w}; "
                    "use a crop no larger than the input size"
                )
        scheme = self.dataset.scheme
        self.ignore_index = scheme.ignore_index
        lut = np.arange(256, dtype=np.uint8)
        lut[scheme.num_classes :] = scheme.ignore_index
        self._lut = lut  # maps values that are not classes to the ignore index
        self._decoding = decoding_id(self.dataset)

    def __len__(self) -> int:
        return len(self.samples)

    def load_resized(self, sample: Sample) -> np.ndarray:
        """(h, w, 4) uint8: RGB + training-id mask at the input size, from the cache when possible."""
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"{cache_key(self._decoding, sample, self.input_size)}.npy"
            try:
                arr = np.load(path, allow_pickle=False)
                if arr.shape == (*self.input_size, 4) and arr.dtype == np.uint8:
                    return arr
            except (OSError, ValueError, EOFError):
                pass
        arr = self._decode(sample)
        if path is not None:
            _store(path, arr)
        return arr

    def _decode(self, sample: Sample) -> np.ndarray:
        image = self.dataset.load_image(sample)
        mask = self.dataset.load_mask(sample)
        if mask.shape[:2] != image.shape[:2]:
            raise SampleLoadError(
                f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image {sample.image.name} is "
                f"{image.shape[1]}x{image.shape[0]}; export the mask at the image's size"
            )
        out = np.empty((*self.input_size, 4), np.uint8)
        out[..., :3] = resize_image(image, self.input_size)
        out[..., 3] = resize_mask(mask, self.input_size)
        return out

    def __getitem__(self, key):
        index, seed = key if isinstance(key, tuple) else (key, None)
        sample = self.samples[index]
        try:
            arr = self.load_resized(sample)
        except UserError as exc:
            return None, None, f"skipped sample '{sample.name}': {exc}"
        image, mask = arr[..., :3], arr[..., 3]
        problem = None
        fixed = self._lut[mask]
        if not np.array_equal(fixed, mask):
            bad = sorted({int(v) for v in np.unique(mask[fixed != mask])})
            problem = (
                f"{sample.mask}: values {bad} are not classes of the '{self.dataset.scheme.name}' scheme; "
                "those pixels are ignored (is --scheme right?)"
            )
            mask = fixed
        if self.augmenter is not None:
            image, mask = self.augmenter(np.ascontiguousarray(image), np.ascontiguousarray(mask), seed=seed)
            if image.shape[:2] != self.input_size:  # a preset that crops: back to the batch's size
                image, mask = resize_image(image, self.input_size), resize_mask(mask, self.input_size)
        if self.crop_size is not None:
            image, mask = random_crop(image, mask, self.crop_size, seed)
        return (
            torch.from_numpy(np.ascontiguousarray(image)),
            torch.from_numpy(np.ascontiguousarray(mask)),
            problem,
        )


def random_crop(
    image: np.ndarray, mask: np.ndarray, size: tuple[int, int], seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The same random (h, w) window of an image and its mask; `seed` makes it reproducible.

    Its own random stream ([seed, 1]), so the window does not repeat the augmenter's draws.
    """
    h, w = size
    rng = np.random.default_rng(None if seed is None else [int(seed), 1])
    top = int(rng.integers(0, image.shape[0] - h + 1))
    left = int(rng.integers(0, image.shape[1] - w + 1))
    return image[top : top + h, left : left + w], mask[top : top + h, left : left + w]


def _store(path: Path, arr: np.ndarray) -> None:
    """Atomic write; a cache that cannot be written (read-only, full disk) just stays cold."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.save(f, arr, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


class EpochSampler(Sampler):
    """Yields `(index, augmentation seed)`; shuffled per epoch from (seed, epoch), so resuming repeats it."""

    def __init__(self, size: int, shuffle: bool, seed: int = 0) -> None:
        self.size, self.shuffle, self.seed, self.epoch = size, shuffle, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.size) if self.shuffle else np.arange(self.size)
        seeds = rng.integers(0, 2**31 - 1, size=self.size)
        return iter([(int(i), int(s)) for i, s in zip(order, seeds, strict=True)])


def collate_samples(items: list) -> tuple[torch.Tensor | None, torch.Tensor | None, list[str]]:
    """Stack the good items; pass the problems of skipped or repaired ones on as messages."""
    problems = [p for _, _, p in items if p]
    good = [(im, m) for im, m, _ in items if im is not None]
    if not good:
        return None, None, problems
    return torch.stack([im for im, _ in good]), torch.stack([m for _, m in good]), problems


def _worker_init(worker_id: int) -> None:
    """One OpenCV thread per worker (the workers are the parallelism); Ctrl-C is the main process's to handle."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    info = torch.utils.data.get_worker_info()
    np.random.seed((info.seed if info else worker_id) % 2**32)


def default_workers() -> int:
    return min(2, paths.usable_cores())


def build_loader(
    data: SegmentationSet,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    num_workers: int | None = None,
    pin_memory: bool = False,
    persistent: bool = True,
    sampler: Sampler | None = None,
) -> DataLoader:
    """DataLoader over `data` with an `EpochSampler` (call `loader.sampler.set_epoch(e)` each epoch).

    `sampler` replaces it, e.g. with a distributed run's share of each epoch (it must yield the same
    `(index, seed)` keys and have `set_epoch`).
    """
    workers = default_workers() if num_workers is None else max(0, int(num_workers))
    workers = min(workers, max(1, len(data)))
    extra = {}
    if workers > 0:
        extra = {
            "persistent_workers": persistent,
            "worker_init_fn": _worker_init,
            "prefetch_factor": 2,
            "multiprocessing_context": worker_context(),
        }
    return DataLoader(
        data,
        batch_size=batch_size,
        sampler=sampler if sampler is not None else EpochSampler(len(data), shuffle, seed),
        num_workers=workers,
        collate_fn=collate_samples,
        pin_memory=pin_memory,
        **extra,
    )


def worker_context():
    """Start method for DataLoader workers: a forkserver where there is one, else spawn.

    Never plain fork: after torch or OpenCV have started their native thread pools (they do as soon as
    anything is computed, and the GUI runs Qt threads), a forked child can inherit a held lock and
    hang forever. The fork server is a fresh single-threaded process that has imported this module
    once, so each worker still starts in a fraction of a second.
    """
    import multiprocessing as mp
    import sys

    if "forkserver" in mp.get_all_start_methods() and not getattr(sys, "frozen", False):
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["segviewer.core.pipeline"])
        return ctx
    return mp.get_context("spawn")


def median_frequency_weights(counts: np.ndarray, present_in: np.ndarray) -> np.ndarray:
    """SegNet's median frequency balancing: w_c = median(f) / f_c, f_c = pixels of c / pixels of images with c.

    Classes never seen get weight 1 (they do not occur as targets, so it only matters for consistency).
    """
    counts = np.asarray(counts, np.float64)
    present_in = np.asarray(present_in, np.float64)
    seen = (counts > 0) & (present_in > 0)
    weights = np.ones(len(counts), np.float64)
    if seen.any():
        freq = counts[seen] / present_in[seen]
        weights[seen] = np.median(freq) / freq
    return weights.astype(np.float32)


def split_for_training(
    dataset: Dataset, train_split: str = "train", val_split: str = "val", seed: int = 0
) -> tuple[list[Sample], list[Sample], list[str]]:
    """Labelled training and validation samples, and notes for the user.

    Without a labelled validation split, 10% of the training samples are held out (seeded), since
    early stopping needs something to validate on.
    """
    if train_split not in dataset.splits:
        raise UserError(
            f"{dataset.root}: no '{train_split}' split; this data set has {', '.join(dataset.splits) or 'none'}"
        )
    listed = dataset.splits[train_split]
    train = [s for s in listed if s.mask is not None]
    notes = (
        [f"{len(listed) - len(train)} training image(s) without a mask are left out"]
        if len(train) < len(listed)
        else []
    )
    if not train:
        raise UserError(
            f"{dataset.root}: the '{train_split}' split has no images with masks; nothing to train on"
        )
    val = [s for s in dataset.splits.get(val_split, []) if s.mask is not None]
    if not val:
        if len(train) < 2:
            raise UserError(f"{dataset.root}: need at least 2 labelled images (one to validate on); add more")
        order = np.random.default_rng(seed).permutation(len(train))
        k = max(1, round(0.1 * len(train)))
        val = [train[i] for i in sorted(order[:k])]
        train = [train[i] for i in sorted(order[k:])]
        notes.append(
            f"no labelled '{val_split}' split: validating on {k} image(s) held out from '{train_split}'"
        )
    return train, val, notes
