"""4. Streaming a large file through GET /stream, whole and as 1 MiB ranges, vs nginx serving the
same file from the same disk (Debian's nginx, started here on loopback).

The clients are faster than the servers, so the servers are what is measured: curl for whole
files, wrk for ranges (a Python client spends ~5 ms of CPU on each 1 MiB response, more than
either server; its figure is reported beside). The same ranges from a bare WSGI app under gunicorn
show how much of the gap is the server's, not mediacore's. The three answer ranges in turns, a
few seconds each, round after round, and each is judged against nginx in the same round
(seconds apart), by the median of those ratios. This virtual machine's host takes anything
from none to a third of its CPU time, for a minute at a time (steal), and a round it took
more than a few percent of is slower by up to half, more so for the server with the most
CPU per range: such rounds measure the host, so the bench runs rounds until it has
:data:`ROUNDS` quiet ones (or has run :data:`MAX_ROUNDS`) and judges on those. The CPU each
server spends on a range (its processes' user and system time) says where a gap is: in the
kernel, which sends the bytes, or in the server's own code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from common import (
    Figure,
    Steal,
    api_server,
    cpu_seconds,
    environment,
    free_port,
    median,
    wait_until_up,
    write_config,
)

from mediacore.cli import default_api_workers

MIB = 1024 * 1024
ROUNDS = 6  # quiet rounds of wrk's ranges, each server in turn, the figures are judged on
MAX_ROUNDS = 18  # rounds run at most while waiting for those
ROUND_SECONDS = 3
STEAL_LIMIT = 5.0  # the most of the CPU time (%) the host may take during a quiet round


def make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * MIB)
    with open(path, "wb") as handle:
        for offset in range(0, size, len(block)):
            handle.write(block[: min(len(block), size - offset)])


def register(config_path: Path, path: Path) -> int:
    from mediacore.bootstrap import open_library
    from mediacore.models import MediaItem, database, utcnow

    open_library(config_path)
    info = path.stat()
    with database.connection_context():
        now = utcnow()
        return int(
            MediaItem.insert(
                category="movies",
                path=str(path),
                relative_path=path.name,
                filename=path.name,
                extension="mkv",
                media_type="video",
                mime_type="video/x-matroska",
                title="big",
                size_bytes=info.st_size,
                mtime=info.st_mtime,
                created_at=now,
                updated_at=now,
                metadata={},
            ).execute()
        )


def whole(url: str) -> float:
    """Seconds to download the whole file; curl when present (a client faster than the servers)."""
    curl = shutil.which("curl")
    start = time.perf_counter()
    if curl:
        subprocess.run([curl, "-sf", "-o", "/dev/null", url], check=True)
    else:
        with requests.get(url, stream=True, timeout=60) as response:
            for _ in response.iter_content(MIB):
                pass
    return time.perf_counter() - start


def ranges(url: str, size: int) -> float:
    """MiB/s reading the file as consecutive 1 MiB range requests over one connection (requests)."""
    session = requests.Session()
    start = time.perf_counter()
    for offset in range(0, size, MIB):
        response = session.get(
            url, headers={"Range": f"bytes={offset}-{min(size, offset + MIB) - 1}"}, timeout=60
        )
        assert response.status_code == 206, response.status_code
    return size / MIB / (time.perf_counter() - start)


RANGES_LUA = """
local offset, size, step = 0, %d, %d
request = function()
  local headers = {Range = "bytes=" .. offset .. "-" .. (offset + step - 1)}
  offset = (offset + step) %% size
  return wrk.format("GET", nil, headers)
end
"""


def ranges_wrk(url: str, size: int, work: Path) -> tuple[int, float]:
    """Consecutive 1 MiB ranges over one connection for a round, from wrk: (requests, seconds)."""
    script = work / "ranges.lua"
    script.write_text(RANGES_LUA % (size - size % MIB, MIB))
    output = subprocess.run(
        ["wrk", "-t1", "-c1", f"-d{ROUND_SECONDS}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"(\d+) requests in ([\d.]+)s", output)
    if not found or "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return int(found[1]), float(found[2])


@dataclass
class Ranges:
    """One server's rounds of 1 MiB ranges: MiB/s, its CPU per range in ms, and the share of
    the CPU time the host took during each round (%)."""

    rates: list[float] = field(default_factory=list)
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {"user": [], "system": []})
    steal: list[float] = field(default_factory=list)

    def details(self) -> dict[str, object]:
        return {
            "rounds_mib_per_second": self.rates,
            "cpu_ms_per_range": self.cpu_ms,
            "steal_percent": self.steal,
        }


def quiet_rounds(turns: dict[str, Ranges]) -> list[int]:
    """The rounds during which the host took little CPU time from any of the servers' turns."""
    rounds = len(next(iter(turns.values())).rates)
    return [round_ for round_ in range(rounds) if all(r.steal[round_] <= STEAL_LIMIT for r in turns.values())]


def ranges_in_turns(servers: dict[str, tuple[str, int]], size: int, work: Path) -> dict[str, Ranges]:
    """Each server (name: its URL and its master's pid) answers ranges for a while, in turn."""
    measured = {name: Ranges() for name in servers}
    for _ in range(MAX_ROUNDS):
        if len(quiet_rounds(measured)) >= ROUNDS:
            break
        for name, (url, pid) in servers.items():
            steal, (user, system) = Steal(), cpu_seconds(pid)
            requests_sent, seconds = ranges_wrk(url, size, work)
            user_after, system_after = cpu_seconds(pid)
            measured[name].steal.append(steal.percent())
            measured[name].rates.append(requests_sent / seconds)  # each response is one MiB
            measured[name].cpu_ms["user"].append((user_after - user) * 1000 / requests_sent)
            measured[name].cpu_ms["system"].append((system_after - system) * 1000 / requests_sent)
    return measured


