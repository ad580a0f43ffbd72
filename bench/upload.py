"""5. A large upload through POST /media/upload vs a raw HTTP sink (a minimal server here that
writes the request body to the same disk without parsing it) driven by the same client, and vs
``cp``; and the upload server's peak memory, at two sizes to show it does not grow with the file."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests
from common import (
    TOKEN,
    Figure,
    api_server,
    children,
    environment,
    free_port,
    peak_rss_mib,
    server,
    write_config,
)

MIB = 1024 * 1024
BOUNDARY = "mediacore-bench-boundary"
SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        remaining = int(self.headers["Content-Length"])
        with open(sys.argv[2], "wb") as out:
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                out.write(chunk)
                remaining -= len(chunk)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


def make_video(path: Path, size: int) -> None:
    """A real MP4 (so the upload is accepted) padded with data after its last box to ``size``."""
    from mediacore.samples import write_video

    write_video(path, seconds=1.0)
    with open(path, "ab") as handle:
        block = os.urandom(8 * MIB)
        remaining = size - path.stat().st_size
        while remaining > 0:
            handle.write(block[: min(remaining, len(block))])
            remaining -= len(block)


def post_multipart(
    base: str,
    path: Path,
    *,
    token: str | None,
    route: str = "/api/v1/media/upload",
    extra_headers: dict[str, str] | None = None,
) -> tuple[float, int]:
    """Stream a multipart body with a Content-Length; returns (seconds, status)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="category"\r\n\r\nmovies\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(extra_headers or {})
    start = time.perf_counter()
    connection.putrequest("POST", route)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(head)
    with open(path, "rb") as handle:
        while chunk := handle.read(MIB):
            connection.send(chunk)
    connection.send(tail)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, response.status


def through_console(work: Path, env: dict[str, str], api_base: str, source: Path) -> tuple[float, float]:
    """The same upload through `mediacore admin`: (seconds, the console worker's peak MiB)."""
    console_env = {**env, "FLASK_API_BASE_URL": api_base, "MEDIACORE_ADMIN_PASSWORD": "bench"}
    with server("admin", console_env, work / "admin.log", "/login", workers=1, threads=4) as (base, master):
        session = requests.Session()
        token = re.search(r'name="csrf-token" content="([^"]+)"', session.get(f"{base}/login").text)
        session.post(
            f"{base}/login", data={"password": "bench", "csrf_token": token.group(1) if token else ""}
        )
        page = session.get(f"{base}/upload").text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf, "login to the console failed"
        cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
        renamed = source.with_name("Via Console (2024).mp4")
        os.link(source, renamed)
        os.sync()
        seconds, status = post_multipart(
            base,
            renamed,
            token=None,
            route="/admin/media/upload",
            extra_headers={"Cookie": cookie, "X-CSRF-Token": csrf.group(1)},
        )
        assert status == 201, status
        return seconds, max(peak_rss_mib(pid) for pid in children(master))


def run(work: Path, size: int) -> list[Figure]:
    root = work / "media"
    root.mkdir(parents=True)
    source = work / "source" / "Upload Bench (2024).mp4"
    source.parent.mkdir()
    small = work / "source" / "Small Bench (2024).mp4"
    make_video(source, size)
    make_video(small, max(size // 8, 16 * MIB))
    config = write_config(work, {"movies": {"root_path": str(root), "media_type": "video"}})
    env = environment(work, config, MEDIACORE_MAX_UPLOAD_BYTES=str(4 * size))

    def raw_sink() -> float:
        port = free_port()
        sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(root / "sink.bin")])
        time.sleep(0.5)
        try:
            os.sync()  # every transfer starts with no dirty pages from the one before
            seconds, status = post_multipart(f"http://127.0.0.1:{port}", source, token=None)
            assert status == 201
        finally:
            sink.terminate()
            sink.wait()
        os.remove(root / "sink.bin")
        return seconds

    raw = raw_sink()
    os.sync()
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(root / "cp.bin")], check=True)
    copy = time.perf_counter() - start
    os.remove(root / "cp.bin")

    with api_server(env, work / "api.log", workers=1, threads=4) as (base, master):
        _small_time, status = post_multipart(base, small, token=TOKEN)
        assert status == 201, status
        workers = children(master)
        small_peak = max(peak_rss_mib(pid) for pid in workers)
        os.sync()
        elapsed, status = post_multipart(base, source, token=TOKEN)
        assert status == 201, status
        peak = max(peak_rss_mib(pid) for pid in workers)
        proxied, proxy_peak = through_console(work, env, base, source)
    raw = min(raw, raw_sink())  # the sink's best of two, one on each side of the upload
    mib = size / MIB
    return [
        Figure(
            f"upload {mib:.0f} MiB",
            mib / elapsed,
            "MiB/s",
            mib / raw,
            "raw HTTP sink",
            ">= 0.6x the raw sink",
            mib / elapsed >= 0.6 * mib / raw,
            {"cp_mib_s": mib / copy, "seconds": elapsed},
        ),
        Figure(
            f"upload {mib:.0f} MiB: server peak memory",
            peak,
            "MiB",
            small_peak,
            f"peak after a {small.stat().st_size // MIB} MiB upload",
            "< 150 MiB, flat in file size",
            peak < 150 and peak - small_peak < 20,
        ),
        Figure(
            f"upload {mib:.0f} MiB through the admin console's proxy",
            mib / proxied,
            "MiB/s",
            mib / elapsed,
            "direct to the API",
            "(context)",
        ),
        Figure(
            f"upload {mib:.0f} MiB via the console: proxy peak memory",
            proxy_peak,
            "MiB",
            target="< 150 MiB (nothing buffered)",
            holds=proxy_peak < 150,
        ),
        Figure(
            f"copy {mib:.0f} MiB with cp (context)",
            mib / copy,
            "MiB/s",
            mib / raw,
            "raw HTTP sink",
            "(context)",
        ),
    ]
