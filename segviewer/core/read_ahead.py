"""Ordered, bounded read-ahead on a thread pool: decode the next files while the caller works on this one.

OpenCV's decoders and file reads release the GIL, so threads decode in parallel without the start-up,
pickling and memory cost of processes. At most `window` results wait at any time, so a folder of 10,000
images never sits in memory at once. Results come back in input order, each with the exception its
loader raised (the caller decides whether that skips the item or stops the run).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from segviewer.core.paths import usable_cores

T = TypeVar("T")
R = TypeVar("R")


def read_ahead(
    items: Iterable[T],
    load: Callable[[T], R],
    workers: int | None = None,
    window: int | None = None,
) -> Iterator[tuple[T, R | None, BaseException | None]]:
    """Yield (item, result, None) or (item, None, exception) for each item, in order.

    `workers` defaults to the usable cores, `window` (results in flight) to twice the workers. Closing
    the generator early (break, an exception in the caller) cancels what has not started.
    """
    workers = max(1, workers or usable_cores())
    window = max(1, window or 2 * workers)
    pending: deque[tuple[T, Future]] = deque()
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="segviewer-read") as pool:
        try:
            for item in source:
                pending.append((item, pool.submit(load, item)))
                if len(pending) >= window:
                    yield _result(*pending.popleft())
            while pending:
                yield _result(*pending.popleft())
        finally:
            for _, future in pending:
                future.cancel()


def _result(item, future: Future):
    try:
        return item, future.result(), None
    except Exception as exc:  # handed to the caller, which names the file
        return item, None, exc
