"""Running the API under gunicorn: threaded workers that answer a kept-alive connection's next
request in the same thread, and send files and byte ranges with sendfile()."""

from __future__ import annotations

import gc
import select
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from . import create_app

#: How long a worker thread waits on a kept-alive connection for its next request before it
#: hands the connection back to the poller. A player asking for one range after another, or a
#: client paging through a list, sends it within a fraction of this.
LINGER_MS = 2.0


class KeepAliveWorker(ThreadWorker):
    """gunicorn's threaded worker, answering a kept-alive connection's next request in the same
    thread when it comes at once.

    gthread hands a connection back to its main thread's poller after every response, and its
    next request goes from the poller to a pool thread again: two thread hand-offs per request,
    which cost more than nginx's whole answer to a 1 MiB range (bench/RESULTS.md). Here the
    thread waits up to :data:`LINGER_MS` for the next request and answers it itself, unless
    another connection is waiting for a thread: a busy client must not starve the others. A
    connection that stays quiet goes back to the poller as before, so an idle client holds no
    thread for longer than that.
    """

    def handle(self, conn: Any) -> Any:
        keepalive = super().handle(conn)
        while (
            keepalive is True
            and self.alive
            and not self._others_waiting()
            and _next_request_within(conn, LINGER_MS)
        ):
            keepalive = super().handle(conn)
        return keepalive

    def _others_waiting(self) -> bool:
        """Whether a connection is queued for a thread of this worker's pool (when the pool
        does not say, assume one is and keep gthread's own behaviour)."""
        queue = getattr(self.tpool, "_work_queue", None)
        return queue is None or not queue.empty()


def _next_request_within(conn: Any, milliseconds: float) -> bool:
    if conn.parser.unreader.buf.getvalue():  # pipelined, or read ahead while draining a body
        return True
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(milliseconds))


class AccessLogger(Logger):
    """gunicorn's logger, writing its default access line (Apache's combined format) for less.

    For each line gunicorn copies every request header, response header and environ entry
    into a dictionary, so that a custom ``access_log_format`` may name any of them: ~45 µs a
    request, a twentieth of answering a 1 MiB range. ``mediacore serve`` logs the
    default format only; here it is built from the few values it shows (~20 µs).
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        request, referer, agent = (
            value.replace('"', '\\"')  # as gunicorn does, so that a client cannot end the field
            for value in (line, environ.get("HTTP_REFERER", "-"), environ.get("HTTP_USER_AGENT", "-"))
        )
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        address, now, sent = environ.get("REMOTE_ADDR", "-"), self.now(), resp.sent
        self.access_log.info(
            '%s - - %s "%s" %s %s "%s" "%s"', address, now, request, status, sent, referer, agent
        )


class _Gunicorn(BaseApplication):
    def __init__(self, app_factory: Any, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = self.app_factory()
        # Loaded once in the master (preload_app) and shared with the forked workers: frozen, the
        # objects it made are left out of every garbage collection, whose full passes would
        # otherwise walk them all (~30 ms a pass, a pause for whatever the worker is answering)
        # and write to their pages, which then stop being shared with the other workers.
        gc.freeze()
        return app


def serve(
    app_factory: Callable[[], Any], *, host: str, port: int, workers: int, threads: int, timeout: int = 120
) -> None:
    """Run a WSGI app factory under gunicorn's threaded workers (:class:`KeepAliveWorker`); the
    API and the console both use it."""
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": KeepAliveWorker,
        "preload_app": True,  # one token file, one migration, and a config error stops start-up once
        "timeout": timeout,
        "graceful_timeout": 10,
        "accesslog": "-",
        "logger_class": AccessLogger,
    }
    _Gunicorn(app_factory, options).run()


def serve_api(
    config_path: str | None, database_url: str | None, *, host: str, port: int, workers: int, threads: int
) -> None:
    settings = {"MEDIACORE_CONFIG": config_path, "MEDIACORE_DATABASE_URL": database_url}
    overrides = {key: value for key, value in settings.items() if value}
    serve(lambda: create_app(overrides), host=host, port=port, workers=workers, threads=threads)
