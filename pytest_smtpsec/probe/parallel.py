"""Threads for probes that never hold up the interpreter's exit (so Ctrl-C does not wait for deadlines)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import copy_context
from typing import Any, TypeVar

T = TypeVar("T")

WAKE = 0.2
"""Seconds between looks at a signal while waiting for a thread (see :func:`wait`)."""
GROW = 0.25
"""Seconds a call may run before a pool that starts small (``eager``) adds threads for the work still queued."""


class DaemonPool:
    """A thread pool whose threads never hold up the interpreter's exit.

    ``ThreadPoolExecutor`` joins its threads at exit, so after Ctrl-C a run would wait for every probe in
    flight to reach its deadline; these threads are daemons, dropped at exit. Each call runs in a copy
    of the submitter's context (so a host's deadline reaches its sessions).

    With ``eager`` it starts that many threads and adds more (up to ``workers``) only while calls wait on the
    network, i.e. run longer than :data:`GROW` with work still queued: calls that are quick (hosts that refuse at
    once) are then not spread over threads that would only hand the interpreter's lock to each other at every
    system call (hundreds of thousands of thread switches for 10,000 hosts).
    """

    def __init__(self, workers: int, name: str, *, eager: int | None = None) -> None:
        self._workers = workers
        self._eager = workers if eager is None else min(eager, workers)
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}
        """Thread id -> when its running call started."""
        self._watching = False

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((future, _in_context(call)))
        with self._lock:
            if len(self._threads) < self._eager:
                self._add_thread()
            elif len(self._threads) < self._workers and not self._watching:
                self._watching = True
                threading.Thread(target=self._grow, name=f"{self._name}-grow", daemon=True).start()
        return future

    def _add_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _grow(self) -> None:
        """While work is queued: a thread more for each call that has run longer than :data:`GROW`."""
        while True:
            time.sleep(GROW)
            with self._lock:
                if self._queue.empty() or len(self._threads) >= self._workers:
                    self._watching = False
                    return
                since = time.monotonic() - GROW
                for _ in range(min(sum(1 for t in list(self._started.values()) if t < since), self._workers - len(self._threads))):
                    self._add_thread()

    def _work(self) -> None:
        me = threading.get_ident()
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            self._started[me] = time.monotonic()
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to whoever waits for the result
                future.set_exception(exc)
            finally:
                del self._started[me]

    def shutdown(self) -> None:
        """Drop what has not started; running calls end by their own deadlines, in the background."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)


def _in_context(call: Callable[[], T]) -> Callable[[], T]:
    context = copy_context()
    return lambda: context.run(call)


def wait(future: Future[T]) -> T:
    """``future.result()``, in short waits: a Ctrl-C that the kernel hands to another thread still reaches the
    main thread at once (a wait without timeout is not woken by it, and would last to the probe's deadline)."""
    while True:
        try:
            return future.result(timeout=WAKE)
        except FutureTimeout:
            continue


def run_all(calls: list[Callable[[], object]], name: str) -> None:
    """Run every call at once in daemon threads and wait for all; the first exception is raised."""
    map_all(calls, name)


def map_all(calls: list[Callable[[], T]], name: str) -> list[T]:
    """Like :func:`run_all`, and the calls' results, in order."""
    pool = DaemonPool(len(calls), name)
    futures = [pool.submit(call) for call in calls]
    try:
        return [wait(future) for future in futures]
    finally:
        pool.shutdown()
