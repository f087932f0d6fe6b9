"""Label review: rank the labelled images of a split by how confidently a model disagrees with their masks.

This is the self-confidence idea of confident learning (Northcutt et al., 2021; cleanlab's segmentation
module), written here without depending on cleanlab:

1. Typical confidence. For every class k, t_k is the mean probability the model gives k over the pixels
   of the split labelled k (classes with no labelled pixel get 0.5).
2. Suspect pixel. A labelled pixel with given class g is suspect when the model gives g less than its
   typical confidence (p_g < t_g) and some other class j reaches its own (p_j >= t_j); its predicted
   class is the most probable such j. Ignored pixels (and values that are not classes) never count.
3. Image score. The sum over suspect pixels of the margin max(p_j - p_g, 0), divided by the image's
   labelled pixels: a confidence-weighted share of suspect pixels in [0, 1]. A pixel the model is barely
   sure about (object edges, blur) adds little; a region labelled one class and seen as another adds a lot.

Everything is computed at the checkpoint's input size (masks resized by nearest neighbour), where the
model was trained. Limits: the score ranks images for a person to look at, it does not prove a label
wrong; a model reviewing the images it was trained on has partly learnt their mistakes and scores them
too low (see `trained_on_split`), and a weak model flags its own errors as well as the labels'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError
from segviewer.core.pipeline import resize_image, resize_mask

UNSEEN_CLASS_THRESHOLD = 0.5
CACHE_BYTES = 1 << 30  # probabilities kept between the two passes; images beyond it are predicted twice


class ReviewCancelled(Exception):
    """`should_stop()` turned true; nothing was scored."""


@dataclass
class ImageReview:
    """One image's score and its (given -> predicted) pairs, most pixels first."""

    sample: str
    score: float
    suspect_pixels: int
    labelled_pixels: int
    pairs: list[tuple[str, str, int]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "sample": self.sample,
            "score": round(float(self.score), 6),
            "suspect_pixels": int(self.suspect_pixels),
            "labelled_pixels": int(self.labelled_pixels),
            "pairs": [{"given": g, "predicted": p, "pixels": int(n)} for g, p, n in self.pairs],
        }


@dataclass
class ReviewResult:
    """All scored images of a split, most suspicious first."""

    split: str
    input_size: tuple[int, int]
    images: list[ImageReview]
    thresholds: dict[str, float]  # class name -> typical confidence t_k
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def threshold_array(self, names: list[str]) -> np.ndarray:
        return np.array([self.thresholds[n] for n in names], np.float32)

    def to_json(self) -> dict:
        return {
            "split": self.split,
            "input_size": list(self.input_size),
            "images": [im.to_json() for im in self.images],
            "thresholds": {k: round(v, 6) for k, v in self.thresholds.items()},
            "skipped": list(self.skipped),
            "warnings": list(self.warnings),
        }


