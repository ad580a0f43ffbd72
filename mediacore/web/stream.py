"""``GET /api/v1/media/<id>/stream``: a player's requests answered in front of Flask.

A player reads a film as one range request after another. Through Flask and werkzeug's
``send_file`` each one took ~0.5 ms of Python (a request context, routing, the
conditional-request machinery, a dozen header objects), nearly what nginx takes to answer a
1 MiB range whole (bench/RESULTS.md). :class:`StreamLane` answers the common request (a GET
with one plain byte range or none, no validators, no query string) itself, with the same
lookup and the same headers, in ~0.15 ms. Every other request to the route (HEAD, If-Range,
If-None-Match, ``?download``, an unsatisfiable range, an unknown item, a missing token) goes on
to the Flask view, which answers them all: the lane can make an answer faster, never different.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO
from unicodedata import normalize
from urllib.parse import quote

from flask import Flask
from werkzeug.http import dump_options_header, http_date, parse_range_header, quote_etag
from werkzeug.utils import get_content_type

from ..db import borrowed_connection
from ..library import MediaFile, open_media_file
from .auth import token_error
from .files import FileBody

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
Header = tuple[str, str]


def file_headers(file: MediaFile, stat: os.stat_result, *, attachment: bool = False) -> list[Header]:
    """The headers every answer with the file's bytes carries, whichever way it goes out."""
    return [
        ("Content-Type", get_content_type(file.content_type, "utf-8")),
        ("Accept-Ranges", "bytes"),
        ("ETag", quote_etag(file_etag(stat))),
        ("Last-Modified", http_date(stat.st_mtime)),
        ("Cache-Control", CACHE_CONTROL),
        ("Content-Disposition", disposition(file.filename, attachment=attachment)),
    ]


def file_etag(stat: os.stat_result) -> str:
    """Changes when the file is rewritten (size, mtime) or replaced by another (inode)."""
    return f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"


def disposition(filename: str, *, attachment: bool) -> str:
    """``inline`` or ``attachment`` with the item's file name, RFC 6266's way for names that
    are not ASCII (a plain fallback and the UTF-8 ``filename*``)."""
    kind = "attachment" if attachment else "inline"
    if filename.isascii():
        return dump_options_header(kind, {"filename": filename})
    plain = normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    encoded = quote(filename, safe="!#$&+-.^_`|~")  # RFC 5987 attr-char
    return dump_options_header(kind, {"filename": plain, "filename*": f"UTF-8''{encoded}"})


class StreamLane:
    """WSGI middleware in front of the Flask app (``app.wsgi_app``) for the stream route."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.next: WSGIApplication = app.wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.next(environ, start_response)
        status, headers, body = answer
        environ["wsgi.file_wrapper"] = FileBody  # how gunicorn knows a body it can sendfile()
        start_response(status, headers)
        return body

    def answer(self, environ: WSGIEnvironment) -> tuple[str, list[Header], FileBody] | None:
        """The status, headers and body of the request's answer, or None for the view's."""
        route = ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        if (
            route is None
            or environ["REQUEST_METHOD"] != "GET"
            or environ.get("QUERY_STRING")
            or not VALIDATORS.isdisjoint(environ)
            or not self._reader_allowed(environ)
        ):
            return None
        try:
            with borrowed_connection():
                file, handle, stat = open_media_file(self.app.extensions["mediacore"], int(route[1]))
        except Exception:  # an unknown item, a missing file, the database down...
            return None  # ...the view looks again and answers with the JSON error
        try:
            return _file_answer(file, handle, stat, environ.get("HTTP_RANGE"))
        except BaseException:
            handle.close()
            raise

    def _reader_allowed(self, environ: WSGIEnvironment) -> bool:
        config = self.app.config
        return not config["MEDIACORE_REQUIRE_AUTH_FOR_READ"] or (
            token_error(environ.get("HTTP_AUTHORIZATION", ""), config["MEDIACORE_TOKENS"]) is None
        )


def _file_answer(
    file: MediaFile, handle: BinaryIO, stat: os.stat_result, range_header: str | None
) -> tuple[str, list[Header], FileBody] | None:
    headers = file_headers(file, stat)
    body = FileBody(handle)
    requested = parse_range_header(range_header) if range_header else None
    if requested is None or requested.units != "bytes":  # none, or one to ignore (RFC 9110)
        headers.append(("Content-Length", str(stat.st_size)))
        return "200 OK", headers, body
    bounds = requested.range_for_length(stat.st_size)
    if bounds is None:  # several ranges, or none that the file satisfies: the view's 206 or 416
        handle.close()
        return None
    start, stop = bounds
    body.narrow(start, stop - start)
    headers.append(("Content-Length", str(stop - start)))
    headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{stat.st_size}"))
    return "206 Partial Content", headers, body
