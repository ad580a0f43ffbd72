"""4. Streaming a large file through GET /stream, whole and as 1 MiB ranges, vs nginx serving the
same file from the same disk (Debian's nginx, started here on loopback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import requests
from common import Figure, api_server, environment, free_port, write_config

MIB = 1024 * 1024


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
    """Seconds to read the file as consecutive 1 MiB range requests over one connection."""
    session = requests.Session()
    start = time.perf_counter()
    for offset in range(0, size, MIB):
        response = session.get(
            url, headers={"Range": f"bytes={offset}-{min(size, offset + MIB) - 1}"}, timeout=60
        )
        assert response.status_code == 206, response.status_code
    return time.perf_counter() - start


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
    for _ in range(50):
        try:
            requests.get(base, timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
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
    try:
        with api_server(environment(work, config), work / "api.log") as (base, _):
            url = f"{base}/api/v1/media/{item_id}/stream"
            times = {
                "mediacore whole": min(whole(url) for _ in range(3)),
                "nginx whole": min(whole(f"{nginx_base}/big.mkv") for _ in range(3)),
                "mediacore ranges": min(ranges(url, size) for _ in range(2)),
                "nginx ranges": min(ranges(f"{nginx_base}/big.mkv", size) for _ in range(2)),
            }
    finally:
        server.terminate()
        server.wait(timeout=10)
    mib = size / MIB
    rate = {name: mib / seconds for name, seconds in times.items()}
    return [
        Figure(
            f"stream {mib:.0f} MiB whole",
            rate["mediacore whole"],
            "MiB/s",
            rate["nginx whole"],
            "nginx",
            ">= 0.8x nginx",
            rate["mediacore whole"] >= 0.8 * rate["nginx whole"],
        ),
        Figure(
            f"stream {mib:.0f} MiB as 1 MiB ranges",
            rate["mediacore ranges"],
            "MiB/s",
            rate["nginx ranges"],
            "nginx",
            ">= 0.8x nginx",
            rate["mediacore ranges"] >= 0.8 * rate["nginx ranges"],
        ),
    ]
