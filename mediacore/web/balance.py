"""Spreading connections evenly over the server's worker processes.

Every worker polls the one listening socket and the kernel wakes them all for a new connection;
whichever gets there first takes it, most often a worker that is already running. Kept alive,
a connection stays with that worker for all its requests, and a worker's threads share one
interpreter lock: two clients on one worker were answered at a third of the rate of two clients
on two workers (a page of the listing, 2 cores: ~450 against ~1,450 requests a second), and
wrk's 8 connections landed 1-2-2-3, 2-3-3-0 and 8-0-0-0 on 4 workers (bench/RESULTS.md).

So each worker publishes how many connections it holds, in memory the workers share, and a
worker that holds more than another leaves a new connection to that one for a moment ("least
connections", as nginx's and HAProxy's balancers choose). Nothing depends on the counts being
current: a stale count only makes a worker stop accepting for :data:`WAIT_SECONDS`, after
which it takes what still waits.
"""

from __future__ import annotations

import mmap

#: How long a worker holding more connections than another stops accepting, so that the other
#: takes the connection waiting; whatever still waits after that, it takes itself. An idle
#: worker takes it at once; on a machine whose cores are all busy the other may need a few
#: scheduler slices to run (nginx's accept_mutex_delay, the same idea, is 500 ms).
WAIT_SECONDS = 0.05
#: How often a worker that stopped accepting looks at the counts again: it resumes as soon as
#: no other worker holds fewer connections than it does.
RECHECK_SECONDS = 0.001
_NOT_ACCEPTING = -1


class ConnectionCounts:
    """How many connections each worker holds, one slot per worker, in memory the workers share.

    Made in the server's master process before it forks the workers; :meth:`claim` and
    :meth:`release` run there too, as it starts a worker and after the worker has exited.
    """

    def __init__(self, slots: int) -> None:
        self._memory = mmap.mmap(-1, 4 * slots)  # anonymous and shared: the forked workers write to it
        self._counts = memoryview(self._memory).cast("i")
        for index in range(slots):
            self._counts[index] = _NOT_ACCEPTING
        self._claimed: set[int] = set()

    def claim(self) -> Slot | None:
        """A slot for a worker about to start; None when all are taken (that worker then takes
        connections as they come, and the others do not wait for it)."""
        index = next((index for index in range(len(self._counts)) if index not in self._claimed), None)
        if index is None:
            return None
        self._claimed.add(index)
        return Slot(self._counts, index)

    def release(self, slot: Slot | None) -> None:
        if slot is not None:
            slot.withdraw()
            self._claimed.discard(slot.index)


class Slot:
    """One worker's place in :class:`ConnectionCounts`."""

    def __init__(self, counts: memoryview, index: int) -> None:
        self._counts, self.index = counts, index

    def publish(self, connections: int) -> None:
        self._counts[self.index] = connections

    def withdraw(self) -> None:
        """This worker takes no more connections (it is stopping): the others stop waiting for it."""
        self._counts[self.index] = _NOT_ACCEPTING

    def fewer_elsewhere(self, connections: int) -> bool:
        """Whether another accepting worker holds fewer than ``connections``."""
        return any(
            _NOT_ACCEPTING < held < connections
            for index, held in enumerate(self._counts)
            if index != self.index
        )
