"""Read-ahead: runs are read and checked in forked worker processes while pytest runs items.

In a serial session most of an audit's time is reading files (journals, logs, trajectories)
and the rest is pytest's own work per item (hooks, reports, JUnit). The two can overlap:
``ReadAhead`` forks worker processes that evaluate the run items in the order pytest will run
them, a bounded window of chunks ahead, and send back each run's findings, properties and
digest. ``RunItem.evaluate`` takes the result when it is there and reads the run itself when
it is not, so the outcome is the same either way:

- a worker that dies (killed, out of memory) or a result that cannot be sent back only costs
  time: those runs are read in the main process, none is lost;
- an exception while evaluating a run in a worker is not sent back: the main process
  evaluates that run itself and gets the exception where pytest reports it.

It is off under pytest-xdist (workers already use the cores), with one core, where ``fork``
is not the way processes start (only Linux and the BSDs are relied on), when the process
already runs other threads, counted by the system (forking them is unsafe), and with
``--e2e-readahead=0``.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import pytest

from .items import AHEAD_KEY, SETTINGS_KEY, RunItem, RunResult, evaluate_run

CHUNK = 16
"""Runs per task sent to a worker: large enough that a task's overhead does not show, small
enough that the first results come back at once."""
WINDOW = 64
"""Chunks in flight or waiting to be taken: bounds the memory results occupy (a run's result
is a few KB) whatever the size of the tree."""

_COMPUTE: Callable[[int], Any] | None = None
"""Set before the workers are forked; they inherit it (nothing is pickled on the way in)."""


class _Failed:
    """Marks a run whose evaluation raised in a worker: the main process evaluates it."""


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group: the main process handles it, workers must
    # not print tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(start: int, stop: int) -> list[Any]:
    compute = _COMPUTE
    assert compute is not None
    out: list[Any] = []
    for index in range(start, stop):
        try:
            out.append(compute(index))
        except BaseException:  # the main process evaluates it again, and
            # whatever it raises there (KeyboardInterrupt from a rule included) is what pytest
            # reports; nothing a worker raises may reach the main process as its own.
            out.append(_Failed())
    return out


def workers_wanted(config: pytest.Config, value: str | None, source: str) -> int:
    """Worker processes for this session: ``value`` is ``auto`` (the default), or a whole
    number (0 is off); anything else is a usage error naming ``source``."""
    text = (value or "auto").strip().lower()
    if text == "auto":
        # The main process runs pytest's own work per item, about as long as a worker takes
        # to read a run: two workers keep it fed; a third is margin on a larger machine.
        cores = os.cpu_count() or 1
        wanted = min(cores, 3) if cores > 1 else 0
    elif text.isdigit() and len(text) <= 3:
        wanted = int(text)
    else:
        raise pytest.UsageError(
            f"{source}: {value!r} is not a number of processes (a whole number, 0 for off, or auto)"
        )
    if wanted == 0 or not _can_fork() or _under_xdist(config):
        return 0
    return wanted


def _threads() -> int:
    """Threads of this process, those started outside ``threading`` included (execnet's,
    an embedding program's): forking a process with other threads can deadlock the child."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _can_fork() -> bool:
    return (
        sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))
        and "fork" in multiprocessing.get_all_start_methods()
    )


def _under_xdist(config: pytest.Config) -> bool:
    if hasattr(config, "workerinput"):
        return True
    numprocesses = getattr(config.option, "numprocesses", None)
    dist = getattr(config.option, "dist", "no")
    return bool(numprocesses) or dist not in (None, "no")


