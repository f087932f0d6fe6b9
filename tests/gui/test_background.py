"""The GUI's one background-work model: tasks on the Qt loop awaiting threads and a child process."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from segviewer.gui import background

WAIT_MS = 20_000


def test_call_runs_off_the_ui_thread_and_hands_back_the_result(qtbot):
    got = []

    async def work() -> None:
        got.append(await background.call(lambda: threading.get_ident()))

    background.spawn(work())
    qtbot.waitUntil(lambda: bool(got), timeout=WAIT_MS)
    assert got[0] != threading.get_ident()


def test_latest_drops_older_requests(qtbot):
    latest = background.Latest()
    gate = threading.Event()
    shown = []

    async def show(value: int) -> None:
        shown.append(await latest.run(lambda: (gate.wait(5), value)[1]))

    for value in range(5):
        latest.start(show(value))
    gate.set()
    qtbot.waitUntil(lambda: shown == [4], timeout=WAIT_MS)
    qtbot.wait(100)
    assert shown == [4]
    latest.shutdown()


def test_stream_batches_items_and_stops_the_generator_when_left(qtbot):
    stopped = threading.Event()
    batches = []

    def numbers(should_stop):
        try:
            for i in range(10_000):
                if should_stop():
                    return
                time.sleep(0.001)
                yield i
        finally:
            stopped.set()

    async def consume() -> None:
        async with contextlib.aclosing(background.stream(numbers, interval=0.05)) as stream:
            async for batch in stream:
                batches.append(batch)
                if len(batches) == 3:
                    break

    background.spawn(consume())
    qtbot.waitUntil(stopped.is_set, timeout=WAIT_MS)
    assert len(batches) == 3 and all(len(b) > 1 for b in batches)
    flat = [i for b in batches for i in b]
    assert flat == list(range(len(flat)))


def test_progress_is_rate_limited_and_ends_with_the_last(qtbot):
    seen = []
    result = []

    def count(progress, should_stop):
        for i in range(1, 201):
            progress(i, 200)
            time.sleep(0.001)
        return "done"

    async def run() -> None:
        result.append(await background.call_with_progress(count, lambda d, t: seen.append(d), interval=0.05))

    background.spawn(run())
    qtbot.waitUntil(lambda: bool(result), timeout=WAIT_MS)
    assert result == ["done"] and seen[-1] == 200 and len(seen) < 50 and seen == sorted(seen)


def test_failures_of_tasks_are_reported(qtbot):
    reports = []
    background.on_failure(reports.append)

    async def broken() -> None:
        await background.call(lambda: 1 / 0)

    background.spawn(broken())
    qtbot.waitUntil(lambda: any(isinstance(e, ZeroDivisionError) for e in reports), timeout=WAIT_MS)


def test_child_process_lines_stdin_and_exit_code(qtbot):
    script = "import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n    print('got ' + line.strip(), flush=True)\n    break\nsys.exit(3)"
    child = background.ChildProcess([sys.executable, "-c", script])
    lines = []

    async def read() -> None:
        async for line in child.lines():
            lines.append(line)
            if line == "ready":
                child.send("stop")

    background.spawn(read())
    qtbot.waitUntil(lambda: not child.running(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: lines == ["ready", "got stop"], timeout=WAIT_MS)
    assert child.exit_code == 3


def test_a_long_job_never_holds_up_short_background_calls(qtbot):
    """Drawing the demo set (a long job) must not keep thumbnails (short low-priority calls) waiting."""
    gate = threading.Event()
    done = []

    async def long_job() -> None:
        await background.call_with_progress(lambda progress, stop: gate.wait(20), lambda *a: None)

    async def short() -> None:
        done.append(await background.call(lambda: "thumbnail", low_priority=True))

    task = background.spawn(long_job())
    background.spawn(short())
    qtbot.waitUntil(lambda: done == ["thumbnail"], timeout=WAIT_MS)
    assert not task.done()
    gate.set()
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
