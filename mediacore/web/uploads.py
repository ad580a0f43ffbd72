"""Streaming a multipart upload straight into a category folder: never the whole file in
memory, never a copy in /tmp. The bytes land under a hidden temporary name in the folder
of the category named before the file part (or the default category), then ingestion renames.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from ..ingestion import temporary_path
from .errors import ApiError

CHUNK = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
#: How much of an oversized body is read and thrown away so that the client, still sending,
#: reliably receives the 413 instead of a reset connection.
DRAIN_LIMIT = 64 * 1024 * 1024


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    temporary: Path | None = None
    folder_category: str | None = None
    size: int = 0
    too_large: bool = False

    def discard(self) -> None:
        if self.temporary is not None and os.path.lexists(self.temporary):
            os.remove(self.temporary)
        self.temporary = None


def drain(stream: IO[bytes], limit: int = DRAIN_LIMIT) -> None:
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


def receive_upload(
    stream: IO[bytes],
    boundary: bytes,
    *,
    choose_folder: Callable[[dict[str, str], str], tuple[str, Path]],
    max_bytes: int,
) -> ReceivedUpload:
    """Parse the body; the part named ``file`` goes to disk, other parts become text fields.

    ``choose_folder(fields_so_far, filename)`` names the category and folder for the file; it
    may raise ApiError to reject the upload before any byte is written.
    """
    upload = ReceivedUpload()
    decoder = MultipartDecoder(
        boundary
    )  # its size cap counts buffered file bytes too: fields are capped below
    target: IO[bytes] | None = None
    current: str | None = None  # "field:<name>", "file" or "skip"
    buffer = bytearray()
    rejection: ApiError | None = None
    try:
        finished = False
        while not finished:
            chunk = stream.read(CHUNK)
            decoder.receive_data(chunk or None)
            while True:
                event = decoder.next_event()
                if isinstance(event, NeedData):
                    break
                if isinstance(event, Epilogue):
                    finished = True
                    break
                if isinstance(event, Field):
                    current, buffer = f"field:{event.name}", bytearray()
                elif isinstance(event, File):
                    if event.name != "file" or upload.filename is not None:
                        current = "skip"
                        continue
                    current = "file"
                    upload.filename = event.filename or ""
                    try:
                        upload.folder_category, folder = choose_folder(upload.fields, upload.filename)
                    except ApiError as error:
                        rejection, current = error, "skip"
                        continue
                    upload.temporary = temporary_path(folder)
                    target = open(upload.temporary, "xb")  # noqa: SIM115 - closed below
                elif isinstance(event, Data):
                    if current == "file" and target is not None:
                        upload.size += len(event.data)
                        if upload.size > max_bytes:
                            upload.too_large = True
                            target.close()
                            target = None
                            upload.discard()
                        else:
                            target.write(event.data)
                    elif current and current.startswith("field:"):
                        buffer += event.data
                        if len(buffer) > MAX_FIELD_BYTES:
                            raise ApiError(400, "invalid_parameter", f"{current[6:]}: field is too long")
                        if not event.more_data:
                            upload.fields[current[6:]] = buffer.decode("utf-8", "replace")
            if not chunk and not finished:
                raise ApiError(400, "invalid_upload", "the multipart body ended before its closing boundary")
    except ValueError as exc:  # werkzeug's parser on a malformed body
        upload.discard()
        raise ApiError(400, "invalid_upload", f"malformed multipart body: {exc}") from None
    except BaseException:
        upload.discard()
        raise
    finally:
        if target is not None:
            target.close()
    if rejection is not None:
        upload.discard()
        raise rejection
    return upload


def move_into(temporary: Path, folder: Path) -> Path:
    """Move an upload to another category's folder (its category field came after the file)."""
    destination = temporary_path(folder)
    shutil.move(temporary, destination)
    return destination
