"""The maintenance scan: bring ``media_items`` in step with the folders.

One service behind ``mediacore scan`` and ``POST /api/v1/admin/media/maintenance-scan``.
An unchanged file costs one ``stat`` (from the walk) and one dictionary lookup; only new and
changed files are read, in parallel, and written in batched transactions, so a crash leaves
whole batches and the next scan converges. :func:`refresh_item` reads one item again, as a
refresh scan reads them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .config import MediaCategory, MediaConfig
from .db import refresh_statistics
from .errors import InvalidOption
from .extract import Extraction, extract_many, extract_metadata, row_fields
from .hooks import handle_missing
from .library import get_item, open_media_file
from .locks import scan_lock
from .models import METADATA_COLUMNS, MediaItem, database, get_setting, set_setting, utcnow
from .scanner import FileEntry
from .survey import ID, STATUS, Comparison, Survey, survey

#: Called as ``progress(category_key, files_done, files_total)``.
ProgressCallback = Callable[[str, int, int], None]

BATCH_SIZE = 200
#: After a scan that changed this many items, the query planner's statistics are refreshed.
STATISTICS_AFTER = 1000
#: A root that yields no file while at least this many of its items are available is taken
#: for an unmounted share, not a deliberately emptied folder.
EMPTY_ROOT_GUARD = 5


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and how. ``limit`` caps the files processed per category."""

    categories: Sequence[str] | None = None
    dry_run: bool = False
    limit: int | None = None
    workers: int | None = None
    #: Mark items missing even when a root that used to hold them now yields no file at all.
    allow_empty_root: bool = False
    #: Read every file again, changed or not: after editing sidecars (``.nfo``), which a scan
    #: does not watch, or installing a metadata plugin.
    refresh: bool = False

    def __post_init__(self) -> None:
        if self.limit is not None and (
            isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1
        ):
            raise InvalidOption("limit", f"must be a positive integer, got {self.limit!r}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise InvalidOption("workers", f"must be a positive integer, got {self.workers!r}")
        if isinstance(self.categories, str):
            raise InvalidOption("categories", "must be a list of category keys, not a string")


@dataclass
class CategorySummary:
    files_found: int = 0
    files_scanned: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    missing_paths: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    limited: bool = False
    dry_run: bool = False
    root_exists: bool = True
    notes: list[str] = field(default_factory=list)
    logged_missing: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_found": self.files_found,
            "files_scanned": self.files_scanned,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "missing_paths": list(self.missing_paths),
            "errors": list(self.errors),
            "limited": self.limited,
            "dry_run": self.dry_run,
            "root_exists": self.root_exists,
            "notes": list(self.notes),
        }


@dataclass
class ScanSummary:
    """The result of a scan; :meth:`to_dict` is the one JSON shape for the API and the CLI."""

    scanned_at: datetime
    dry_run: bool
    config_version: int
    selected_categories: list[str]
    categories: dict[str, CategorySummary] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        parts = self.categories.values()
        totals = {
            name: sum(getattr(part, name) for part in parts)
            for name in ("added", "updated", "unchanged", "missing", "files_scanned", "files_found")
        }
        totals["categories"] = len(self.categories)
        totals["logged_missing"] = sum(part.logged_missing for part in parts)
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "scanned_at": self.scanned_at.isoformat().replace("+00:00", "Z"),
            "dry_run": self.dry_run,
            "config_version": self.config_version,
            "selected_categories": list(self.selected_categories),
            "categories": {key: part.to_dict() for key, part in self.categories.items()},
            "totals": self.totals,
        }


def run_maintenance_scan(
    config: MediaConfig, options: ScanOptions | None = None, *, progress: ProgressCallback | None = None
) -> ScanSummary:
    """Scan the selected categories; raises ScanAlreadyRunning, UnknownCategory, InvalidOption."""
    options = options or ScanOptions()
    categories = config.select(options.categories)
    db = database.obj
    with scan_lock(db), database.connection_context():
        summary = ScanSummary(
            scanned_at=datetime.now(timezone.utc),
            dry_run=options.dry_run,
            config_version=config.version,
            selected_categories=[category.key for category in categories],
        )
        surveys = survey(categories, workers=options.workers, limit=options.limit, refresh=options.refresh)
        for category, surveyed in zip(categories, surveys, strict=True):
            summary.categories[category.key] = _CategoryScan(category, options, progress).run(surveyed)
        if not options.dry_run:
            with database.atomic():
                directories = dict(get_setting("media_scan_directories") or {})
                directories.update({category.key: str(category.root_path) for category in categories})
                set_setting("media_scan_directories", directories)
                set_setting("last_scan", summary.to_dict())
            totals = summary.totals
            if totals["added"] + totals["updated"] + totals["missing"] >= STATISTICS_AFTER:
                refresh_statistics(db)
        return summary


