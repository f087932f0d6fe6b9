"""Background work for the whole GUI: asyncio tasks on Qt's event loop (qasync) that await threads.

This is the one module that creates threads or processes for the GUI. Everything else writes
`async def` code that reads top to bottom:

- `spawn(coro)`: start a task on the UI thread; a failure is logged and shown, never lost.
- `await call(fn, *args)`: a plain call on a pool thread (open a data set, load a checkpoint).
- `Latest`: one job at a time on its own thread; a new request cancels the previous one, so holding
  an arrow key never builds a queue of decodes or predictions ("latest request wins").
- `async for batch in stream(make)`: a Qt-free generator on a thread; its items arrive in batches at
  about 10 Hz, and cancelling the task asks the generator to stop.
- `await call_with_progress(fn, on_progress)`: a function with a progress callback (evaluation, the
  demo set), its progress shown at about 10 Hz; cancelling the task asks it to stop.
- `ChildProcess`: a child process whose stdout lines are read on the event loop (training).

Only Python objects that are never touched again by the worker cross threads (results, batches).
Workers never touch widgets: results come back to the UI thread through the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QProcess, QProcessEnvironment

from segviewer.core import paths

log = logging.getLogger(__name__)
T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_pools: dict[str, ThreadPoolExecutor] = {}
_tasks: set[asyncio.Task] = set()
_failure_handlers: list[Callable[[BaseException], None]] = []


def lower_thread_priority(nice: int = 10) -> None:
    """Let the calling worker thread yield the CPU to the UI thread (Linux: per-thread niceness).

    On a busy 2-core machine this keeps the event loop on time while a model predicts or thumbnails
    decode. Elsewhere (or when not permitted) it does nothing.
    """
    if not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), nice))
    except OSError:
        pass


def event_loop() -> asyncio.AbstractEventLoop:
    """The asyncio loop that runs on Qt's event loop (made once, when the QApplication exists)."""
    global _loop
    if _loop is None:
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication before starting background work")
        _loop = qasync.QEventLoop(app, already_running=True)
        _loop.set_exception_handler(_on_loop_exception)
        asyncio.set_event_loop(_loop)
    return _loop


def on_failure(handler: Callable[[BaseException], None]) -> None:
    """`handler(exc)` runs on the UI thread for every task that ends with an unexpected exception."""
    _failure_handlers.append(handler)


def _report(exc: BaseException) -> None:
    from segviewer.core.errors import UserError

    if not isinstance(exc, UserError):
        log.error("background task failed", exc_info=exc)
    for handler in list(_failure_handlers):
        handler(exc)


def _on_loop_exception(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    if exc is None:
        log.error("event loop: %s", context.get("message"))
    else:
        _report(exc)


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
    """Run `coro` on the UI thread's event loop; an exception escaping it is logged and reported."""
    task = event_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_task_done)
    return task


def _task_done(task: asyncio.Task) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _report(task.exception())


def _pool(low_priority: bool, long: bool = False) -> ThreadPoolExecutor:
    """Short calls share a pool per priority; long jobs (streams, progress) get a pool of their own,
    so that drawing the demo set or scanning masks never holds up thumbnails and predictions."""
    name = "long" if long else "bg" if low_priority else "ui"
    if name not in _pools:
        cores = paths.usable_cores()
        workers = {"ui": max(2, min(4, cores)), "bg": max(1, min(4, cores - 1)), "long": 4}[name]
        _pools[name] = _executor(workers, low_priority or long, name)
    return _pools[name]


def _executor(workers: int, low_priority: bool, name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        workers,
        thread_name_prefix=f"segviewer-{name}",
        initializer=lower_thread_priority if low_priority else None,
    )


def call(fn: Callable[..., T], *args: Any, low_priority: bool = False) -> Awaitable[T]:
    """Await `fn(*args)` run on a pool thread. `low_priority` for work nobody waits for (prefetch)."""
    event_loop()
    return asyncio.wrap_future(_pool(low_priority).submit(fn, *args))


