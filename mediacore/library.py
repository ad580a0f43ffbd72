"""Reading and changing items one at a time (an item, its file, deleting it), and the
library's counts and statistics. Listing is :mod:`mediacore.listing`."""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import dataclass
from typing import Any, BinaryIO

from peewee import fn

from .config import MediaConfig
from .errors import InvalidOption, NotFound
from .models import ITEM_FIELDS, STATUSES, MediaItem, database, get_setting, select_by_id, utcnow
from .scanner import fs_path


def get_item(item_id: int, *, include_deleted: bool = False) -> MediaItem:
    _check_id(item_id)
    sql = select_by_id(ITEM_FIELDS, 1)
    item = next(iter(MediaItem.raw(sql, item_id)), None)
    if item is None or (item.status == "deleted" and not include_deleted):
        raise NotFound(f"media item {item_id} not found")
    return item


def _check_id(item_id: int) -> None:
    if not 0 <= item_id < 2**63:  # no row has it, and the databases cannot even compare it
        raise NotFound(f"media item {item_id} not found")


@dataclass(frozen=True)
class MediaFile:
    """What serving an item's file takes."""

    path: str  # the name on disk
    filename: str
    mime_type: str | None
    category: str

    @property
    def content_type(self) -> str:
        return self.mime_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


_FILE_COLUMNS = ("path", "status", "category", "filename", "mime_type")


def open_media_file(
    config: MediaConfig, item_id: int, file: MediaFile | None = None
) -> tuple[MediaFile, BinaryIO, os.stat_result]:
    """An item's file, which must exist and lie under its category's root, opened for reading:
    (the file, its handle, its ``fstat``). ``file`` is the item's row (:func:`file_of`) when the
    caller has read it already.

    The file is checked once open, at the place the kernel resolved its name to: a symlink
    swapped in after the check cannot have another file sent, and the check costs one system
    call where resolving a name costs one per folder."""
    file = file or file_of(item_id)
    try:
        # Unbuffered: servers send it with sendfile(), and a buffer costs two system calls more.
        handle = open(file.path, "rb", buffering=0)  # noqa: SIM115 - the caller owns it
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):  # a folder by that name now
        raise _file_missing(item_id) from None
    try:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _file_missing(item_id)
        if not _under_its_root(config, file.category, _opened_path(handle), resolved=True):
            raise _outside_its_root(item_id)
    except BaseException:
        handle.close()
        raise
    return file, handle, info


def file_of(item_id: int) -> MediaFile:
    """The row of an item that is neither deleted nor missing, as serving its file needs it."""
    _check_id(item_id)
    sql = select_by_id(_FILE_COLUMNS, 1)
    row = database.execute_sql(sql, (item_id,)).fetchone()
    if row is None or row[1] == "deleted":
        raise NotFound(f"media item {item_id} not found")
    stored, status, category, filename, mime_type = row
    if status == "missing":
        raise _file_missing(item_id)
    return MediaFile(fs_path(stored), filename, mime_type, category)


def _file_missing(item_id: int) -> NotFound:
    return NotFound(f"the file of media item {item_id} is missing")


def _outside_its_root(item_id: int) -> NotFound:
    return NotFound(f"media item {item_id} is not under a configured root")


def _opened_path(handle: BinaryIO) -> str:
    """The resolved name of an open file: its link in /proc on Linux, else its name resolved."""
    try:
        return os.readlink(f"/proc/self/fd/{handle.fileno()}")
    except OSError:
        return os.path.realpath(handle.name)


def _under_its_root(config: MediaConfig, category_key: str, path: str, *, resolved: bool = False) -> bool:
    """Only files below their (still configured) category's root are served or removed."""
    category = config.categories.get(category_key)
    return category is not None and category.contains(path, resolved=resolved)


def check_database() -> None:
    """A round trip to the database (health checks)."""
    database.execute_sql("SELECT 1")


@dataclass(frozen=True)
class DeleteResult:
    id: int
    mode: str  # soft | hard
    file_deleted: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "deleted": self.mode, "file_deleted": self.file_deleted}


def delete_item(config: MediaConfig, item_id: int, *, soft: bool, delete_file: bool) -> DeleteResult:
    """Soft delete keeps row and file; hard delete removes the row and, if asked, the file.

    The file goes first: if it cannot be removed the row stays, so nothing is left half-deleted.
    Only a file under its category's root is ever removed.
    """
    if soft and delete_file:
        raise InvalidOption("delete_file", "only a hard delete can remove the file; drop soft=true")
    item = get_item(item_id, include_deleted=True)
    if soft:
        MediaItem.update(status="deleted", updated_at=utcnow()).where(MediaItem.id == item_id).execute()
        return DeleteResult(item_id, "soft", False)
    removed = False
    if delete_file:
        path = fs_path(item.path)
        if not _under_its_root(config, item.category, path):
            raise InvalidOption(
                "delete_file", "the file is not under its category's root; it was not touched"
            )
        if os.path.lexists(path):
            os.remove(path)
            removed = True
    MediaItem.delete().where(MediaItem.id == item_id).execute()
    return DeleteResult(item_id, "hard", removed)


def category_counts(config: MediaConfig) -> list[dict[str, Any]]:
    """Every configured category with its item counts by status and total size."""
    rows: Any = (
        MediaItem.select(
            MediaItem.category, MediaItem.status, fn.COUNT(MediaItem.id), fn.SUM(MediaItem.size_bytes)
        )
        .group_by(MediaItem.category, MediaItem.status)
        .tuples()
    )

    def empty() -> dict[str, Any]:
        return {"counts": dict.fromkeys(STATUSES, 0), "total_size_bytes": 0}

    counts: dict[str, dict[str, Any]] = {}
    for category, status, count, size in rows:
        entry = counts.setdefault(category, empty())
        entry["counts"][status] = count
        if status != "deleted":
            entry["total_size_bytes"] += int(size or 0)
    result = []
    for key, category in config.categories.items():
        entry = counts.get(key) or empty()
        result.append(
            {
                **category.to_dict(),
                "root_exists": os.path.isdir(category.root_path),
                "counts": entry["counts"],
                "total": sum(entry["counts"].values()),
                "total_size_bytes": entry["total_size_bytes"],
            }
        )
    return result


def library_stats() -> dict[str, Any]:
    """Counts by status, category and media type, sizes and durations, and the last scan."""

    def grouped(column: Any) -> dict[str, int]:
        query: Any = MediaItem.select(column, fn.COUNT(MediaItem.id)).group_by(column).tuples()
        return dict(query)

    sums: Any = MediaItem.select(fn.SUM(MediaItem.size_bytes), fn.SUM(MediaItem.duration_seconds))
    size, duration = sums.where(MediaItem.status == "available").tuples().get()
    last = get_setting("last_scan")
    return {
        "total_items": MediaItem.select().count(),
        "by_status": {**dict.fromkeys(STATUSES, 0), **grouped(MediaItem.status)},
        "by_category": grouped(MediaItem.category),
        "by_media_type": grouped(MediaItem.media_type),
        "available_size_bytes": int(size or 0),
        "available_duration_seconds": round(float(duration or 0), 3),
        "last_scan": {"scanned_at": last["scanned_at"], "dry_run": last["dry_run"], "totals": last["totals"]}
        if last
        else None,
        "media_scan_directories": get_setting("media_scan_directories") or {},
    }
