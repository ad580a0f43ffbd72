"""Running the API under gunicorn: threaded workers that answer a kept-alive connection's next
request in the same thread, and send files and byte ranges with sendfile()."""

from __future__ import annotations

import errno
import functools
import gc
import os
import re
import select
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from gunicorn import SERVER
from gunicorn.app.base import BaseApplication
from gunicorn.config import PostRequest
from gunicorn.glogging import Logger
from gunicorn.util import http_date, is_ipv6
from gunicorn.workers.gthread import ThreadWorker

from ..errors import AddressUnavailable
from . import create_app
from .balance import RECHECK_SECONDS, WAIT_SECONDS, ConnectionCounts, Slot
from .stream import FILE_ANSWERS, FileAnswer

#: How long a worker thread waits on a kept-alive connection for its next request before it
#: hands the connection back to the poller. A player asking for one range after another, or a
#: client paging through a list, sends it within a fraction of this.
LINGER_MS = 2.0


#: What :class:`KeepAliveWorker` needs of gthread's event loop to spread connections (gunicorn 27).
_EVENT_LOOP = ("set_accept_enabled", "wait_for_and_dispatch_events")
#: Request headers gunicorn acts on before the app sees the request: such a request is its to answer.
_ACTED_ON = frozenset({"EXPECT", "SCRIPT_NAME"})
#: A header value as gunicorn lets an app send it (RFC 9110's field-value characters).
_HEADER_VALUE = re.compile(r"[ \t\x21-\x7e\x80-\xff]*")
#: What the app offers the worker: the answer to a request (its environ's method, path, query string
#: and headers), or None for gunicorn's WSGI path.
FileAnswers = Callable[[dict[str, str]], FileAnswer | None]


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

    A worker holding more connections than another stops accepting for a moment, so that the
    other takes the new connection (:mod:`mediacore.web.balance`): a worker's threads share one
    interpreter lock. This needs gthread's event loop of gunicorn 27 (``set_accept_enabled``);
    with an older one, connections go to whichever worker takes them first, as before.

    A request the app answers with a file (the stream lane's: a player's ranges) the worker
    sends itself, see :meth:`handle_request`.
    """

    cfg: Any  # gunicorn's Config; a SettledConfig once the worker runs
    file_answers: FileAnswers | None = None
    _connections = 0
    slot: Slot | None = None
    _resume_at = 0.0  # while accepting is paused for another worker: when to resume
    _left_once = False  # a connection was left to another worker and may still be waiting

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # in the master, before the fork
        counts = getattr(self.app, "connection_counts", None)
        if isinstance(counts, ConnectionCounts) and all(hasattr(ThreadWorker, name) for name in _EVENT_LOOP):
            self.slot = counts.claim()

    @property
    def nr_conns(self) -> int:
        """gthread's count of the connections this worker holds, published as it changes."""
        return self._connections

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        self._connections = value
        if self.slot is not None and self.booted and self.alive:
            self.slot.publish(value)

    def init_process(self) -> None:
        self.cfg = SettledConfig(self.cfg)  # in the worker, after the fork: the master's is unchanged
        super().init_process()

    def run(self) -> None:
        self.file_answers = self._file_answers()
        if self.slot is not None:
            self.slot.publish(self.nr_conns)  # accepting from now on
        super().run()

    def _file_answers(self) -> FileAnswers | None:
        """The app's answers to send before WSGI (:data:`~.stream.FILE_ANSWERS`), where this
        worker can send them as gunicorn would: ``sendfile()`` allowed and no TLS (it would
        write the file below the encryption), keep-alive on, gthread's loop of gunicorn 27,
        mediacore's access log, no ``post_request`` hook (it would want gunicorn's response),
        no ``SCRIPT_NAME`` (the app would see other paths)."""
        answers = getattr(self.wsgi, FILE_ANSWERS, None)
        usable = (
            self.cfg.sendfile is not False
            and not self.cfg.is_ssl
            and self.cfg.keepalive
            and hasattr(self, "keepalived_conns")
            and isinstance(self.log, AccessLogger)
            and self.cfg.post_request is PostRequest.default
            and not os.environ.get("SCRIPT_NAME")
        )
        return answers if usable and callable(answers) else None

    def handle_request(self, req: Any, conn: Any) -> bool:
        """gunicorn's, except for a request the app answers with a file: that answer the worker
        sends itself, with the headers gunicorn would add, and logs it the same way. gunicorn's
        way to a response (its environ, its response object checking each header, Python's
        ``socket.sendfile``) costs ~0.1 ms of Python, which kept 1 MiB ranges under 0.8x
        nginx's rate (bench/RESULTS.md). Every other request, and every one gunicorn would
        answer otherwise than on a kept-alive HTTP/1.1 connection, goes gunicorn's way."""
        found = self._file_answer(req)
        if found is None:
            return bool(super().handle_request(req, conn))
        environ, answer, head = found
        try:
            self.cfg.pre_request(self, req)
            self.nr += 1
            conn.sock.sendall(head)
            answer.send(conn.sock.fileno())
        finally:
            answer.close()
            self.log.file_access(req, conn.client, environ, answer.status, answer.sent)
        return answer.sent == answer.length  # a file that shrank sent less than promised: let the client go

    def _file_answer(self, req: Any) -> tuple[dict[str, str], FileAnswer, bytes] | None:
        """The app's file answer to ``req``, with the environ it was chosen by and the head to
        send; None for gunicorn's way."""
        if self.file_answers is None or (environ := self._file_request(req)) is None:
            return None
        answer = self.file_answers(environ)
        if answer is None:
            return None
        head = _response_head(answer)
        if head is None:
            answer.close()
            return None
        return environ, answer, head

    def _file_request(self, req: Any) -> dict[str, str] | None:
        """What of a WSGI environ a file answer is chosen by (the method, the path as sent, the
        query string, the headers), for a request gunicorn would answer on a kept-alive HTTP/1.1
        connection and does nothing else for; None for any other."""
        if (
            req.method != "GET"
            or req.version != (1, 1)
            or req.should_close()
            or not self.alive
            or self.nr + 1 >= self.max_requests
            or len(self.keepalived_conns) >= self.max_keepalived
        ):
            return None
        environ = {"REQUEST_METHOD": req.method, "PATH_INFO": req.path, "QUERY_STRING": req.query}
        for name, value in req.headers:
            if name in _ACTED_ON:
                return None
            key = "HTTP_" + name.replace("-", "_")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def accept(self, *args: Any) -> None:
        if self.slot is not None and not self._left_once and self.slot.fewer_elsewhere(self.nr_conns):
            self._resume_at = time.monotonic() + WAIT_SECONDS
            self.set_accept_enabled(False)
            return
        self._left_once = False
        super().accept(*args)

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled and self._resume_at:  # gthread's loop asks on every turn
            if time.monotonic() < self._resume_at and self.slot and self.slot.fewer_elsewhere(self.nr_conns):
                return  # still paused: another worker holds fewer connections
            # Resume. What still waits once the pause is over, no other worker took: take it.
            self._left_once = time.monotonic() >= self._resume_at and any(map(_readable, self.sockets))
            self._resume_at = 0.0
        super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._resume_at:  # look at the others' counts again soon
            timeout = max(0.0, min(timeout, RECHECK_SECONDS, self._resume_at - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)

    def handle_exit(self, sig: Any, frame: Any) -> None:
        super().handle_exit(sig, frame)
        if self.slot is not None:
            self.slot.withdraw()

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


class SettledConfig:
    """A worker's gunicorn settings, each read once.

    gunicorn reads its settings through ``Config.__getattr__`` (a lookup and a method call, ~0.5
    µs) some 26 times a request (``is_ssl``, limits, hooks, ``keepalive``...): ~20 % of the Python
    a 1 MiB range costs (bench/RESULTS.md). Settings do not change in a running worker (a reload
    starts new workers), so each value is kept as read."""

    def __init__(self, cfg: Any) -> None:
        self._cfg = cfg

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cfg, name)
        setattr(self, name, value)
        return value


