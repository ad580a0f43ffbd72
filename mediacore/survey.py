"""Comparing a category's folder with what the database knows of it.

On an unchanged library this is all a scan does, so it is built for that case: the category's
rows are read once, as raw tuples; the walk compares each file with them as it goes (one
``stat`` and one dictionary lookup a file); and only the differences are kept: the files to
read, and the ids of the rows whose file is still there. Where forking is safe (see
:mod:`mediacore.parallel`) the tree is shared among processes, one a core, which inherit the
rows when they start, so only those differences travel back.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Final

from .config import MediaCategory
from .models import MediaItem, database
from .parallel import cores, process_pool
from .scanner import (
    EnhancedMediaScanner,
    FileEntry,
    RootUnavailable,
    WalkProblem,
    display_path,
    file_entries,
)

#: A row as the database knows it: (path, id, size_bytes, mtime, status), the driver's own tuple.
KnownRow = tuple[str, int, int, float, str]
ID: Final = 1
SIZE: Final = 2
MTIME: Final = 3
STATUS: Final = 4


@dataclass
class Comparison:
    """What (part of) a walk found, compared with the category's rows."""

    #: New files, changed ones and ones back from missing: the files a scan must read.
    to_read: list[FileEntry] = field(default_factory=list)
    unchanged: int = 0
    #: Ids of the rows whose file the walk found, whatever their state.
    seen: array[int] = field(default_factory=lambda: array("q"))
    files_found: int = 0
    problems: list[WalkProblem] = field(default_factory=list)

    def add(self, other: Comparison) -> None:
        self.to_read += other.to_read
        self.unchanged += other.unchanged
        self.seen += other.seen
        self.files_found += other.files_found
        self.problems += other.problems

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent back from a walker: named tuples unpickle through a Python-level ``__new__``
        # each, plain tuples several times faster (the first scan of a library sends them all).
        plain = list(map(tuple, self.to_read))
        return _rebuild, (plain, self.unchanged, self.seen, self.files_found, self.problems)


def _rebuild(
    plain: list[tuple[str, int, float]],
    unchanged: int,
    seen: array[int],
    files: int,
    problems: list[WalkProblem],
) -> Comparison:
    return Comparison(file_entries(plain), unchanged, seen, files, problems)


@dataclass
class Survey:
    """One category: its rows, and its folder compared with them (None when the root is gone)."""

    known: dict[str, KnownRow]
    found: Comparison | None
    #: Why the root could not be walked (missing, not a folder, unreadable).
    unavailable: str | None = None


def survey(
    categories: Sequence[MediaCategory], *, workers: int | None = None, limit: int | None = None
) -> list[Survey]:
    """Compare each category's folder with its rows, in parallel where that is safe.

    A limited scan walks in this process: it compares the first ``limit`` files in path order
    (the same ones each time), though every file found still counts as seen.
    """
    with _without_cycle_collection():
        known = [known_rows(category) for category in categories]
        parts = min(workers or cores(), cores())
        pool = None if limit else process_pool(parts, initializer=_inherit, initargs=(known,))
        with pool or nullcontext():
            started = [
                _start(category, rows, index, pool, parts, limit)
                for index, (category, rows) in enumerate(zip(categories, known, strict=True))
            ]
            for result, shares in started:
                for share in shares:
                    assert result.found is not None  # a root that was not walked has no shares
                    result.found.add(share.result())
            return [result for result, _ in started]


def _start(
    category: MediaCategory,
    known: dict[str, KnownRow],
    index: int,
    pool: Executor | None,
    parts: int,
    limit: int | None,
) -> tuple[Survey, list[Future[Comparison]]]:
    """Walk here (without a pool), or hand the tree's folders to the walkers and compare only
    the files at its top here."""
    scanner = EnhancedMediaScanner(category.root_path, category.extensions)
    try:
        if pool is None:
            entries = list(scanner.walk())
            if limit is not None:
                entries.sort()
            found = sift(entries[:limit], known)
            if limit is not None:
                rest = sift(entries[limit:], known)
                found.seen += rest.seen
                found.files_found += rest.files_found
            found.problems = scanner.problems
            return Survey(known, found), []
        top, groups = scanner.split(parts)
    except RootUnavailable as exc:
        return Survey(known, None, str(exc)), []
    shares = [pool.submit(_walk_share, scanner, group, index) for group in groups]
    found = sift(top.entries, known)
    found.problems = top.problems
    return Survey(known, found), shares


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


def known_rows(category: MediaCategory) -> dict[str, KnownRow]:
    """What the database knows of a category, in one query of raw rows (no per-field
    conversion: all five columns come back from the driver as the Python types we need)."""
    query = MediaItem.select(
        MediaItem.path, MediaItem.id, MediaItem.size_bytes, MediaItem.mtime, MediaItem.status
    ).where(MediaItem.category == category.key)
    return {row[0]: row for row in database.execute(query).fetchall()}


def sift(entries: Iterable[FileEntry], known: dict[str, KnownRow]) -> Comparison:
    """Compare files with the rows: the hot loop of a rescan."""
    found = Comparison()
    to_read = found.to_read
    seen = found.seen
    unchanged = files = 0
    for entry in entries:
        files += 1
        row = known.get(display_path(entry.path))
        if row is None:
            to_read.append(entry)
            continue
        seen.append(row[ID])
        status = row[STATUS]
        # Unchanged: an available file as stored, or a soft-deleted item (it stays deleted
        # while its file is there). A missing item is back: read it again.
        if status == "deleted" or (
            status == "available" and row[SIZE] == entry.size and row[MTIME] == entry.mtime
        ):
            unchanged += 1
        else:
            to_read.append(entry)
    found.unchanged = unchanged
    found.files_found = files
    return found


#: In a walker process only: every category's rows, inherited from the scan that forked it.
_inherited: list[dict[str, KnownRow]] = []


def _inherit(known: list[dict[str, KnownRow]]) -> None:
    _inherited[:] = known


def _walk_share(scanner: EnhancedMediaScanner, folders: list[str], index: int) -> Comparison:
    walked = scanner.walk_folders(folders)
    found = sift(walked.entries, _inherited[index])
    found.problems = walked.problems
    return found