def review_split(
    predictor,
    dataset: Dataset,
    split: str,
    batch_size: int = 8,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ReviewResult:
    """Score every labelled image of `split` with `predictor` (a core.predict.Predictor).

    `progress(done, total)` counts both passes (total = 2 x images); `should_stop()` is asked before
    every batch and raises ReviewCancelled.
    """
    for item in iter_review(predictor, dataset, split, batch_size):
        if isinstance(item, ReviewResult):
            return item
        if progress is not None:
            progress(*item)
        if should_stop is not None and should_stop():
            raise ReviewCancelled("review stopped")
    raise AssertionError("iter_review ends with its result")


def iter_review(
    predictor, dataset: Dataset, split: str, batch_size: int = 8
) -> Iterator[tuple[int, int] | ReviewResult]:
    """The review as a generator: `(done, total)` after every batch, then the `ReviewResult`.

    Two passes: the first learns each class's typical confidence, the second finds suspect pixels.
    Every yield is a cancel point (stop iterating to cancel).
    """
    samples = dataset.labelled(split)
    if not samples:
        raise UserError(f"{dataset.root}: the '{split}' split has no labelled images to review")
    names = list(predictor.scheme.names)
    num_classes = len(names)
    total = 2 * len(samples)
    sums = np.zeros(num_classes, np.float64)
    counts = np.zeros(num_classes, np.int64)
    skipped: list[str] = []
    kept: dict[int, np.ndarray] = {}  # sample index -> float16 probabilities (C, h, w)
    masks: dict[int, np.ndarray] = {}  # sample index -> resized training-id mask
    cached = 0
    done = 0
    yield done, total
    for start in range(0, len(samples), batch_size):
        batch = list(range(start, min(start + batch_size, len(samples))))
        loaded = _load(dataset, samples, batch, predictor.input_size, skipped)
        if loaded:
            probs = probabilities(predictor, [image for _, image, _ in loaded])
            for (i, _, gt), p in zip(loaded, probs, strict=True):
                masks[i] = gt
                g, p_given, _valid = _given(p, gt, num_classes)
                sums += np.bincount(g, weights=p_given, minlength=num_classes)
                counts += np.bincount(g, minlength=num_classes)
                if cached + p.nbytes // 2 <= CACHE_BYTES:
                    kept[i] = p.astype(np.float16)
                    cached += p.nbytes // 2
        done += len(batch)
        yield done, total

    thresholds = np.full(num_classes, UNSEEN_CLASS_THRESHOLD, np.float32)
    seen = counts > 0
    thresholds[seen] = (sums[seen] / counts[seen]).astype(np.float32)

    images: list[ImageReview] = []
    order = sorted(masks)
    done = total - len(order)  # skipped samples have no second pass
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        missing = [i for i in batch if i not in kept]
        if missing:
            again = probabilities(predictor, [dataset.load_image(samples[i]) for i in missing])
            kept.update(zip(missing, again, strict=True))
        for i in batch:
            probs = kept.pop(i).astype(np.float32)
            images.append(_score(samples[i].name, probs, masks.pop(i), thresholds, names))
        done += len(batch)
        yield done, total
    images.sort(key=lambda r: (-r.score, -r.suspect_pixels, r.sample))
    biased = trained_on_split(predictor.meta, dataset, split)
    yield ReviewResult(
        split=split,
        input_size=tuple(predictor.input_size),
        images=images,
        thresholds={n: float(t) for n, t in zip(names, thresholds, strict=True)},
        skipped=skipped,
        warnings=[biased] if biased else [],
    )


def suspect_pixels(
    probs: np.ndarray, mask: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(suspect bool (h, w), predicted class (h, w), margin float (h, w)) for probabilities (C, h, w)."""
    num_classes = probs.shape[0]
    g, p_given, valid = _given(probs, mask, num_classes)
    given_full = np.where(valid, mask, 0).astype(np.intp)
    above = probs >= thresholds[:, None, None]
    np.put_along_axis(above, given_full[None], False, axis=0)
    candidates = np.where(above, probs, -1.0)
    predicted = candidates.argmax(axis=0)
    best = np.take_along_axis(candidates, predicted[None], axis=0)[0]
    p_given_full = np.take_along_axis(probs, given_full[None], axis=0)[0]
    suspect = valid & (best >= 0) & (p_given_full < thresholds[given_full])
    margin = np.where(suspect, np.maximum(best - p_given_full, 0.0), 0.0)
    return suspect, predicted.astype(np.uint8), margin


def suspect_overlay(predictor, image: np.ndarray, mask: np.ndarray, result: ReviewResult) -> np.ndarray:
    """(H, W) bool at the image's size: the suspect pixels of one image, for the viewer to draw."""
    probs = probabilities(predictor, [image])[0]
    small = resize_mask(mask, predictor.input_size)
    suspect, _, _ = suspect_pixels(probs, small, result.threshold_array(list(predictor.scheme.names)))
    return resize_mask(suspect.astype(np.uint8), mask.shape[:2]).astype(bool)


def probabilities(predictor, images: list[np.ndarray]) -> np.ndarray:
    """Softmax (N, C, h, w) float32 at the predictor's input size, normalised as in training."""
    resized = np.stack([resize_image(im, predictor.input_size) for im in images])
    with torch.inference_mode():
        return torch.softmax(predictor.logits(resized).float(), dim=1).cpu().numpy()


def trained_on_split(meta: dict, dataset: Dataset, split: str) -> str | None:
    """A warning when the checkpoint was trained on this very split of this data set, else None."""
    config = meta.get("config") or {}
    root, train_split = config.get("root"), config.get("train_split", "train")
    if not root or train_split != split:
        return None
    try:
        same = Path(root).expanduser().resolve() == Path(dataset.root).resolve()
    except OSError:
        return None
    if not same:
        return None
    return (
        f"the model was trained on the '{split}' split it is reviewing, so it has partly learnt its label "
        "mistakes and scores them too low; review a split it was not trained on (--split val), or train a "
        "model on another split to review this one"
    )


def _given(
    probs: np.ndarray, mask: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(given classes of labelled pixels, p of their given class, labelled-pixel map)."""
    valid = mask < num_classes
    g = mask[valid].astype(np.intp)
    flat = probs.reshape(num_classes, -1)[:, valid.reshape(-1)]
    p_given = flat[g, np.arange(g.size)]
    return g, p_given.astype(np.float64), valid


def _score(
    name: str, probs: np.ndarray, mask: np.ndarray, thresholds: np.ndarray, names: list[str]
) -> ImageReview:
    num_classes = len(names)
    suspect, predicted, margin = suspect_pixels(probs, mask, thresholds)
    labelled = int((mask < num_classes).sum())
    pair_counts = np.bincount(
        mask[suspect].astype(np.intp) * num_classes + predicted[suspect], minlength=num_classes * num_classes
    )
    pairs = [
        (names[k // num_classes], names[k % num_classes], int(pair_counts[k]))
        for k in np.flatnonzero(pair_counts)
    ]
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    score = float(margin.sum() / labelled) if labelled else 0.0
    return ImageReview(name, score, int(suspect.sum()), labelled, pairs)


def _load(
    dataset: Dataset, samples: list[Sample], batch: list[int], size: tuple[int, int], skipped: list[str]
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(index, image, resized mask) of the samples that can be read; the others go to `skipped`."""
    out = []
    for i in batch:
        sample = samples[i]
        try:
            image, mask = dataset.load_image(sample), dataset.load_mask(sample)
        except UserError as exc:
            skipped.append(f"skipped sample '{sample.name}': {exc}")
            continue
        if mask.shape[:2] != image.shape[:2]:
            skipped.append(
                f"skipped sample '{sample.name}': {sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but "
                f"its image is {image.shape[1]}x{image.shape[0]}"
            )
            continue
        out.append((i, image, resize_mask(mask, size)))
    return out
