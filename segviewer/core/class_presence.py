"""Which classes each sample's mask contains: the data behind the dataset pane's class filter.

Qt-free: a generator the GUI iterates on a worker thread; every yield is a progress report and a cancel
point. (Small enough to live here; it can move to segviewer.core if the CLI ever needs it.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError


@dataclass(frozen=True)
class Presence:
    index: int  # position of the sample in the list given to `class_presence`
    present: np.ndarray | None  # (256,) bool, or None when the mask is missing or unreadable
    error: str | None = None


def class_presence(
    dataset: Dataset, samples: Sequence[Sample], should_stop: Callable[[], bool] = lambda: False
) -> Iterator[Presence]:
    """Yield one `Presence` per sample, in order; stops early when `should_stop()` turns True."""
    for index, sample in enumerate(samples):
        if should_stop():
            return
        if sample.mask is None:
            yield Presence(index, None, "no mask")
            continue
        try:
            mask = dataset.load_mask(sample)
        except UserError as exc:
            yield Presence(index, None, str(exc))
            continue
        yield Presence(index, np.bincount(mask.ravel(), minlength=256)[:256] > 0)