class Latest:
    """One job at a time on its own thread; `start(coro)` cancels the task started before it.

    A cancelled task's queued thread work is dropped; work already running finishes and its result
    is ignored. So only the newest request is ever shown.
    """

    def __init__(self, low_priority: bool = False) -> None:
        self.low_priority = low_priority
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task | None = None

    def start(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        self.cancel()
        self._task = spawn(coro)
        return self._task

    def run(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Await `fn(*args)` on this job's thread (call from the coroutine given to `start`)."""
        if self._executor is None:
            self._executor = _executor(1, self.low_priority, "latest")
        return asyncio.wrap_future(self._executor.submit(fn, *args))

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    def shutdown(self) -> None:
        """Cancel, and wait for the running thread work (the owner goes away)."""
        self.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


_END = object()


async def stream(
    make: Callable[[Callable[[], bool]], Iterator[T]], interval: float = 0.1, low_priority: bool = True
) -> AsyncIterator[list[T]]:
    """Iterate `make(should_stop)` on a thread; yields lists of its items, at most ~1/`interval` per second.

    Cancelling the task, or leaving early inside `async with contextlib.aclosing(stream(...))`, makes
    `should_stop()` true: the generator ends at its next step. An exception in the generator is raised here after the items before it.
    """
    loop = event_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(batch: list[T], end: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (batch, end))
        except RuntimeError:  # the loop is gone (the application quit)
            stop.set()

    def produce() -> None:
        batch: list[T] = []
        last = time.monotonic()
        try:
            for item in make(stop.is_set):
                batch.append(item)
                if time.monotonic() - last >= interval:
                    put(batch, None)
                    batch, last = [], time.monotonic()
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - raised again on the UI thread
            put(batch, exc)
            return
        put(batch, _END)

    _pool(low_priority, long=True).submit(produce)
    try:
        while True:
            batch, end = await queue.get()
            if batch:
                yield batch
            if end is _END:
                return
            if end is not None:
                raise end
    finally:
        stop.set()


async def call_with_progress(
    fn: Callable[[Callable[..., None], Callable[[], bool]], T],
    on_progress: Callable[..., None],
    interval: float = 0.1,
) -> T:
    """Await `fn(progress, should_stop)` on a low-priority thread (evaluation).

    `progress(*args)` calls reach `on_progress(*args)` on the UI thread at most ~1/`interval` per
    second: the newest after each interval, and the last one. Cancelling the awaiting task makes `should_stop()` true.
    """
    loop = event_loop()
    stop = threading.Event()
    lock = threading.Lock()
    state: dict[str, Any] = {"latest": None, "scheduled": False}

    def deliver() -> None:
        with lock:
            args, state["latest"], state["scheduled"] = state["latest"], None, False
        if args is not None and not stop.is_set():
            on_progress(*args)

    def progress(*args: Any) -> None:
        with lock:
            state["latest"] = args
            if state["scheduled"]:
                return
            state["scheduled"] = True
        loop.call_soon_threadsafe(loop.call_later, interval, deliver)

    try:
        result = await asyncio.wrap_future(_pool(True, long=True).submit(fn, progress, stop.is_set))
    finally:
        stop.set()
    if state["latest"] is not None:
        on_progress(*state["latest"])
    return result


class ChildProcess:
    """A child process (training) whose stdout lines and exit are read on the UI thread's event loop.

    `lines()` yields each stdout line as it comes and ends when the process has exited; `send(line)`
    writes a control line to its stdin; stderr is kept (the last 20 lines) for error messages.
    """

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        event_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._stdout = b""
        self.stderr_tail: list[str] = []
        self.exit_code: int | None = None
        self._process = QProcess()
        if env:
            environment = QProcessEnvironment.systemEnvironment()
            for key, value in env.items():
                environment.insert(key, value)
            self._process.setProcessEnvironment(environment)
        self._process.readyReadStandardOutput.connect(self._on_stdout)
        self._process.readyReadStandardError.connect(self._on_stderr)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)
        self._process.start(argv[0], argv[1:])

    def send(self, line: str) -> None:
        if self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.write((line + "\n").encode())

    def kill(self) -> None:
        if self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.kill()

    def running(self) -> bool:
        return self.exit_code is None

    def wait(self, timeout_s: float) -> bool:
        """Block until the process has exited (closing the window); True when it did."""
        if self.exit_code is not None:
            return True
        done = self._process.waitForFinished(int(timeout_s * 1000))
        if done:
            self._on_stdout()
            self._on_finished(self._process.exitCode())
        return done

    async def lines(self) -> AsyncIterator[str]:
        while True:
            line = await self._queue.get()
            if line is _END:
                return
            yield line

    def _on_stdout(self) -> None:
        self._stdout += bytes(self._process.readAllStandardOutput().data())
        *complete, self._stdout = self._stdout.split(b"\n")
        for raw in complete:
            self._queue.put_nowait(raw.decode("utf-8", "replace"))

    def _on_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        self.stderr_tail = (self.stderr_tail + text.splitlines())[-20:]

    def _on_finished(self, code: int, *_status: Any) -> None:
        if self.exit_code is not None:
            return
        self._on_stdout()
        self._on_stderr()
        if self._stdout.strip():
            self._queue.put_nowait(self._stdout.decode("utf-8", "replace"))
            self._stdout = b""
        self.exit_code = int(code)
        self._queue.put_nowait(_END)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.stderr_tail.append(f"could not start {self._process.program()}")
            self._on_finished(-1)


def shutdown() -> None:
    """Cancel every task and wait for the pool threads (the window is closing): none outlives it."""
    for task in list(_tasks):
        task.cancel()
    for pool in list(_pools.values()):
        pool.shutdown(wait=True, cancel_futures=True)
    _pools.clear()
