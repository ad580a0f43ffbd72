"""The least a WSGI app can do to answer a byte range: open the file and hand it to the server's
sendfile(). Run under gunicorn with `mediacore serve`'s settings, it is the ceiling for any
Python app on that server, so the streaming bench can tell the server's cost from mediacore's."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

PATH = os.environ.get("BENCH_FILE", "")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    first, last = (int(end) for end in environ["HTTP_RANGE"].removeprefix("bytes=").split("-"))
    file = open(PATH, "rb")  # noqa: SIM115 - the server closes the body it is given
    file.seek(first)
    start_response("206 Partial Content", [("Content-Length", str(last - first + 1))])
    body: Iterable[bytes] = environ["wsgi.file_wrapper"](file)
    return body
