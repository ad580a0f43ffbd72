"""``GET /api/v1/media/<id>/stream``: a player's requests answered in front of Flask.

A player reads a film as one range request after another. Through Flask and werkzeug's
``send_file`` each one took ~0.5 ms of Python (a request context, routing, the
conditional-request machinery, a dozen header objects), nearly what nginx takes to answer a
1 MiB range whole (bench/RESULTS.md). :class:`StreamLane` answers the common request (a GET
with one plain byte range or none, no validators, no query string) itself, with the same
lookup and the same headers. Every other request to the route (HEAD, If-Range, If-None-Match,
``?download``, an unsatisfiable range, an unknown item, a missing token) goes on to the Flask
view, which answers them all: the lane can make an answer faster, never different.

Reading the item's row was then the largest part of a lane answer (a pooled connection and a
query, ~0.1 ms between two ``sendfile()`` calls on the bench's machine; a network round trip on
PostgreSQL), for a row that does not change while a film plays: the lane keeps the rows it read
for :data:`ROW_SECONDS`, and a file's headers per version of the file. The file itself is
opened and checked on every request. A lane answer takes ~0.02 ms in process.

Under ``mediacore serve`` the lane is asked before WSGI: gunicorn's own way to a response (the
environ, the response object, its header checks and ``socket.sendfile``) costs ~0.1 ms of
Python a range, which kept ranges under 0.8x nginx's rate; the worker sends a
:class:`FileAnswer` itself (:mod:`mediacore.web.server`).
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO
from unicodedata import normalize
from urllib.parse import quote

from flask import Flask, request
from werkzeug.http import dump_options_header, http_date, quote_etag
from werkzeug.utils import get_content_type

from ..db import borrowed_connection
from ..library import MediaFile, file_of, open_media_file
from .auth import token_error
from .files import FileBody, requested_ranges

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ROUTE = re.compile(r"/api/v1/media/([0-9]{1,18})/stream")
#: Conditional requests are werkzeug's to answer.
VALIDATORS = frozenset(
    {
        "HTTP_IF_RANGE",
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_IF_UNMODIFIED_SINCE",
    }
)
CACHE_CONTROL = "no-cache"  # a client may keep a copy but asks (If-None-Match) before using it
#: How long a worker streams an item from the row it read without reading it again: a player
#: asks for a range every few milliseconds, and an item deleted by another process (or another
#: worker) stops streaming within this. A write through a worker clears that worker's rows.
ROW_SECONDS = 1.0
#: The attribute by which a WSGI app offers answers to send before WSGI, a callable like
#: :meth:`StreamLane.answer` (:class:`~.server.KeepAliveWorker` looks for it).
FILE_ANSWERS = "file_answers"
Header = tuple[str, str]


def file_headers(file: MediaFile, stat: os.stat_result, *, attachment: bool = False) -> list[Header]:
    """The headers every answer with the file's bytes carries, whichever way it goes out."""
    return list(_file_headers(file, stat.st_ino, stat.st_mtime_ns, stat.st_size, attachment))