class _CategoryScan:
    """One category's pass: walk, classify, extract and write, then mark what vanished."""

    def __init__(self, category: MediaCategory, options: ScanOptions, progress: ProgressCallback | None):
        self.category = category
        self.options = options
        self.progress = progress
        self.summary = CategorySummary(dry_run=options.dry_run)

    def run(self, surveyed: Survey) -> CategorySummary:
        found = surveyed.found
        if found is None:
            self.summary.root_exists = False
            self.summary.notes.append(f"{surveyed.unavailable}; nothing was marked missing")
            return self.summary
        for problem in found.problems:
            self.summary.errors.append({"path": problem.path, "error": f"cannot read: {problem.error}"})
        self.summary.files_found = found.files_found
        limit = self.options.limit
        self.summary.files_scanned = found.files_found if limit is None else min(limit, found.files_found)
        self.summary.limited = self.summary.files_scanned < found.files_found
        self.summary.unchanged = found.unchanged

        new, changed = found.new, found.changed
        self.summary.added, self.summary.updated = len(new), len(changed)
        if self.progress:
            self.progress(self.category.key, found.files_found, found.files_found)
        if not self.options.dry_run:
            self._write(new, changed)
        elif new or changed:
            self.summary.notes.append("dry run: new and changed files were counted, not read")
        self._mark_missing(found)
        return self.summary

    def _write(self, new: list[FileEntry], changed: list[tuple[int, FileEntry]]) -> None:
        ids = {entry.path: item_id for item_id, entry in changed}
        work = [*new, *(entry for _, entry in changed)]
        batch: list[tuple[FileEntry, Extraction]] = []
        for done, result in enumerate(extract_many(work, self.category, self.options.workers), 1):
            batch.append(result)
            if len(batch) >= BATCH_SIZE:
                self._write_batch(batch, ids)
                batch = []
            if self.progress and done % 50 == 0:
                self.progress(self.category.key, done, len(work))
        self._write_batch(batch, ids)

    def _write_batch(self, batch: list[tuple[FileEntry, Extraction]], ids: dict[str, int]) -> None:
        if not batch:
            return
        now = utcnow()
        inserts = []
        with database.atomic():
            for entry, extraction in batch:
                row = item_row(entry, self.category, extraction, now)
                if extraction.errors:
                    self.summary.errors.append({"path": row["path"], "error": extraction.error or ""})
                item_id = ids.get(entry.path)
                if item_id is None:
                    inserts.append({**row, "source": "scan", "created_at": now})
                else:
                    MediaItem.update(**row).where(MediaItem.id == item_id).execute()
            if inserts:
                # An upload may have claimed a path since the walk: keep its row.
                MediaItem.insert_many(inserts).on_conflict_ignore().execute()

    def _mark_missing(self, found: Comparison) -> None:
        """Mark what the database has as available but the walk did not find."""
        shielded = tuple(problem.path.rstrip(os.sep) + os.sep for problem in found.problems)
        vanished = [
            (path, row[ID])
            for path, row in found.unmatched.items()
            if row[STATUS] == "available" and not path.startswith(shielded)
        ]
        if len(vanished) >= EMPTY_ROOT_GUARD and not found.files_found and not self.options.allow_empty_root:
            self.summary.notes.append(
                f"root {self.category.root_path} holds no matching files but {len(vanished)} items are "
                "available: nothing was marked missing (is the share mounted?). Scan with "
                "allow_empty_root to mark them missing."
            )
            return
        vanished.sort()
        self.summary.missing = len(vanished)
        self.summary.missing_paths = [path for path, _ in vanished]
        self._report_missing([item_id for _, item_id in vanished])

    def _report_missing(self, item_ids: list[int]) -> None:
        """Mark the items missing (unless dry run), then tell the missing-file handlers."""
        dry_run = self.options.dry_run
        for chunk in _chunks(item_ids, 500):
            if not dry_run:
                now = utcnow()
                with database.atomic():
                    MediaItem.update(status="missing", missing_since=now, updated_at=now).where(
                        MediaItem.id.in_(chunk)
                        & (MediaItem.status == "available")  # not one deleted meanwhile
                    ).execute()
            for item in MediaItem.select().where(MediaItem.id.in_(chunk)).order_by(MediaItem.path):
                logged, errors = handle_missing(item.to_dict(), self.category, dry_run=dry_run)
                self.summary.logged_missing += int(logged and not dry_run)
                self.summary.errors.extend({"path": item.path, "error": error} for error in errors)


def item_row(
    entry: FileEntry, category: MediaCategory, extraction: Extraction, now: datetime
) -> dict[str, Any]:
    """An item's columns as a file and its metadata give them: every metadata column is
    written, so a value a plugin no longer gives is cleared."""
    row: dict[str, Any] = dict.fromkeys(METADATA_COLUMNS)
    row.update(row_fields(entry, category, extraction))
    row.update(status="available", missing_since=None, updated_at=now, last_seen_at=now)
    return row


@dataclass
class ItemRefresh:
    """One item read again: the item as the API shows it, and what its plugins reported."""

    item: dict[str, Any]
    errors: list[str]


def refresh_item(config: MediaConfig, item_id: int) -> ItemRefresh:
    """Read one item's file again, changed or not (after editing its ``.nfo``), as a refresh
    scan would. Raises NotFound for an unknown or deleted item, or one whose file is gone."""
    file, handle, info = open_media_file(config, item_id)
    handle.close()  # checked where it resolves to; the plugins open it themselves
    category = config.category(file.category)
    extraction = extract_metadata(file.path, category)
    row = item_row(FileEntry(file.path, info.st_size, info.st_mtime), category, extraction, utcnow())
    MediaItem.update(**row).where(MediaItem.id == item_id).execute()
    return ItemRefresh(get_item(item_id).to_dict(), list(extraction.errors))


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
