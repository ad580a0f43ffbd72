"""The least a WSGI app can do to answer a byte range: open the file and hand it to the server's
sendfile(). Run under gunicorn with `mediacore serve`'s worker and settings, it is the ceiling
for any Python app on that server, so the streaming bench can tell the server's cost from
mediacore's. Like mediacore's app, it offers its answers to the worker to send before WSGI
(`file_answers`); the WSGI app answers the same for any other server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mediacore.web.stream import FileAnswer

PATH = os.environ.get("BENCH_FILE", "")


def answer(environ: Mapping[str, Any]) -> FileAnswer:
    first, last = (int(end) for end in environ["HTTP_RANGE"].removeprefix("bytes=").split("-"))
    length = last - first + 1
    file = open(PATH, "rb", buffering=0)  # noqa: SIM115 - the answer closes it
    return FileAnswer("206 Partial Content", [("Content-Length", str(length))], file, first, length)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    return answer(environ).respond(environ, start_response)


app.file_answers = answer  # type: ignore[attr-defined]