@functools.lru_cache(maxsize=1024)  # a player asks for one file's ranges one after another
def _file_headers(
    file: MediaFile, inode: int, mtime_ns: int, size: int, attachment: bool
) -> tuple[Header, ...]:
    return (
        ("Content-Type", get_content_type(file.content_type, "utf-8")),
        ("Accept-Ranges", "bytes"),
        # The ETag changes when the file is rewritten (size, mtime) or replaced by another (inode).
        ("ETag", quote_etag(f"{inode:x}-{mtime_ns:x}-{size:x}")),
        ("Last-Modified", http_date(mtime_ns // 1_000_000_000)),
        ("Cache-Control", CACHE_CONTROL),
        ("Content-Disposition", disposition(file.filename, attachment=attachment)),
    )


def disposition(filename: str, *, attachment: bool) -> str:
    """``inline`` or ``attachment`` with the item's file name, RFC 6266's way for names that
    are not printable ASCII (a plain fallback and the UTF-8 ``filename*``): a line break, which
    a name on Linux may hold, would otherwise end the header."""
    kind = "attachment" if attachment else "inline"
    if filename.isascii() and filename.isprintable():
        return dump_options_header(kind, {"filename": filename})
    plain = "".join(
        filter(str.isprintable, normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii"))
    )
    encoded = quote(filename, safe="!#$&+-.^_`|~")  # RFC 5987 attr-char
    return dump_options_header(kind, {"filename": plain, "filename*": f"UTF-8''{encoded}"})


class RecentRows:
    """The item rows a worker read in the last ``seconds``, at most ``size`` of them."""

    def __init__(self, seconds: float, size: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self.rows: dict[int, tuple[float, MediaFile]] = {}

    def get(self, item_id: int) -> MediaFile | None:
        kept = self.rows.get(item_id)
        return kept[1] if kept is not None and kept[0] > self.clock() else None

    def keep(self, item_id: int, file: MediaFile) -> None:
        if len(self.rows) >= self.size:  # rows live for a second: start afresh, never grow
            self.rows = {}
        self.rows[item_id] = (self.clock() + self.seconds, file)

    def forget(self, item_id: int | None = None) -> None:
        """One item's row, or all of them."""
        if item_id is None:
            self.rows = {}
        else:
            self.rows.pop(item_id, None)


class StreamLane:
    """WSGI middleware in front of the Flask app (``app.wsgi_app``) for the stream route."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.next: WSGIApplication = app.wsgi_app
        self.rows = RecentRows(ROW_SECONDS)
        app.teardown_request(self._forget_after_writes)
        setattr(app, FILE_ANSWERS, self.answer)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.next(environ, start_response)
        return answer.respond(environ, start_response)

    def answer(self, environ: Mapping[str, Any]) -> FileAnswer | None:
        """The request's answer, or None for the view's. ``environ`` needs only the request's
        method, path, query string and headers, in WSGI's names."""
        route = ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        if (
            route is None
            or environ["REQUEST_METHOD"] != "GET"
            or environ.get("QUERY_STRING")
            or not VALIDATORS.isdisjoint(environ)
            or not self._reader_allowed(environ)
        ):
            return None
        item_id = int(route[1])
        try:
            file = self.rows.get(item_id) or self._read_row(item_id)
            file, handle, stat = open_media_file(self.app.extensions["mediacore"], item_id, file)
        except Exception:  # an unknown item, a missing file, the database down...
            self.rows.forget(item_id)
            return None  # ...the view looks again and answers with the JSON error
        try:
            return _file_answer(file, handle, stat, environ.get("HTTP_RANGE"))
        except BaseException:
            handle.close()
            raise

    def _read_row(self, item_id: int) -> MediaFile:
        with borrowed_connection():
            file = file_of(item_id)
        self.rows.keep(item_id, file)
        return file

    def _reader_allowed(self, environ: Mapping[str, Any]) -> bool:
        config = self.app.config
        return not config["MEDIACORE_REQUIRE_AUTH_FOR_READ"] or (
            token_error(environ.get("HTTP_AUTHORIZATION", ""), config["MEDIACORE_TOKENS"]) is None
        )

    def _forget_after_writes(self, _: BaseException | None) -> None:
        """A request that may have changed items (a delete, a refresh, a scan) is answered by
        the view; the rows this worker kept are read again afterwards."""
        if request.method not in {"GET", "HEAD", "OPTIONS"}:
            self.rows.forget()


@dataclass
class FileAnswer:
    """A lane answer: the status and headers, and the bytes of an open file to send."""

    status: str
    headers: list[Header]
    file: BinaryIO
    offset: int
    length: int
    sent: int = field(default=0, init=False)

    def respond(self, environ: WSGIEnvironment, start_response: StartResponse) -> FileBody:
        """The answer through WSGI, its bytes a body gunicorn sends with ``sendfile()`` and any
        other server reads."""
        environ["wsgi.file_wrapper"] = FileBody  # how gunicorn knows a body it can sendfile()
        start_response(self.status, self.headers)
        body = FileBody(self.file)
        body.narrow(self.offset, self.length)
        return body

    def send(self, out: int) -> None:
        """Send the bytes to the socket ``out`` with ``sendfile()``, counting them in
        :attr:`sent` as they go (also for a client that leaves half-way). Fewer than
        :attr:`length` go out only if the file shrank since it was measured: the client must
        then be let go."""
        fd = self.file.fileno()
        while self.sent < self.length:
            sent = os.sendfile(out, fd, self.offset + self.sent, self.length - self.sent)
            if not sent:
                break
            self.sent += sent

    def close(self) -> None:
        self.file.close()


def _file_answer(
    file: MediaFile, handle: BinaryIO, stat: os.stat_result, range_header: str | None
) -> FileAnswer | None:
    headers = file_headers(file, stat)
    ranges = requested_ranges(range_header, stat.st_size)
    if ranges is None:  # none, or one to ignore
        headers.append(("Content-Length", str(stat.st_size)))
        return FileAnswer("200 OK", headers, handle, 0, stat.st_size)
    if len(ranges) != 1:  # several ranges, or none that the file satisfies: the view's 206 or 416
        handle.close()
        return None
    start, stop = ranges[0]
    headers.append(("Content-Length", str(stop - start)))
    headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{stat.st_size}"))
    return FileAnswer("206 Partial Content", headers, handle, start, stop - start)
