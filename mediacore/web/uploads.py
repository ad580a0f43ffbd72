"""Streaming a multipart upload straight into a category folder: never the whole file in
memory, never a copy in /tmp. The bytes land under a hidden temporary name in the folder of
the category named before the file part (or the default category); ingestion renames them.

Parsing is ``streaming-form-data``'s compiled parser: it keeps up with the disk.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from streaming_form_data import StreamingFormDataParser
from streaming_form_data.targets import BaseTarget, ValueTarget
from streaming_form_data.validators import MaxSizeValidator, ValidationError
from werkzeug.http import parse_options_header

from ..ingestion import StorageError, storage_error, temporary_path
from .errors import ApiError

CHUNK = 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024
TEXT_FIELDS = ("category", "title", "description", "uploaded_by", "uploader", "user")
#: How much of an oversized body is read and thrown away so that the client, still sending,
#: reliably receives the 413 instead of a reset connection.
DRAIN_LIMIT = 64 * 1024 * 1024

FolderChooser = Callable[[dict[str, str], str], tuple[str, Path]]


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


class _FileTarget(BaseTarget):
    """The ``file`` part: its folder is chosen when it starts, its bytes go straight to disk."""

    def __init__(
        self, upload: ReceivedUpload, values: dict[str, ValueTarget], choose: FolderChooser, max_bytes: int
    ) -> None:
        super().__init__()
        self.upload, self.values, self.choose, self.max_bytes = upload, values, choose, max_bytes
        self.handle: IO[bytes] | None = None
        self.rejection: ApiError | None = None
        self.failure: StorageError | None = None

    def on_start(self) -> None:
        if self.upload.filename is not None:  # a second part named "file": ignored
            return
        self.upload.filename = self.multipart_filename or ""
        try:
            self.upload.folder_category, folder = self.choose(text_fields(self.values), self.upload.filename)
        except ApiError as error:
            self.rejection = error
            return
        self.upload.temporary = temporary_path(folder)
        try:
            self.handle = open(self.upload.temporary, "xb")  # noqa: SIM115 - closed in on_finish or close()
        except OSError as error:
            self.upload.temporary = None
            self.failure = storage_error(self.upload.folder_category, error)

    def on_data_received(self, chunk: bytes) -> None:
        if self.handle is None:
            return
        self.upload.size += len(chunk)
        if self.upload.size > self.max_bytes:
            self.upload.too_large = True
            self.close()
            self.upload.discard()
            return
        try:
            self.handle.write(chunk)
        except OSError as error:
            self._fail(error)

    def on_finish(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the file; a write the disk refuses only now (buffered) fails the upload too."""
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.close()
            except OSError as error:
                self._fail(error)

    def _fail(self, error: OSError) -> None:
        """The disk refused the bytes: drop what was written at once, to give the room back."""
        self.failure = storage_error(self.upload.folder_category or "", error)
        self.close()
        self.upload.discard()


def text_fields(values: dict[str, ValueTarget]) -> dict[str, str]:
    return {name: target.value.decode("utf-8", "replace") for name, target in values.items() if target.value}


def drain(stream: IO[bytes], limit: int = DRAIN_LIMIT) -> None:
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


def receive_upload(
    stream: IO[bytes], content_type: str, *, choose_folder: FolderChooser, max_bytes: int
) -> ReceivedUpload:
    """Parse the body; the part named ``file`` goes to disk, the known text fields are kept.

    ``choose_folder(fields_so_far, filename)`` names the category and folder for the file; it
    may raise ApiError to reject the upload before any byte is written. A folder that will not
    take the bytes (full disk, no permission) raises StorageError, with nothing left behind.
    """
    upload = ReceivedUpload()
    parser = StreamingFormDataParser(headers={"Content-Type": content_type})
    values = {name: ValueTarget(validator=MaxSizeValidator(MAX_FIELD_BYTES)) for name in TEXT_FIELDS}
    for name, target in values.items():
        parser.register(name, target)
    target = _FileTarget(upload, values, choose_folder, max_bytes)
    parser.register("file", target)
    closing = b"--" + parse_options_header(content_type)[1].get("boundary", "").encode() + b"--"
    tail = b""
    try:
        while chunk := stream.read(CHUNK):
            parser.data_received(chunk)
            if target.failure is not None:
                break
            tail = (tail + chunk[-len(closing) - 4 :])[-len(closing) - 4 :]
    except ValidationError:
        upload.discard()
        raise ApiError(
            400, "invalid_parameter", f"a text field is longer than {MAX_FIELD_BYTES} bytes"
        ) from None
    except ApiError:
        upload.discard()
        raise
    except Exception as exc:  # the parser's errors on a malformed body
        upload.discard()
        raise ApiError(400, "invalid_upload", f"malformed multipart body: {exc}") from None
    finally:
        target.close()
    if target.failure is not None:
        upload.discard()
        drain(stream)  # so that the client, still sending, reads the answer
        raise target.failure
    if target.rejection is not None:
        upload.discard()
        raise target.rejection
    if closing not in tail:
        upload.discard()
        raise ApiError(400, "invalid_upload", "the multipart body ended before its closing boundary")
    upload.fields = text_fields(values)
    return upload


def move_into(temporary: Path, category_key: str, folder: Path) -> Path:
    """Move an upload to another category's folder (its category field came after the file)."""
    destination = temporary_path(folder)
    try:
        shutil.move(temporary, destination)
    except OSError as error:
        for leftover in (temporary, destination):
            if os.path.lexists(leftover):
                os.remove(leftover)
        raise storage_error(category_key, error) from None
    return destination
