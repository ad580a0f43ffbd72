"""Shared pieces of the benchmarks: timing, servers on loopback, library fixtures, the report."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

TOKEN = "bench-token"


@dataclass
class Figure:
    """One measured figure, with the baseline measured in the same run and the target."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    holds: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    def line(self, *, judged: bool = True) -> str:
        """The figure as printed; ``judged`` False for a run at other sizes than the targets'."""
        ratio = (
            f"  = {self.ratio:.2f}x {self.baseline_name} ({self.baseline:.4g} {self.unit})"
            if self.ratio
            else ""
        )
        if self.holds is None:
            verdict = ""
        elif not judged:
            verdict = "  [judged at full size only]"
        else:
            verdict = "  [target holds]" if self.holds else "  [TARGET MISSED]"
        return f"{self.name:<46} {self.value:>10.4g} {self.unit}{ratio}  target: {self.target}{verdict}"


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def best_of(runs: int, function: Callable[[], Any]) -> float:
    return min(timed(function)[0] for _ in range(runs))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def wait_until_up(
    url: str,
    process: subprocess.Popen[Any],
    log: Path,
    *,
    status: int | None = 200,
    headers: dict[str, str] | None = None,
) -> None:
    """Poll ``url`` until it answers (with ``status``, or anything when None); a server that
    exits or stays silent for a minute is an error that shows its log."""
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = requests.get(url, headers=headers, timeout=1)
            if status is None or answer.status_code == status:
                return
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"no server answered at {url}:\n" + (log.read_text() if log.exists() else ""))
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(base: Path, categories: dict[str, dict[str, Any]]) -> Path:
    path = base / "watch_media_dirs.yml"
    path.write_text(yaml.safe_dump({"version": 2, "categories": categories}), encoding="utf-8")
    return path


def environment(base: Path, config: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MEDIACORE_CONFIG": str(config),
        "MEDIACORE_DATA_DIR": str(base / "data"),
        "MEDIACORE_LOG_DIR": str(base / "logs"),
        "MEDIACORE_API_TOKEN": TOKEN,
        **extra,
    }
    if database_url:
        env["MEDIACORE_DATABASE_URL"] = database_url
    return env


@contextmanager
def server(
    command: str,
    env: dict[str, str],
    log: Path,
    ready_path: str,
    *,
    workers: int | None = None,
    threads: int | None = None,
) -> Iterator[tuple[str, int]]:
    """`mediacore serve` or `mediacore admin` on a free port, with its default processes and
    threads unless given; yields (base URL, master pid)."""
    port = free_port()
    arguments = [command, "--port", str(port)]
    arguments += ["--workers", str(workers)] if workers else []
    arguments += ["--threads", str(threads)] if threads else []
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "mediacore", *arguments], env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + ready_path, process, log)
    try:
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def api_server(
    env: dict[str, str], log: Path, *, workers: int | None = None, threads: int | None = None
) -> Any:
    return server("serve", env, log, "/api/v1/health", workers=workers, threads=threads)


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds used so far by a server: its process and its children (the
    workers), every thread of each."""
    user = system = 0.0
    for process in (pid, *children(pid)):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        user, system = user + int(fields[11]), system + int(fields[12])  # utime, stime
    ticks = os.sysconf("SC_CLK_TCK")
    return user / ticks, system / ticks


class Steal:
    """The share of the machine's CPU time its host took since this was made: on a virtual
    machine, time the hypervisor gave to another guest while this one had work to run
    (``steal`` in /proc/stat; always 0 on bare metal). A slow spell with a high share is the
    host's, not the code's."""

    def __init__(self) -> None:
        self.start = _cpu_ticks()

    def percent(self) -> float:
        (total, stolen), (total_before, stolen_before) = _cpu_ticks(), self.start
        total, stolen = total - total_before, stolen - stolen_before
        return 100 * stolen / total if total else 0.0


def _cpu_ticks() -> tuple[int, int]:
    """All CPU ticks counted so far and the stolen ones among them."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[7]  # user nice system idle iowait irq softirq steal


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def python_loop_us() -> float:
    """Microseconds the interpreter takes for a fixed loop (``sum(range(1000))``, best of 5).
    The same kind of virtual machine has answered the listing bench's searches three times
    slower on one day than on another (bench/RESULTS.md): this tells what kind of day it was."""
    runs = timeit.repeat("sum(range(1000))", number=20_000, repeat=5)
    return min(runs) / 20_000 * 1e6


def write_report(figures: list[Figure], path: Path, quick: bool, **context: Any) -> None:
    """The report: the machine, the figures, and what else the run measured about the machine
    (``context``: the steal in each part, the interpreter's speed)."""
    report = {
        "quick": quick,
        "machine": machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **context,
        "figures": [{**asdict(figure), "ratio": figure.ratio} for figure in figures],
    }
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