def _response_head(answer: FileAnswer) -> bytes | None:
    """A file answer's status line and headers as gunicorn writes them on a kept-alive HTTP/1.1
    connection; None if a header value is one gunicorn would refuse to send."""
    lines = [
        f"HTTP/1.1 {answer.status}\r\nServer: {SERVER}\r\n"
        f"Date: {_http_date(int(time.time()))}\r\nConnection: keep-alive\r\n"
    ]
    for name, value in answer.headers:
        if not _HEADER_VALUE.fullmatch(value):
            return None
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        return None


@functools.lru_cache(maxsize=1)
def _http_date(second: int) -> str:
    return str(http_date(second))


def _next_request_within(conn: Any, milliseconds: float) -> bool:
    if conn.parser.unreader.buf.getvalue():  # pipelined, or read ahead while draining a body
        return True
    return _readable(conn.sock, milliseconds)


def _readable(sock: Any, milliseconds: float = 0.0) -> bool:
    """Whether ``sock`` has something to read (a request; on a listener, a connection to
    accept) now or within ``milliseconds``."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(milliseconds))


class AccessLogger(Logger):
    """gunicorn's logger, writing its default access line (Apache's combined format) for less.

    For each line gunicorn copies every request header, response header and environ entry
    into a dictionary, so that a custom ``access_log_format`` may name any of them: ~45 µs a
    request, a twentieth of answering a 1 MiB range. ``mediacore serve`` logs the
    default format only; here it is built from the few values it shows (~20 µs).
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if self.access_log_enabled:
            request = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
            status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
            address = environ.get("REMOTE_ADDR", "-")
            self._line(address, request, status, _sent(resp, environ), environ)

    def file_access(self, req: Any, client: Any, environ: dict[str, str], status: str, sent: int) -> None:
        """The line of an answer :class:`KeepAliveWorker` sent itself, as :meth:`access` writes it."""
        if self.access_log_enabled:
            request = f"{req.method} {req.uri} HTTP/1.1"
            self._line(_remote_address(req, client), request, status.split(None, 1)[0], sent, environ)

    def _line(self, address: str, request: str, status: Any, sent: int, environ: dict[str, Any]) -> None:
        request, referer, agent = (
            value.replace('"', '\\"')  # as gunicorn does, so that a client cannot end the field
            for value in (request, environ.get("HTTP_REFERER", "-"), environ.get("HTTP_USER_AGENT", "-"))
        )
        self.access_log.info(
            '%s - - %s "%s" %s %s "%s" "%s"', address, self.now(), request, status, sent, referer, agent
        )


