"""Metadata extraction: one code path for scans and uploads.

Every ``mediacore_extract_metadata`` implementation runs for every file, each isolated from
the others' errors; the files of a scan are extracted in parallel (see :mod:`mediacore.parallel`).
"""

from __future__ import annotations

import mimetypes
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .config import MediaCategory
from .errors import UnsupportedMedia
from .models import METADATA_COLUMNS
from .parallel import default_workers, executor
from .plugins import call_each
from .scanner import FileEntry, display_path


@dataclass
class Extraction:
    """The merged metadata of one file, and what went wrong while reading it."""

    metadata: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    unsupported: str | None = None  # set when a plugin said the file is not of the category's type

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None


def extract_metadata(path: str, category: MediaCategory) -> Extraction:
    """Run every metadata plugin on one file and merge their answers (first called wins a key)."""
    extraction = Extraction()
    for outcome in call_each("mediacore_extract_metadata", path=path, category=category):
        if isinstance(outcome.error, UnsupportedMedia):
            extraction.unsupported = display_path(str(outcome.error))
            extraction.errors.append(f"{outcome.plugin}: {extraction.unsupported}")
        elif outcome.error is not None:
            message = display_path(str(outcome.error))
            extraction.errors.append(f"{outcome.plugin}: {type(outcome.error).__name__}: {message}")
        elif outcome.result:
            for key, value in outcome.result.items():
                if value is not None and extraction.metadata.get(key) is None:
                    extraction.metadata[key] = value
    return extraction


def extract_many(
    entries: Iterable[FileEntry], category: MediaCategory, workers: int | None = None
) -> Iterator[tuple[FileEntry, Extraction]]:
    """Extract files in parallel, yielding in input order with a bounded number in flight."""
    workers = workers or default_workers()
    if workers <= 1:
        for entry in entries:
            yield entry, extract_metadata(entry.path, category)
        return
    with executor(workers) as pool:
        window: deque[tuple[FileEntry, Future[Extraction]]] = deque()
        for entry in entries:
            window.append((entry, pool.submit(extract_metadata, entry.path, category)))
            if len(window) >= workers * 4:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()


def file_fields(entry: FileEntry, category: MediaCategory) -> dict[str, Any]:
    """The columns that come from the file system and the file name alone."""
    shown = display_path(entry.path)
    filename = os.path.basename(shown)
    stem, _, extension = filename.rpartition(".")
    return {
        "category": category.key,
        "path": shown,
        "relative_path": os.path.relpath(shown, display_path(os.fspath(category.root_path))),
        "filename": filename,
        "extension": extension.lower(),
        "media_type": category.media_type,
        "mime_type": mimetypes.guess_type(filename, strict=False)[0],
        "title": stem or filename,
        "size_bytes": entry.size,
        "mtime": entry.mtime,
    }


def row_fields(entry: FileEntry, category: MediaCategory, extraction: Extraction | None) -> dict[str, Any]:
    """Every column a scan or an upload writes for a file: file fields, then plugin metadata."""
    row = file_fields(entry, category)
    metadata = dict(extraction.metadata) if extraction else {}
    if extraction and extraction.errors:
        metadata["extraction_errors"] = extraction.errors
    metadata = _storable(metadata)
    for column in METADATA_COLUMNS:
        value = metadata.get(column)
        if value is not None:
            row[column] = _clip(column, value)
    row["metadata"] = metadata
    return row


def _storable(value: Any) -> Any:
    """Plugin output made safe for a UTF-8 database: names read from undecodable paths carry
    surrogates, which are shown as ``\\xNN`` like the paths themselves."""
    if isinstance(value, str):
        return display_path(value)
    if isinstance(value, dict):
        return {str(key): _storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(item) for item in value]
    return value


_LIMITS = {"mime_type": 128, "video_codec": 64, "audio_codec": 64}
_INTEGERS = {"width", "height", "bitrate", "year", "season", "episode", "track_number"}


def _clip(column: str, value: Any) -> Any:
    """Coerce plugin values to the column's type so one odd tag never fails a whole batch."""
    if column in _INTEGERS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if column == "duration_seconds":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    text = str(value)
    limit = _LIMITS.get(column)
    return text[:limit] if limit else text
