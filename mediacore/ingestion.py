"""Uploads: a file already streamed into its category's folder under a hidden temporary name
becomes a library item, with the same metadata extraction as a scan, or nothing at all.
"""

from __future__ import annotations

import errno
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import MediaCategory, MediaConfig
from .errors import MediacoreError, UnsupportedMedia, refuse_nul
from .extract import extract_metadata, row_fields
from .models import METADATA_COLUMNS, MediaItem, database, utcnow
from .scanner import FileEntry

TEMPORARY_PREFIX = ".mediacore-upload-"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_NAME_BYTES = 200


class InvalidUpload(MediacoreError):
    """The upload cannot be accepted as sent (empty file, no file name...)."""


class IngestFailed(MediacoreError):
    """Something failed after the file was saved; the file and the row were rolled back."""


class StorageError(MediacoreError):
    """The category's folder would not take the file (no permission, read-only, gone); the
    partial file was removed."""


class StorageFull(StorageError):
    """The disk (or quota) under the category's folder ran out; the partial file was removed."""


#: Errors that mean "no room", which a client may retry once space is freed.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_error(category_key: str, error: OSError) -> StorageError:
    """The engine's error for an upload the category's folder could not hold."""
    kind = StorageFull if error.errno in _NO_ROOM else StorageError
    return kind(
        f"cannot write the upload into the folder of category {category_key!r}: "
        f"{error.strerror or error}; nothing was kept"
    )


@dataclass(frozen=True)
class UploadDetails:
    filename: str
    title: str | None = None
    description: str | None = None
    uploaded_by: str | None = None


def temporary_path(folder: Path) -> Path:
    """A hidden name in ``folder`` that scans skip, for the bytes while they arrive."""
    return folder / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}.part"


def safe_filename(name: str) -> str:
    """The client's name where it is safe; separators, ``..``, control and reserved characters replaced.

    ``Upload Clip (2020).mp4`` and Unicode names stay as sent.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]  # a path of either kind keeps its last part
    name = _UNSAFE.sub("_", name).strip().strip(".")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    while len(name.encode("utf-8")) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
        name = f"{stem}.{extension}" if extension else stem
    if not stem or stem in {".", ".."}:
        raise InvalidUpload(f"file name {name!r} is empty once unsafe characters are removed")
    return name


def check_extension(category: MediaCategory, filename: str) -> None:
    if not category.accepts(filename):
        raise UnsupportedMedia(
            f"category {category.key!r} accepts {', '.join(category.extensions)}; "
            f"{filename!r} is not one of them"
        )


def ingest_upload(
    config: MediaConfig, category_key: str, temporary: Path, details: UploadDetails
) -> dict[str, Any]:
    """Move the temporary file to its final name and record it; on any failure undo both.

    Raises UnknownCategory, InvalidOption, InvalidUpload, UnsupportedMedia (HTTP 415) or IngestFailed.
    """
    final: Path | None = None
    try:
        for name in ("title", "description", "uploaded_by"):
            refuse_nul(name, getattr(details, name))
        category = config.category(category_key)
        filename = safe_filename(details.filename)
        check_extension(category, filename)
        if temporary.stat().st_size == 0:
            raise InvalidUpload("the uploaded file is empty")
        final = _claim_name(Path(category.root_path), filename, temporary)
        extraction = extract_metadata(str(final), category)
        if extraction.unsupported:
            raise UnsupportedMedia(
                f"{filename!r} is not a readable {category.media_type} file: {extraction.unsupported}"
            )
        if extraction.errors:
            raise IngestFailed(f"metadata extraction failed: {extraction.error}")
        info = final.stat()
        row: dict[str, Any] = dict.fromkeys(METADATA_COLUMNS)
        row.update(row_fields(FileEntry(str(final), info.st_size, info.st_mtime), category, extraction))
        row.update(
            {
                key: value
                for key, value in (("title", details.title), ("description", details.description))
                if value
            }
        )
        now = utcnow()
        with database.atomic():
            item_id = MediaItem.insert(
                **row,
                status="available",
                source="upload",
                uploaded_by=details.uploaded_by,
                created_at=now,
                updated_at=now,
                last_seen_at=now,
            ).execute()
        return MediaItem.get_by_id(item_id).to_dict()
    except BaseException as exc:
        for leftover in (temporary, final):
            if leftover is not None and os.path.lexists(leftover):
                os.remove(leftover)
        if isinstance(exc, MediacoreError) or not isinstance(exc, Exception):
            raise
        raise IngestFailed(f"upload rolled back: {type(exc).__name__}: {exc}") from exc


def _claim_name(folder: Path, filename: str, temporary: Path) -> Path:
    """Give the file its name without ever replacing another: ``Name (1).ext``, ``Name (2).ext``...

    A name is taken when a file has it or a row (a missing or deleted item) still holds it.
    ``os.link`` fails instead of overwriting, so two uploads racing for a name both succeed.
    """
    stem, dot, extension = filename.rpartition(".")
    for attempt in range(10_000):
        name = filename if attempt == 0 else f"{stem} ({attempt}){dot}{extension}"
        candidate = folder / name
        if MediaItem.select().where(MediaItem.path == str(candidate)).exists():
            continue
        try:
            os.link(temporary, candidate)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links (some network shares)
            if os.path.lexists(candidate):
                continue
            os.rename(temporary, candidate)
            return candidate
        os.remove(temporary)
        return candidate
    raise IngestFailed(f"no free name for {filename!r} in {folder}")