@contextmanager
def bare_gunicorn(path: Path, work: Path) -> Iterator[tuple[str, int]]:
    """bench/sendfile_app.py under gunicorn with `mediacore serve`'s worker, processes, threads and log."""
    port = free_port()
    server = "mediacore.web.server"
    command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-k", f"{server}.KeepAliveWorker"]
    command += ["-w", str(default_api_workers()), "--threads", "4"]
    command += ["--access-logfile", "-", "--logger-class", f"{server}.AccessLogger"]
    command += ["--chdir", str(Path(__file__).parent), "sendfile_app:app"]
    with open(work / "bare.log", "w") as log:
        env = {**os.environ, "BENCH_FILE": str(path)}
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(base, process, work / "bare.log", status=206, headers={"Range": "bytes=0-0"})
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def nginx(root: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = work / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # the work folder is private to this user
    conf.write_text(f"""
{user}
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log {work}/nginx-access.log;  # as mediacore serve logs each request, so does nginx
    sendfile on;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)])
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, process, work / "nginx-error.log", status=None)
    return process, base


def run(work: Path, size: int) -> list[Figure]:
    if not shutil.which("nginx"):
        raise RuntimeError("the streaming benchmark needs nginx: apt-get install nginx-light")
    root = work / "media"
    root.mkdir(parents=True)
    big = root / "big.mkv"
    make_file(big, size)
    config = write_config(work, {"movies": {"root_path": str(root), "media_type": "video"}})
    os.environ["MEDIACORE_DATA_DIR"] = str(work / "data")
    item_id = register(config, big)
    server, nginx_base = nginx(root, work)
    mib = size / MIB
    nginx_url = f"{nginx_base}/big.mkv"
    turns: dict[str, Ranges] = {}
    try:
        with api_server(environment(work, config), work / "api.log") as (base, api_pid):
            url = f"{base}/api/v1/media/{item_id}/stream"
            rate = {
                "mediacore whole": mib / min(whole(url) for _ in range(3)),
                "nginx whole": mib / min(whole(nginx_url) for _ in range(3)),
                "mediacore python": max(ranges(url, size) for _ in range(2)),
                "nginx python": max(ranges(nginx_url, size) for _ in range(2)),
            }
            if shutil.which("wrk"):
                with bare_gunicorn(big, work) as bare:
                    servers = {"nginx": (nginx_url, server.pid), "mediacore": (url, api_pid), "bare": bare}
                    turns = ranges_in_turns(servers, size, work)
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures = [against_nginx(f"stream {mib:.0f} MiB whole", rate["mediacore whole"], rate["nginx whole"])]
    if turns:
        figures += ranges_figures(mib, turns)
    else:
        print("wrk is not installed (apt-get install wrk): ranges are read by a Python client")
    python = (rate["mediacore python"], rate["nginx python"])
    if turns:
        figures.append(against_nginx("same, read by requests", *python, targeted=False))
    else:  # the Python client's figure carries the target
        figures.append(against_nginx(f"stream {mib:.0f} MiB as 1 MiB ranges", *python))
    return figures


def against_nginx(name: str, rate: float, nginx: float, *, targeted: bool = True) -> Figure:
    target, holds = (">= 0.8x nginx", rate >= 0.8 * nginx) if targeted else ("", None)
    return Figure(name, rate, "MiB/s", nginx, "nginx", target, holds)


def ranges_figures(mib: float, turns: dict[str, Ranges]) -> list[Figure]:
    """mediacore and the bare app against nginx round by round (the median of the ratios),
    the servers' median rates, and the medians of their CPU per range, all over the quiet
    rounds (over every round when fewer than half of :data:`ROUNDS` were quiet)."""
    nginx = turns["nginx"]
    quiet = quiet_rounds(turns)
    counted = quiet if len(quiet) >= ROUNDS // 2 else list(range(len(nginx.rates)))
    judged = "judged on those" if counted is quiet else "too few: judged on every round"
    print(f"ranges: {len(quiet)} of {len(nginx.rates)} rounds quiet (steal <= {STEAL_LIMIT:g} %), {judged}")

    def over_counted(values: list[float]) -> float:
        return median([values[round_] for round_ in counted])

    details: dict[str, object] = {name: measured.details() for name, measured in turns.items()}
    details["rounds_counted"] = counted
    paired = {
        name: over_counted([rate / base for rate, base in zip(turns[name].rates, nginx.rates, strict=True)])
        for name in ("mediacore", "bare")
    }
    unit = "x nginx, round by round"
    figures = [
        Figure(
            f"stream {mib:.0f} MiB as 1 MiB ranges",
            paired["mediacore"],
            unit,
            target=">= 0.8x nginx",
            holds=paired["mediacore"] >= 0.8,
            details=details,
        ),
        Figure("same, bare WSGI app under gunicorn", paired["bare"], unit),
    ]
    figures += [
        Figure(
            f"{label} median round",
            over_counted(turns[name].rates),
            "MiB/s",
            over_counted(nginx.rates),
            "nginx's",
        )
        for name, label in (("mediacore", "mediacore's"), ("bare", "the bare app's"))
    ]
    for kind in ("user", "system"):
        nginx_ms = over_counted(nginx.cpu_ms[kind])
        for name, label in (("mediacore", f"server {kind} CPU per range"), ("bare", "same, bare WSGI app")):
            figures.append(Figure(label, over_counted(turns[name].cpu_ms[kind]), "ms", nginx_ms, "nginx"))
    return figures