def _remote_address(req: Any, client: Any) -> str:
    """A request's peer as gunicorn puts it in ``REMOTE_ADDR``: the client a PROXY protocol
    header named, or the connection's peer."""
    proxied = getattr(req, "proxy_protocol_info", None)
    if proxied:
        return str(proxied["client_addr"])
    if isinstance(client, str):
        return client
    return client.decode() if isinstance(client, bytes) else str(client[0])


def _sent(resp: Any, environ: dict[str, Any]) -> int:
    """The body bytes a response sent. gunicorn counts those written from Python only, not a
    file's (or a range's) sent by ``sendfile()``: a body that went out whole that way is its
    Content-Length. One cut short (the client went away) is being logged while its error is
    raised, and counts what gunicorn counted."""
    if (
        resp.sent == 0
        and resp.headers_sent
        and resp.response_length
        and environ["REQUEST_METHOD"] != "HEAD"
        and sys.exc_info()[1] is None
    ):
        return int(resp.response_length)
    return int(resp.sent)


class _Gunicorn(BaseApplication):
    def __init__(self, app_factory: Any, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        self.connection_counts = ConnectionCounts(2 * options["workers"])  # room for restarts
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 25.1 and later listen on one control socket per user ($HOME/.gunicorn):
            # the API and the console (or two libraries) would take it from each other.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        app = self.app_factory()
        # Loaded once in the master (preload_app) and shared with the forked workers: frozen, the
        # objects it made are left out of every garbage collection, whose full passes would
        # otherwise walk them all (~30 ms a pass, a pause for whatever the worker is answering)
        # and write to their pages, which then stop being shared with the other workers.
        gc.freeze()
        return app


def _release_slot(server: Any, worker: Any) -> None:
    """gunicorn's hook, in the master, once a worker has exited."""
    counts = getattr(server.app, "connection_counts", None)
    if isinstance(counts, ConnectionCounts):
        counts.release(getattr(worker, "slot", None))


def serve(
    app_factory: Callable[[], Any], *, host: str, port: int, workers: int, threads: int, timeout: int = 120
) -> None:
    """Run a WSGI app factory under gunicorn's threaded workers (:class:`KeepAliveWorker`); the
    API and the console both use it."""
    check_address(host, port)
    options = {
        "bind": _address(host, port),
        "workers": workers,
        "threads": threads,
        "worker_class": KeepAliveWorker,
        "preload_app": True,  # one token file, one migration, and a config error stops start-up once
        "timeout": timeout,
        "graceful_timeout": 10,
        "accesslog": "-",
        "logger_class": AccessLogger,
        "child_exit": _release_slot,
    }
    _Gunicorn(app_factory, options).run()


def check_address(host: str, port: int) -> None:
    """Raise :class:`AddressUnavailable` when a server could not listen on ``host:port``:
    gunicorn would try five times, a second apart, logging each try, then exit."""
    family = socket.AF_INET6 if is_ipv6(host) else socket.AF_INET  # as gunicorn picks it
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind((host, port))
    except OSError as error:  # socket.gaierror too: a host name that does not resolve
        reason = error.strerror or str(error)
        if error.errno == errno.EADDRINUSE:
            reason += " (another server? choose another with --port)"
        raise AddressUnavailable(f"cannot listen on {_address(host, port)}: {reason}") from None


def _address(host: str, port: int) -> str:
    """``host:port`` as gunicorn's ``bind`` takes it and URLs write it (``[::1]:8000``)."""
    return f"[{host}]:{port}" if is_ipv6(host) else f"{host}:{port}"


def serve_api(
    config_path: str | None, database_url: str | None, *, host: str, port: int, workers: int, threads: int
) -> None:
    settings = {"MEDIACORE_CONFIG": config_path, "MEDIACORE_DATABASE_URL": database_url}
    overrides = {key: value for key, value in settings.items() if value}
    serve(lambda: create_app(overrides), host=host, port=port, workers=workers, threads=threads)
