"""A load client run as its own process: N threads, one keep-alive connection each, fixed
number of requests per URL; prints per-URL latencies (ms) as JSON."""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def worker(host: str, port: int, path: str, count: int, out: list[float], errors: list[str]) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            errors.append(f"{path}: {response.status}")
    connection.close()


def main() -> None:
    base, concurrency, per_thread, *paths = sys.argv[1:]
    parts = urlsplit(base)
    results = {}
    for path in paths:
        latencies: list[float] = []
        errors: list[str] = []
        warm = threading.Thread(target=worker, args=(parts.hostname, parts.port, path, 3, [], errors))
        warm.start()
        warm.join()
        threads = [
            threading.Thread(
                target=worker, args=(parts.hostname, parts.port, path, int(per_thread), latencies, errors)
            )
            for _ in range(int(concurrency))
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results[path] = {
            "latencies": latencies,
            "seconds": time.perf_counter() - started,
            "errors": errors[:5],
        }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
