"""Where a scan's work runs: forked processes when that is safe, else threads or inline.

guessit, mutagen and the walk's per-file loop are pure Python, so threads share one core;
processes use them all. But ``fork`` copies only the calling thread, which is safe only when
it is the sole thread (the command line). A server, with its request threads, does not fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any


def cores() -> int:
    return os.cpu_count() or 1


def default_workers() -> int:
    return min(16, cores() * 2)


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def process_pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor | None:
    """A pool of at most ``workers`` forked processes (one per core), or None where forking is
    unsafe or would not help. ``initargs`` are inherited by the fork, never pickled."""
    workers = min(workers, cores())
    if workers <= 1 or not can_fork():
        return None
    import multiprocessing  # only a process that forks pays for the import

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=initializer,
        initargs=initargs,
    )


def executor(workers: int) -> Executor:
    """Processes where forking is safe, threads elsewhere (for work that waits on I/O too)."""
    return process_pool(workers) or ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="mediacore-worker"
    )
