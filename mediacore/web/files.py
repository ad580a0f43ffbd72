"""Sending a file, whole or one byte range, through the server's ``sendfile()`` where it has one.

werkzeug answers conditional and range requests (ETag, If-Range, 206, 416) well, but it cuts a
range by wrapping the body in an iterator of its own, which a server can only read through
Python (a 1 MiB range cost 3.9 ms of server CPU that way, 2.8 ms by ``sendfile()``). Here the
body cuts the range itself, so it stays the server's file wrapper and gunicorn sends it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import IO, Any

from flask import Response, request
from werkzeug.http import http_date, is_resource_modified, parse_range_header

BLOCK = 256 * 1024  # read size for servers that iterate the body
#: A request for more byte ranges than this gets the whole file (RFC 9110, 14.2, lets a server
#: ignore such a Range header: a few ranges cost a seek each, thousands of tiny ones are a denial
#: of service). Ranges that overlap or are out of order werkzeug does not parse: ignored too.
MAX_RANGES = 32


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


def send_path(path: str, headers: list[tuple[str, str]]) -> Response:
    """:func:`send_open_file` for a file by name (a poster), with its Last-Modified."""
    handle = open(path, "rb", buffering=0)  # noqa: SIM115 - the response owns it
    try:
        stat = os.fstat(handle.fileno())
    except BaseException:
        handle.close()
        raise
    return send_open_file(handle, stat.st_size, [*headers, ("Last-Modified", http_date(stat.st_mtime))])


def send_open_file(handle: IO[bytes], size: int, headers: list[tuple[str, str]]) -> Response:
    """An open file of ``size`` bytes with its ``headers`` (type, validators, disposition),
    conditional and range-aware, sent by ``sendfile()`` when the server can: what is sent is
    what was checked, whatever its name points to by now. The response owns ``handle``, also
    when it is an error.

    Several ranges are sent as ``multipart/byteranges`` (werkzeug refuses them with a 416)."""
    request.environ["wsgi.file_wrapper"] = FileBody
    try:
        response = FileResponse(FileBody(handle), headers=headers, direct_passthrough=True)
        response.content_length = size
        environ, ranges = _ranges_to_send(request.environ, size)
        response.make_conditional(environ, accept_ranges=True, complete_length=size)
        if len(ranges) > 1 and response.status_code == 200 and _range_applies(request.environ, response):
            _send_parts(response, handle, ranges, size)
        return response
    except BaseException:
        handle.close()
        raise


def requested_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """The (start, stop) byte ranges of a file of ``size`` bytes that a Range header asks for
    and the file satisfies; None for a Range header to ignore, as RFC 9110 asks (none, one
    that does not parse or is not in bytes) or lets a server (more than :data:`MAX_RANGES`)."""
    requested = parse_range_header(header) if header else None
    if requested is None or requested.units != "bytes":
        return None
    ranges = [bounds for start, stop in requested.ranges if (bounds := _bounds(start, stop, size))]
    return None if len(ranges) > MAX_RANGES else ranges


def _ranges_to_send(environ: dict[str, Any], size: int) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """The environ to make the response conditional on, and the byte ranges to send
    (:func:`requested_ranges`). One range is werkzeug's to send; several are taken out of the
    environ and sent as parts; none that the file satisfies is werkzeug's 416."""
    ranges = requested_ranges(environ.get("HTTP_RANGE"), size)
    if ranges is None:
        return _without_range(environ), []
    if len(ranges) == 1:
        start, stop = ranges[0]
        return {**environ, "HTTP_RANGE": f"bytes={start}-{stop - 1}"}, ranges
    return (_without_range(environ) if ranges else environ), ranges


def _without_range(environ: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in environ.items() if key != "HTTP_RANGE"}


def _bounds(start: int, stop: int | None, size: int) -> tuple[int, int] | None:
    """A parsed range's (start, stop) in a file of ``size`` bytes; None if it has no byte there.
    A suffix longer than the file is the whole file (RFC 9110, 14.1.2; werkzeug answers 416)."""
    if start < 0:  # a suffix: the last -start bytes
        start, stop = max(size + start, 0), size
    else:
        stop = size if stop is None else min(stop, size)
    return (start, stop) if start < stop else None


def _range_applies(environ: dict[str, Any], response: Response) -> bool:
    """False when an If-Range names another version of the file: then the whole file is sent."""
    return "HTTP_IF_RANGE" not in environ or not is_resource_modified(
        environ,
        response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        ignore_if_range=False,
    )


def _send_parts(response: Response, handle: IO[bytes], ranges: list[tuple[int, int]], size: int) -> None:
    """Make ``response`` a 206 of ``multipart/byteranges``: each range with its own headers, in
    the order asked for (RFC 9110, 14.6)."""
    boundary = secrets.token_hex(16)
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    parts = [
        (
            f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: bytes {start}-{stop - 1}/{size}\r\n\r\n".encode("latin-1"),
            (start, stop),
        )
        for start, stop in ranges
    ]
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    response.status_code = 206
    response.response = PartsBody(handle, parts, tail)
    response.headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
    response.content_length = sum(len(head) + stop - start for head, (start, stop) in parts) + len(tail)


class PartsBody:
    """The body of a ``multipart/byteranges`` answer: each part's headers, then its bytes of
    the file. Closing it closes the file, whether or not it was read."""

    def __init__(self, file: IO[bytes], parts: list[tuple[bytes, tuple[int, int]]], tail: bytes) -> None:
        self.file, self.parts, self.tail = file, parts, tail

    def __iter__(self) -> Iterator[bytes]:
        for head, (start, stop) in self.parts:
            yield head
            self.file.seek(start)
            while start < stop:
                data = self.file.read(min(BLOCK, stop - start))
                if not data:  # the file shrank since it was measured: end short, as werkzeug does
                    return
                start += len(data)
                yield data
        yield self.tail

    def close(self) -> None:
        self.file.close()
