"""Comparing a category's folder with what the database knows of it.

On an unchanged library this is all a scan does, so it is built for that case: rows are read
as raw tuples; the walk compares each file with them as it goes (one ``stat`` and one
dictionary lookup a file); and only the differences are kept: the files to read, and the rows
no file matched. Where forking is safe (see :mod:`mediacore.parallel`) the tree is shared among
processes, one a core, in *ranges* of paths: a walker reads the rows of its range itself and
walks the folders whose files fall in it, so reading rows is shared out like walking, and only
the differences travel back.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from peewee import Database, DatabaseProxy, PeeweeException

from .config import MediaCategory
from .db import is_sqlite, unpooled
from .errors import DatabaseUnavailable
from .models import MediaItem, database
from .parallel import cores, process_pool
from .scanner import (
    EnhancedMediaScanner,
    FileEntry,
    Found,
    RootUnavailable,
    WalkProblem,
    WalkResult,
    as_entry,
    display_path,
    file_entries,
)

#: A row as the database knows it: (path, id, size_bytes, mtime, status), the driver's own tuple.
KnownRow = tuple[str, int, int, float, str]
ID: Final = 1
SIZE: Final = 2
MTIME: Final = 3
STATUS: Final = 4

#: Path ranges per walker and category: enough that one big range does not leave the other
#: walkers idle, few enough that their queries cost nothing.
RANGES_PER_WALKER = 4


@dataclass
class Comparison:
    """What (part of) a walk found, compared with the rows of the same paths."""

    #: Files no row knows: to read and insert.
    new: list[FileEntry] = field(default_factory=list)
    #: Files whose row is out of date, or missing, or asked to be refreshed, with the row's id:
    #: to read and update.
    changed: list[tuple[int, FileEntry]] = field(default_factory=list)
    unchanged: int = 0
    #: The rows no file matched, whatever their state (by path).
    unmatched: dict[str, KnownRow] = field(default_factory=dict)
    files_found: int = 0
    problems: list[WalkProblem] = field(default_factory=list)

    def add(self, other: Comparison) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.unmatched.update(other.unmatched)
        self.files_found += other.files_found
        self.problems += other.problems

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent back from a walker: named tuples unpickle through a Python-level ``__new__``
        # each, plain tuples several times faster (the first scan of a library sends them all).
        new = list(map(tuple, self.new))
        changed = [(item_id, tuple(entry)) for item_id, entry in self.changed]
        state = (self.unchanged, self.unmatched, self.files_found, self.problems)
        return _rebuild, (new, changed, *state)


def _rebuild(
    new: list[tuple[str, int, float]],
    changed: list[tuple[int, tuple[str, int, float]]],
    unchanged: int,
    unmatched: dict[str, KnownRow],
    files: int,
    problems: list[WalkProblem],
) -> Comparison:
    ids = [item_id for item_id, _ in changed]
    entries = file_entries(entry for _, entry in changed)
    return Comparison(
        file_entries(new), list(zip(ids, entries, strict=True)), unchanged, unmatched, files, problems
    )


@dataclass
class Survey:
    """One category's folder compared with its rows (None when the root is gone)."""

    found: Comparison | None
    #: Why the root could not be walked (missing, not a folder, unreadable).
    unavailable: str | None = None


@dataclass(frozen=True)
class PathRange:
    """The rows of a category whose path is in [``start``, ``stop``) (None: unbounded)."""

    category: str
    start: str | None = None
    stop: str | None = None


def survey(
    categories: Sequence[MediaCategory],
    *,
    workers: int | None = None,
    limit: int | None = None,
    refresh: bool = False,
) -> list[Survey]:
    """Compare each category's folder with its rows, in parallel where that is safe.

    A limited scan walks in this process: it compares the first ``limit`` files in path order
    (the same ones each time), though every file found still counts as seen. With ``refresh``
    every available item's file counts as changed.
    """
    with _without_cycle_collection():
        parts = min(workers or cores(), cores())
        pool = None if limit else process_pool(parts)
        with pool or nullcontext():
            started = [_start(category, pool, parts, limit, refresh) for category in categories]
            return [_finish(*begun, refresh) for begun in started]


def _start(
    category: MediaCategory, pool: Executor | None, parts: int, limit: int | None, refresh: bool
) -> tuple[Survey, list[FileEntry], list[Future[Comparison]]]:
    """Walk the tree here (without a pool), or walk its top here and hand its folders to the
    walkers, range by range: (the survey so far, the files of the top, the walkers' shares)."""
    scanner = EnhancedMediaScanner(category.root_path, category.extensions)
    folders: list[str] = []
    try:
        if pool is None:
            top = WalkResult(list(scanner.walk()), scanner.problems)
        else:
            top, folders = scanner.split(parts * RANGES_PER_WALKER)
    except RootUnavailable as exc:
        return Survey(None, str(exc)), [], []
    if pool is None or not folders:  # all walked here (a tree too small to share)
        return Survey(_compare_here(top, category.key, limit, refresh)), [], []
    shares = [
        pool.submit(_walk_share, scanner, group, span, refresh)
        for group, span in share_out(category.key, folders, parts * RANGES_PER_WALKER)
    ]
    return Survey(Comparison(problems=top.problems)), top.entries, shares