class ReadAhead:
    """Results of ``compute(index)`` for ``index`` in ``range(count)``, computed by forked
    workers ahead of ``take``; ``take`` returns ``None`` for anything it does not have."""

    def __init__(self, compute: Callable[[int], Any], count: int, workers: int) -> None:
        self.compute = compute
        self.count = count
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.futures: dict[int, Future[list[Any]]] = {}
        self.next_chunk = 0
        self.taken: dict[int, list[Any]] = {}
        self.broken = False
        self.stats = {"from_workers": 0, "in_main": 0}

    def start(self) -> bool:
        """Fork the workers and send the first window of chunks; False when it cannot."""
        global _COMPUTE
        if self.count == 0 or self.workers == 0 or _threads() > 1:
            return False
        # Buffered output would be written again by each worker when it exits.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        _COMPUTE = self.compute
        try:
            self.executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_init,
            )
            self._fill(0)
        except (OSError, RuntimeError):
            self.close()
            return False
        return True

    def _fill(self, current: int) -> None:
        """Keep chunks ``current`` .. ``current + WINDOW`` submitted."""
        if self.executor is None or self.broken:
            return
        last = min(current + WINDOW, (self.count + CHUNK - 1) // CHUNK)
        while self.next_chunk < last:
            start = self.next_chunk * CHUNK
            stop = min(start + CHUNK, self.count)
            try:
                self.futures[self.next_chunk] = self.executor.submit(_run_chunk, start, stop)
            except RuntimeError:  # the pool broke or was shut down
                self.broken = True
                return
            self.next_chunk += 1

    def take(self, index: int) -> Any | None:
        """The result for ``index``, waiting for its worker if it is under way; ``None`` when
        the main process must compute it (worker gone, evaluation raised, out of window)."""
        if not 0 <= index < self.count:
            return None
        chunk = index // CHUNK
        results = self.taken.get(chunk)
        if results is None:
            future = self.futures.pop(chunk, None)
            if future is None:
                self.stats["in_main"] += 1
                return None
            try:
                results = future.result()
            except Exception:  # BrokenProcessPool, a result that would not unpickle, ...
                self.broken = True
                self.stats["in_main"] += 1
                return None
            # Earlier chunks will not be asked for again (items run in order).
            self.taken = {chunk: results}
            self._fill(chunk + 1)
        value = results[index - chunk * CHUNK]
        results[index - chunk * CHUNK] = None  # taken once; free it
        if value is None or isinstance(value, _Failed):
            self.stats["in_main"] += 1
            return None
        self.stats["from_workers"] += 1
        return value

    def close(self) -> None:
        """Stop the workers without waiting for work nobody will take."""
        global _COMPUTE
        executor, self.executor = self.executor, None
        self.futures.clear()
        self.taken.clear()
        _COMPUTE = None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)


class ReadAheadPlugin:
    """Starts the read-ahead when the run items are about to run, and stops it after."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.ahead: ReadAhead | None = None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        config = session.config
        if not config.option.collectonly and SETTINGS_KEY in config.stash:
            self._start(session)
        try:
            return (yield)
        finally:
            self.stop(config)

    def _start(self, session: pytest.Session) -> None:
        settings = session.config.stash[SETTINGS_KEY]
        # In the order pytest will run them (after deselection, reordering plugins, -k).
        runs = [item for item in session.items if isinstance(item, RunItem)]
        order = {item.nodeid: index for index, item in enumerate(runs)}

        def compute(index: int) -> RunResult:
            item = runs[index]
            return evaluate_run(item.ref, item.layout, item.tree_runs, settings)

        ahead = ReadAhead(compute, len(runs), self.workers)
        if not ahead.start():
            return
        self.ahead = ahead

        def take(item: RunItem) -> RunResult | None:
            index = order.get(item.nodeid)
            return ahead.take(index) if index is not None else None

        session.config.stash[AHEAD_KEY] = take

    def stop(self, config: pytest.Config) -> None:
        if self.ahead is not None:
            self.ahead.close()
        if AHEAD_KEY in config.stash:
            del config.stash[AHEAD_KEY]


GC_THRESHOLDS = (50_000, 20, 20)
"""Cyclic garbage collector thresholds while audit items run (CPython's are 700, 10, 10)."""


class CollectorTuning:
    """In an audit-only session, the cyclic garbage collector runs less often while items run.

    pytest keeps every report until the session ends, so almost everything allocated per item
    lives on, and the default thresholds make the collector walk that growing heap over and
    over: about a sixth of the wall time of a 2,000-run audit. Objects made before the run
    loop (the collected items) are frozen out of its walks. Both are undone when the loop
    ends; a session that also runs the user's own tests is left alone."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        before = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            return (yield)
        finally:
            gc.set_threshold(*before)
            gc.unfreeze()
