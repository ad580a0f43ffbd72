"""A WSGI app for tests of :class:`~mediacore.web.server.KeepAliveWorker`'s file answers: it
answers every request with bytes of ``ANSWERS_FILE`` (a range of them when asked), its offer to
the worker and its WSGI app alike except for the header saying which of the two answered.

``?longer`` promises 100 bytes more than the file holds; ``?bad-header`` adds a header value
with a line break in it, which gunicorn refuses to send."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mediacore.web.stream import FileAnswer

PATH = os.environ.get("ANSWERS_FILE", "")


def answer(environ: Mapping[str, Any], by: str) -> FileAnswer:
    first, last = 0, os.path.getsize(PATH) - 1
    if "HTTP_RANGE" in environ:
        first, last = (int(end) for end in environ["HTTP_RANGE"].removeprefix("bytes=").split("-"))
    length = last - first + 1 + (100 if environ.get("QUERY_STRING") == "longer" else 0)
    headers = [("Content-Length", str(length)), ("X-Answered-By", by)]
    if environ.get("QUERY_STRING") == "bad-header":
        headers.append(("X-Bad", "a\nb"))
    status = "206 Partial Content" if "HTTP_RANGE" in environ else "200 OK"
    return FileAnswer(status, headers, open(PATH, "rb", buffering=0), first, length)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return answer(environ, "wsgi").respond(environ, start_response)


app.file_answers = lambda environ: answer(environ, "worker")  # type: ignore[attr-defined]
