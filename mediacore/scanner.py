"""Walking a category root: the scan's hot path, so it touches nothing but ``scandir``/``stat``.

Hidden files and folders are skipped; a symlink is followed only when its target stays inside
the root; folder loops are cut. Names that are not valid UTF-8 are kept through
:func:`display_path` / :func:`fs_path`, a reversible mapping to text the database can store.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from stat import S_ISREG
from typing import NamedTuple

_ESCAPED_BYTE = re.compile(r"\\x([0-9a-f]{2})")


class FileEntry(NamedTuple):
    """A file the walk found: where it is, and the two facts that tell whether it changed."""

    path: str
    size: int
    mtime: float


@dataclass
class WalkProblem:
    """A folder inside the root that could not be read; nothing below it is marked missing."""

    path: str
    error: str


class RootUnavailable(OSError):
    """The category root does not exist, is not a folder or cannot be read (an unmounted share)."""


def display_path(path: str) -> str:
    """A path as text: itself when valid UTF-8, else its undecodable bytes as ``\\xNN``."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def fs_path(stored: str) -> str:
    """The inverse of :func:`display_path`: the name to open on disk."""
    if "\\x" not in stored or os.path.lexists(stored):
        return stored
    raw = _ESCAPED_BYTE.sub(lambda match: chr(0xDC00 + int(match.group(1), 16)), stored)
    return os.fsdecode(raw.encode("utf-8", "surrogateescape"))


@dataclass
class WalkResult:
    """What one walker found: the matching files and the folders it could not read."""

    entries: list[FileEntry] = field(default_factory=list)
    problems: list[WalkProblem] = field(default_factory=list)


#: A file as the walk finds it: a :class:`FileEntry`'s fields in a plain tuple, which costs the
#: walk less (a rescan compares 100,000 of them and keeps the few that changed).
Found = tuple[str, int, float]

#: A :data:`Found` tuple made a :class:`FileEntry`, without the Python-level ``__new__`` a named
#: tuple has (a hot path).
as_entry: Callable[[Found], FileEntry] = partial(tuple.__new__, FileEntry)


def file_entries(plain: Iterable[Found]) -> list[FileEntry]:
    """Plain tuples (found by a walk, or sent between processes) made file entries, at C speed."""
    return list(map(as_entry, plain))


@dataclass
class EnhancedMediaScanner:
    """Finds the files under ``root`` whose extension is in ``extensions``."""

    root: str | os.PathLike[str]
    extensions: Iterable[str]
    problems: list[WalkProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._root = os.fspath(self.root)
        self._extensions = frozenset(e.lower().lstrip(".") for e in self.extensions)
        self._real_root = os.path.realpath(self._root)

    def check_root(self) -> None:
        """Raise :class:`RootUnavailable` unless the root is a readable folder."""
        if not os.path.isdir(self._root):
            raise RootUnavailable(f"root folder {self._root} does not exist or is not a folder")
        try:
            with os.scandir(self._root):
                pass
        except OSError as exc:
            raise RootUnavailable(f"root folder {self._root} cannot be read: {exc.strerror}") from None

    def walk(self) -> Iterator[FileEntry]:
        """Yield every matching file; unreadable sub-folders go to :attr:`problems`."""
        self.check_root()
        self.problems = []
        yield from map(as_entry, self.walk_folders([self._root], self.problems))

    def split(self, at_least: int) -> tuple[WalkResult, list[str]]:
        """Walk the top of the tree, breadth first, until ``at_least`` folders are left to walk
        (or none): (what the top held, those folders, for :meth:`walk_folders`). None of the
        folders is inside another."""
        self.check_root()
        top = WalkResult()
        visited = {self._real_root}
        pending = deque([self._root])
        while pending and len(pending) < at_least:
            folder = pending.popleft()
            top.entries += file_entries(self._read_folder(folder, pending, visited, top.problems))
        return top, list(pending)

    def walk_folders(self, folders: list[str], problems: list[WalkProblem]) -> Iterator[Found]:
        """Every matching file below these folders of the tree (one walker's share, see
        :meth:`split`), as it is found; unreadable sub-folders go to ``problems``."""
        return chain.from_iterable(self._walk_below(folders, problems))

    def _walk_below(self, folders: list[str], problems: list[WalkProblem]) -> Iterator[list[Found]]:
        """The matching files below ``folders``, a folder's at a time, depth first; each walk
        cuts loops on its own."""
        visited = {self._real_root}
        pending = list(folders)
        while pending:
            yield self._read_folder(pending.pop(), pending, visited, problems)

    def _read_folder(
        self, folder: str, pending: MutableSequence[str], visited: set[str], problems: list[WalkProblem]
    ) -> list[Found]:
        """One folder's matching files; its sub-folders are appended to ``pending``.

        The scan's hot path: a plain file costs one ``stat`` and no Python call beyond it.
        """
        try:
            with os.scandir(folder) as iterator:
                entries = list(iterator)
        except OSError as exc:
            problems.append(WalkProblem(display_path(folder), exc.strerror or str(exc)))
            return []
        found: list[Found] = []
        extensions = self._extensions
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                if entry.is_symlink():
                    followed = self._follow(entry, visited, pending)
                    if followed is not None:
                        found.append(followed)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    continue
                dot = name.rfind(".")
                if dot < 0 or name[dot + 1 :].lower() not in extensions:
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append(WalkProblem(display_path(entry.path), exc.strerror or str(exc)))
                continue
            if S_ISREG(info.st_mode):
                found.append((entry.path, info.st_size, info.st_mtime))
        return found

    def _follow(
        self, entry: os.DirEntry[str], visited: set[str], pending: MutableSequence[str]
    ) -> FileEntry | None:
        """A symbolic link: followed only when it stays inside the root, each folder once."""
        if not self._inside_root(entry.path):
            return None
        if entry.is_dir():
            real = os.path.realpath(entry.path)
            if real not in visited:
                visited.add(real)
                pending.append(entry.path)
            return None
        dot = entry.name.rfind(".")
        if dot < 0 or entry.name[dot + 1 :].lower() not in self._extensions:
            return None
        info = entry.stat()
        return FileEntry(entry.path, info.st_size, info.st_mtime) if S_ISREG(info.st_mode) else None

    def _inside_root(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep)