def _finish(
    surveyed: Survey, top: list[FileEntry], shares: list[Future[Comparison]], refresh: bool
) -> Survey:
    """Gather the walkers' shares; the files of the top of the tree are compared last, with
    the rows no walker matched (a range holds the paths of its folders and of the top files
    that sort between them)."""
    found = surveyed.found
    if found is None or not shares:
        return surveyed
    for share in shares:
        found.add(share.result())
    found.add(sift(top, found.unmatched, refresh))  # takes the top files' rows out of ``unmatched``
    return surveyed


def _compare_here(walked: WalkResult, category: str, limit: int | None, refresh: bool) -> Comparison:
    entries = walked.entries
    rows = known_rows(database, PathRange(category))
    if limit is None:
        found = sift(entries, rows, refresh)
    else:
        entries.sort()
        found = sift(entries[:limit], rows, refresh)
        for entry in entries[limit:]:  # seen, though not compared
            rows.pop(display_path(entry.path), None)
        found.files_found = len(entries)
    found.problems = walked.problems
    return found


def share_out(category: str, folders: list[str], count: int) -> list[tuple[list[str], PathRange]]:
    """``folders`` (none inside another) in at most ``count`` groups of neighbours in path
    order, each with the range of paths that holds every file below its folders.

    A folder's files all start with its path and a separator, which sort together and after
    every path that sorts before that prefix; so ranges cut just before a group's first
    folder cover all the paths, each once, and each folder's files fall in its group's range.
    """
    ordered = sorted(folders, key=_prefix)
    count = min(count, len(ordered))
    if not count:
        return []
    cuts = [len(ordered) * index // count for index in range(count + 1)]
    groups = [ordered[start:stop] for start, stop in pairwise(cuts)]
    bounds: list[str | None] = [None, *(_prefix(group[0]) for group in groups[1:]), None]
    return [
        (group, PathRange(category, bounds[index], bounds[index + 1])) for index, group in enumerate(groups)
    ]


def _prefix(folder: str) -> str:
    """The start of every stored path below ``folder``."""
    return display_path(folder).rstrip(os.sep) + os.sep


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """A survey makes hundreds of thousands of tuples and no reference cycles; the cycle
    collector would walk them all, again and again, for nothing (a tenth of a rescan). Walker
    processes inherit the setting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def known_rows(db: Database | DatabaseProxy, span: PathRange) -> dict[str, KnownRow]:
    """What the database knows of a range of paths, in one query of raw rows (no per-field
    conversion: all five columns come back from the driver as the Python types we need)."""
    query = MediaItem.select(
        MediaItem.path, MediaItem.id, MediaItem.size_bytes, MediaItem.mtime, MediaItem.status
    ).where(MediaItem.category == span.category)
    # In the byte order of the paths' UTF-8, which is Python's order of their characters;
    # PostgreSQL otherwise compares them in the database's collation.
    path = MediaItem.path if is_sqlite(database.obj) else MediaItem.path.collate('"C"')
    if span.start is not None:
        query = query.where(path >= span.start)
    if span.stop is not None:
        query = query.where(path < span.stop)
    return {row[0]: row for row in db.execute(query).fetchall()}


def sift(entries: Iterable[Found], rows: dict[str, KnownRow], refresh: bool = False) -> Comparison:
    """Compare files with the rows of their paths: the hot loop of a rescan. Each row a file
    matches is taken out of ``rows``; what is left is :attr:`Comparison.unmatched`. With
    ``refresh``, an available item's file is changed even when its size and mtime are not.
    Only the files to read become :class:`FileEntry` values."""
    found = Comparison(unmatched=rows)
    new = found.new
    changed = found.changed
    unchanged = files = 0
    take = rows.pop
    for entry in entries:
        files += 1
        path, size, mtime = entry
        row = take(path if path.isascii() else display_path(path), None)  # no call for most
        if row is None:
            new.append(as_entry(entry))
            continue
        status = row[STATUS]
        # Unchanged: an available file as stored, or a soft-deleted item (it stays deleted
        # while its file is there). A missing item is back: read it again.
        if status == "deleted" or (
            status == "available" and not refresh and row[SIZE] == size and row[MTIME] == mtime
        ):
            unchanged += 1
        else:
            changed.append((row[ID], as_entry(entry)))
    found.unchanged = unchanged
    found.files_found = files
    return found


#: In a walker process only: its own connection (one inherited from the parent must not be
#: used), opened for its first share and closed when it exits.
_walker_database: list[Database] = []


def _walker_connection() -> Database:
    if not _walker_database:
        from multiprocessing.util import Finalize

        db = unpooled(database.obj)
        try:
            db.connect()
        except PeeweeException as exc:  # e.g. PostgreSQL's max_connections reached
            raise DatabaseUnavailable(f"a scan walker cannot connect to the database: {exc}") from None
        Finalize(db, db.close, exitpriority=0)  # run as the walker exits (atexit is not)
        _walker_database.append(db)
    return _walker_database[0]


def _walk_share(
    scanner: EnhancedMediaScanner, folders: list[str], span: PathRange, refresh: bool
) -> Comparison:
    """A walker's share: its range's rows compared with its folders' files."""
    rows = known_rows(_walker_connection(), span)
    problems: list[WalkProblem] = []
    found = sift(scanner.walk_folders(folders, problems), rows, refresh)
    found.problems = problems
    return found
