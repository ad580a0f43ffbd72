"""Fixtures come from ``mediacore.testing`` (the pytest11 plugin plugin authors use too)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from mediacore.testing import TEST_TOKEN


def run_cli(
    *arguments: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the installed ``mediacore`` command in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mediacore", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def cli():
    return run_cli


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def api_server(media_library, tmp_path):
    """`mediacore serve` (gunicorn, 2 workers) on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "MEDIACORE_API_TOKEN": TEST_TOKEN, "MEDIACORE_MAX_UPLOAD_BYTES": str(1024 * 1024)}
    with running(
        ["serve", "--port", str(port), "--workers", "2"],
        env,
        tmp_path / "api.log",
        f"http://127.0.0.1:{port}/api/v1/health",
    ):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def running(
    arguments: list[str],
    env: dict[str, str],
    log_path: Path,
    ready_url: str,
    preexec: Callable[[], None] | None = None,
    module: str = "mediacore",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a mediacore server command (``python -m module``) until the block ends (yields its
    process); fail with its log if it never gets ready.

    ``preexec`` runs in the server's process before it starts (to set a resource limit)."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
    deadline = time.monotonic() + 30
    while not _answers(ready_url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{module} {arguments[0]} did not start:\n" + log_path.read_text())
        time.sleep(0.2)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1, allow_redirects=False).status_code < 500
    except requests.ConnectionError:
        return False
