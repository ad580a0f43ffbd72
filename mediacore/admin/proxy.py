"""The one way the console talks to the API: forward a request, streaming both bodies.

Uploads of any size pass through without being held in memory or written to disk; status
codes and JSON error bodies come back unchanged; an API that is down or too slow becomes a
502 or 504 JSON error. New admin actions reuse :meth:`ApiClient.forward`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

import requests
from flask import Response, jsonify, stream_with_context

#: Headers that describe one connection, not the message: never forwarded (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
#: Request headers a browser sends that the API should see.
FORWARDED_REQUEST_HEADERS = (
    "Range",
    "If-Range",
    "If-None-Match",
    "If-Modified-Since",
    "Content-Type",
    "Accept",
)
CHUNK = 256 * 1024


def json_error(status: int, code: str, message: str) -> Response:
    """The console's JSON errors have the API's shape, so scripts handle both alike."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


class ApiUnavailable(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return json_error(self.status, self.code, self.message)


class _SizedStream:
    """A request body with a known length: requests sends it with a Content-Length, chunk by
    chunk as it iterates (an object with ``read`` would be sent 8 KiB at a time)."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self.stream, self.length = stream, length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.stream.read(CHUNK):
            yield chunk


class ApiClient:
    def __init__(
        self, base_url: str, token: Callable[[], str | None], *, timeout: float, connect_timeout: float = 5.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token  # asked on each call: the API may generate its token after we start
        self.timeout = (connect_timeout, timeout)
        self.session = requests.Session()

    def _headers(self, incoming: Any = None) -> dict[str, str]:
        headers = {
            name: incoming[name] for name in FORWARDED_REQUEST_HEADERS if incoming and name in incoming
        }
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _send(self, method: str, path: str, **options: Any) -> requests.Response:
        try:
            return self.session.request(
                method, f"{self.base_url}/api/v1{path}", timeout=self.timeout, **options
            )
        except requests.Timeout:
            raise ApiUnavailable(
                504, "api_timeout", f"the API at {self.base_url} did not answer in time"
            ) from None
        except requests.ConnectionError:
            raise ApiUnavailable(
                502, "api_unreachable", f"the API at {self.base_url} cannot be reached"
            ) from None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """For pages the console renders itself: (status, decoded JSON body)."""
        response = self._send("GET", path, params=params, headers=self._headers())
        try:
            return response.status_code, response.json()
        except ValueError:
            raise ApiUnavailable(
                502, "api_bad_answer", f"the API answered {response.status_code} without JSON"
            ) from None

    def forward(
        self,
        method: str,
        path: str,
        *,
        query: bytes = b"",
        headers: Any = None,
        body: IO[bytes] | None = None,
        length: int | None = None,
    ) -> Response:
        """Send the browser's request on to the API and stream the API's answer back unchanged."""
        data: Any = None
        if body is not None:
            data = _SizedStream(body, length) if length is not None else iter(lambda: body.read(CHUNK), b"")
        url_path = path + (f"?{query.decode('latin-1')}" if query else "")
        upstream = self._send(method, url_path, headers=self._headers(headers), data=data, stream=True)
        passed = [
            (name, value) for name, value in upstream.raw.headers.items() if name.lower() not in HOP_BY_HOP
        ]
        if "Content-Length" in upstream.headers and "Content-Encoding" not in upstream.headers:
            passed.append(("Content-Length", upstream.headers["Content-Length"]))

        def relay() -> Iterator[bytes]:
            try:
                yield from upstream.raw.stream(CHUNK, decode_content=False)
            finally:
                upstream.close()

        return Response(
            stream_with_context(relay()), status=upstream.status_code, headers=passed, direct_passthrough=True
        )
