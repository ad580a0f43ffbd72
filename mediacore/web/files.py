"""Sending a file, whole or one byte range, through the server's ``sendfile()`` where it has one.

werkzeug answers conditional and range requests (ETag, If-Range, 206, 416) well, but it cuts a
range by wrapping the body in an iterator of its own, which a server can only read through
Python (a 1 MiB range cost 3.9 ms of server CPU that way, 2.8 ms by ``sendfile()``). Here the
body cuts the range itself, so it stays the server's file wrapper and gunicorn sends it.
"""

from __future__ import annotations

import os
from typing import IO, Any, BinaryIO, cast

from flask import Response, request
from werkzeug.utils import send_file

BLOCK = 256 * 1024  # read size for servers that iterate the body


class FileBody:
    """An open file as a WSGI body, narrowed to a byte range once werkzeug has chosen one.

    It is installed as the request's ``wsgi.file_wrapper``: gunicorn recognises its own file
    wrapper by that key and sends ``filelike`` from its current position for Content-Length
    bytes with ``sendfile()``; any other server iterates it and reads no byte past the range.
    """

    def __init__(self, file: IO[bytes], buffer_size: int = BLOCK) -> None:
        self.filelike = file  # gunicorn's name for the file it may send
        self.block = max(buffer_size, BLOCK)
        self.remaining: int | None = None  # None: to the end of the file

    def narrow(self, start: int, length: int) -> None:
        self.filelike.seek(start)
        self.remaining = length

    def __iter__(self) -> FileBody:
        return self

    def __next__(self) -> bytes:
        size = self.block if self.remaining is None else min(self.block, self.remaining)
        data = self.filelike.read(size) if size else b""
        if not data:
            raise StopIteration
        if self.remaining is not None:
            self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.filelike.close()


class FileResponse(Response):
    def _wrap_range_response(self, start: int, length: int) -> None:
        # werkzeug's hook for cutting a 206 body; it would wrap the body in its _RangeWrapper.
        if self.status_code == 206 and isinstance(self.response, FileBody):
            self.response.narrow(start, length)
        else:
            super()._wrap_range_response(start, length)


def send_path(path: str | os.PathLike[str], **options: Any) -> Response:
    """werkzeug's ``send_file`` for a path, conditional and range-aware, sent by ``sendfile()``
    when the server can; ``options`` are ``send_file``'s (mimetype, etag, max_age...)."""
    request.environ["wsgi.file_wrapper"] = FileBody
    response = send_file(path, request.environ, conditional=True, response_class=FileResponse, **options)
    return cast(FileResponse, response)


def send_open_file(handle: BinaryIO, stat: os.stat_result, headers: list[tuple[str, str]]) -> Response:
    """:func:`send_path` for a file already open and checked (its ``fstat`` in ``stat``), with
    its ``headers`` (type, validators, disposition): what is sent is what was checked, whatever
    its name points to by now. The response owns ``handle``, also when it is an error."""
    request.environ["wsgi.file_wrapper"] = FileBody
    try:
        response = FileResponse(FileBody(handle), headers=headers, direct_passthrough=True)
        response.content_length = stat.st_size
        response.make_conditional(request.environ, accept_ranges=True, complete_length=stat.st_size)
        return response
    except BaseException:
        handle.close()
        raise
