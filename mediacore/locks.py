"""The scan lock: one maintenance scan at a time, across threads, processes and API workers.

PostgreSQL uses a session advisory lock (shared by every machine that uses the database);
SQLite uses ``flock`` on a file beside the database. Both vanish with a crashed process.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from peewee import Database, PeeweeException, PostgresqlDatabase

from .db import unpooled
from .errors import ScanAlreadyRunning

#: The PostgreSQL advisory lock a scan holds (``pg_locks`` shows it, with the holder's pid).
ADVISORY_KEY = 0x6D656469  # "medi"
_local = threading.Lock()


@contextmanager
def scan_lock(db: Database) -> Iterator[None]:
    if not _local.acquire(blocking=False):
        raise ScanAlreadyRunning("a maintenance scan is already running")
    try:
        if isinstance(db, PostgresqlDatabase):
            with _advisory_lock(db):
                yield
        else:
            with _file_lock(db):
                yield
    finally:
        _local.release()


@contextmanager
def _advisory_lock(db: PostgresqlDatabase) -> Iterator[None]:
    # A session of its own: the scan's connection commits and may be reopened meanwhile.
    session = unpooled(db)  # closing must end the session
    session.connect()
    try:
        held = session.execute_sql("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()[0]
        if not held:
            raise ScanAlreadyRunning("a maintenance scan is already running (database lock held)")
        try:
            yield
        finally:
            # The server ends a closed session, and releases its lock, a moment after the close
            # returns: a scan another worker starts meanwhile would be refused. An unlock is
            # answered once the lock is free. (If the session is broken, closing it frees it.)
            with suppress(PeeweeException):
                session.execute_sql("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
    finally:
        session.close()


def lock_file(db: Database) -> str:
    """The file beside a SQLite database that a scan holds ``flock`` on."""
    database_file = str(db.database)
    return (database_file if database_file != ":memory:" else "mediacore") + ".scan.lock"


@contextmanager
def _file_lock(db: Database) -> Iterator[None]:
    descriptor = os.open(lock_file(db), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScanAlreadyRunning("a maintenance scan is already running (lock file held)") from None
        yield
    finally:
        os.close(descriptor)
