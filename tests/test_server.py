"""The API through a real gunicorn server on loopback, driven by real clients (requests, curl, ffmpeg)."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from conftest import free_port, running
from test_api import LANE_REQUESTS

from mediacore.models import MediaItem, database
from mediacore.testing import TEST_TOKEN, ffmpeg_binary

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def upload(base: str, name: str, content: Any, **fields: str) -> requests.Response:
    """POST a file (bytes or an open file) as curl -F would send it."""
    return requests.post(
        f"{base}/api/v1/media/upload",
        headers=AUTH,
        files={"file": (name, content, "video/mp4")},
        data=fields,
        timeout=60,
    )


def test_upload_list_stream_seek_and_delete_over_http(api_server, media_library, media_factory, tmp_path):
    clip = media_factory.video(tmp_path / "clip.mp4", seconds=4)
    with open(clip, "rb") as handle:
        response = upload(
            api_server, "Upload Clip (2020).mp4", handle, category="movies", uploaded_by="curl-user"
        )
    assert response.status_code == 201, response.text
    item = response.json()
    listed = requests.get(f"{api_server}/api/v1/media", params={"q": "upload clip"}, timeout=10).json()
    assert [entry["id"] for entry in listed["items"]] == [item["id"]]

    stream_url = api_server + item["stream_url"]
    curl = shutil.which("curl")
    if curl:  # curl is on every machine this project targets; the check below needs no second path
        ranged = subprocess.run([curl, "-sf", "--range", "0-99", stream_url], capture_output=True, check=True)
        assert ranged.stdout == clip.read_bytes()[:100]
    ranged = requests.get(stream_url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == clip.read_bytes()[100:200]

    probe = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-i", stream_url, "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    frame = tmp_path / "seek.png"
    seek = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-ss", "3", "-i", stream_url, "-frames:v", "1", str(frame)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert seek.returncode == 0 and frame.stat().st_size > 0, seek.stderr

    poster = requests.get(api_server + item["poster_url"], timeout=30)
    assert poster.status_code == 200 and poster.headers["X-Poster-Source"] == "frame"

    scan = requests.post(
        f"{api_server}/api/v1/admin/media/maintenance-scan", json={}, headers=AUTH, timeout=60
    ).json()
    assert scan["totals"]["unchanged"] == 1 and scan["totals"]["added"] == 0

    deleted = requests.delete(
        f"{api_server}/api/v1/media/{item['id']}", params={"delete_file": "true"}, headers=AUTH, timeout=10
    )
    assert deleted.json() == {"id": item["id"], "deleted": "hard", "file_deleted": True}
    assert not os.path.exists(item["path"])
    gone = requests.get(f"{api_server}/api/v1/media/{item['id']}", timeout=10)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_oversized_uploads_get_a_413_the_client_can_read(api_server, media_library):
    big = os.urandom(3 * 1024 * 1024)
    declared = upload(api_server, "big.mp4", big)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def chunks():
        boundary_start = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n"
        )
        yield boundary_start
        for offset in range(0, len(big), 256 * 1024):
            yield big[offset : offset + 256 * 1024]
        yield b"\r\n--b--\r\n"

    chunked = requests.post(
        f"{api_server}/api/v1/media/upload",
        data=chunks(),
        timeout=30,
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "payload_too_large"
    assert os.listdir(media_library.root("movies")) == []


def test_errors_over_http_are_json(api_server):
    for method, path, status in [
        ("get", "/api/v1/nothing", 404),
        ("post", "/api/v1/media", 405),
        ("post", "/api/v1/admin/media/maintenance-scan", 401),
        ("get", "/api/v1/media?per_page=9999", 400),
    ]:
        response = getattr(requests, method)(api_server + path, timeout=10)
        assert response.status_code == status
        assert response.headers["Content-Type"].startswith("application/json")
        assert set(response.json()["error"]) == {"code", "message"}


def test_servers_side_by_side_write_nothing_to_the_home_folder(media_library, tmp_path):
    """gunicorn (25.1 and later) opens a control socket in the user's home unless told not to:
    the API and the console, or two libraries' servers, would take it from each other."""
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "XDG_RUNTIME_DIR"}
    env["HOME"] = str(home)
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}/api/v1/health" for port in ports]
    with (
        running(["serve", "--port", str(ports[0])], env, tmp_path / "one.log", urls[0]),
        running(["serve", "--port", str(ports[1])], env, tmp_path / "two.log", urls[1]),
    ):
        assert [requests.get(url, timeout=10).status_code for url in urls] == [200, 200]
    assert list(home.iterdir()) == []


def test_each_request_is_logged_in_the_combined_format(api_server, tmp_path):
    headers = {"User-Agent": 'player "x" 1.0', "Referer": "http://127.0.0.1/console"}
    assert requests.get(f"{api_server}/api/v1/media?q=a%22b", headers=headers, timeout=10).ok
    found = logged(
        tmp_path / "api.log",
        r"127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
        r'"GET /api/v1/media\?q=a%22b HTTP/1\.1" 200 (\d+) '
        r'"http://127\.0\.0\.1/console" "player \\"x\\" 1\.0"$',
    )
    assert int(found[1]) > 0


def logged(log: Path, pattern: str) -> re.Match[str]:
    """The server's access line matching ``pattern``, once written (after the answer went out)."""
    line = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + 10
    while not (found := line.search(text := log.read_text())):
        assert time.monotonic() < deadline, text
        time.sleep(0.05)
    return found


def test_ranges_over_one_connection_are_the_file_s_bytes(api_server, media_library, media_factory, tmp_path):
    """Ranges go out by sendfile() from the range's start: each answer must be exactly its bytes,
    request after request on one keep-alive connection, and HEAD must send none."""
    clip = media_factory.video(tmp_path / "clip.mp4", seconds=2)
    content = clip.read_bytes()
    size = len(content)
    with open(clip, "rb") as handle:
        item = upload(api_server, "Ranges (2021).mp4", handle).json()
    url = api_server + item["stream_url"]
    session = requests.Session()
    asked = [(0, 0), (size - 1, size - 1), (1000, 5999), (size // 2, size - 1), (7, size - 7)]
    for start, end in asked:
        part = session.get(url, headers={"Range": f"bytes={start}-{end}"}, timeout=10)
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert part.content == content[start : end + 1]
    suffix = session.get(url, headers={"Range": "bytes=-100"}, timeout=10)
    assert suffix.content == content[-100:]
    whole = session.get(url, timeout=10)
    assert whole.status_code == 200 and whole.content == content
    head = session.head(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert head.status_code == 206 and head.headers["Content-Length"] == "10" and head.content == b""
    after_head = session.get(url, headers={"Range": "bytes=20-29"}, timeout=10)
    assert after_head.content == content[20:30]
    # The access log counts the bytes sendfile() sent, as it counts those written from Python.
    for method, status, sent in (("GET", 206, 5000), ("GET", 200, size), ("HEAD", 206, 0)):
        logged(tmp_path / "api.log", rf'"{method} {item["stream_url"]} HTTP/1\.1" {status} {sent} ')


def test_a_players_ranges_are_answered_alike_by_the_worker_and_through_gunicorn(
    api_server, media_library, media_factory, tmp_path
):
    """On a kept-alive connection the worker sends the stream lane's answers itself; with
    ``Connection: close`` they go through gunicorn's WSGI path. Both must be the same answer."""
    clip = media_factory.video(tmp_path / "clip.mp4", seconds=1)
    with open(clip, "rb") as handle:
        url = api_server + upload(api_server, "Alike (2021).mp4", handle).json()["stream_url"]
    session = requests.Session()
    for name, headers in LANE_REQUESTS.items():
        kept = session.get(url, headers=headers, timeout=10)
        closed = requests.get(url, headers={**headers, "Connection": "close"}, timeout=10)
        assert (kept.status_code, kept.content) == (closed.status_code, closed.content), name
        assert kept.headers.pop("Connection") == "keep-alive" and closed.headers.pop("Connection") == "close"
        assert {**kept.headers, "Date": ""} == {**closed.headers, "Date": ""}, name


def test_over_tls_or_without_sendfile_the_answers_go_gunicorns_way(tmp_path, monkeypatch):
    """``sendfile()`` would write the file below TLS's encryption, and ``--no-sendfile`` asks
    for none: then gunicorn answers, reading the file through Python."""
    content = os.urandom(100_000)
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert]
    subject = ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run([*request, *subject], check=True, capture_output=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the server's own certificate, trusted
    for options, scheme in (
        (("--certfile", str(cert), "--keyfile", str(key)), "https"),
        (("--no-sendfile",), "http"),
    ):
        with answers_server(tmp_path, content, *options, scheme=scheme) as (port, _):
            for _ in range(2):  # the second on the kept-alive connection
                answer = requests.get(
                    f"{scheme}://127.0.0.1:{port}/", headers={"Range": "bytes=0-99"}, timeout=10
                )
                assert (answer.status_code, answer.content) == (206, content[:100]), options
                assert answer.headers["X-Answered-By"] == "wsgi", options


def test_behind_a_proxy_speaking_the_proxy_protocol_the_line_names_the_client(tmp_path):
    with answers_server(tmp_path, os.urandom(1000), "--proxy-protocol", "v1") as (port, log):
        proxied = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n"
        first = b"GET / HTTP/1.1\r\nRange: bytes=0-9\r\nUser-Agent: proxied\r\n\r\n"
        last = b"GET / HTTP/1.1\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n"
        answer = raw_exchange(port, proxied + first + last)
        assert b"X-Answered-By: worker\r\n" in answer and b"X-Answered-By: wsgi\r\n" in answer
        logged(log, r'^192\.0\.2\.7 - - \[.+\] "GET / HTTP/1\.1" 206 10 "-" "proxied"$')


def test_a_player_leaving_half_way_through_a_range_is_logged_with_what_it_got(tmp_path):
    """Players drop a range when they seek. The worker's line counts the bytes that went out
    before the client left, and the worker answers the next client."""
    content = os.urandom(32 * 1024 * 1024)
    with answers_server(tmp_path, content) as (port, log):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as leaving:
            leaving.sendall(b"GET / HTTP/1.1\r\nRange: bytes=0-33554431\r\nUser-Agent: seeker\r\n\r\n")
            assert leaving.recv(65536).startswith(b"HTTP/1.1 206 ")
            leaving.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )  # reset, as a player does
        sent = int(logged(log, r'"GET / HTTP/1\.1" 206 (\d+) "-" "seeker"$')[1])
        assert 0 < sent < len(content)
        after = raw_exchange(port, b"GET / HTTP/1.1\r\nRange: bytes=5-9\r\nConnection: close\r\n\r\n")
        assert after.endswith(b"\r\n\r\n" + content[5:10])


def test_a_file_whose_name_holds_a_line_break_is_streamed(api_server, media_library):
    """A name on Linux may hold a line break; written as it is in Content-Disposition it would
    end the header, and gunicorn refuses to send it (a 500)."""
    name = "Two\nLines (2001).mkv"
    media_library.add_video(name, seconds=1)
    assert requests.post(f"{api_server}/api/v1/admin/media/maintenance-scan", headers=AUTH, timeout=60).ok
    item = requests.get(f"{api_server}/api/v1/media", timeout=10).json()["items"][0]
    assert item["filename"] == name
    for headers in ({}, {"Connection": "close"}):  # the worker's way and gunicorn's
        part = requests.get(
            api_server + item["stream_url"], headers={"Range": "bytes=0-9", **headers}, timeout=10
        )
        assert part.status_code == 206 and len(part.content) == 10
        disposition = part.headers["Content-Disposition"]
        assert disposition.startswith('inline; filename="TwoLines (2001).mkv"; filename*=')
        assert urllib.parse.unquote(disposition.split("filename*=UTF-8''")[1]) == name


@contextlib.contextmanager
def answers_server(tmp_path: Path, content: bytes, *options: str, scheme: str = "http") -> Any:
    """tests/answers_app.py under gunicorn with ``mediacore serve``'s worker and logger, one
    process of two threads, and gunicorn's ``options``; yields its port and its log."""
    (tmp_path / "file.bin").write_bytes(content)
    port, log = free_port(), tmp_path / "answers.log"
    server = "mediacore.web.server"
    arguments = ["-b", f"127.0.0.1:{port}", "-k", f"{server}.KeepAliveWorker", "-w", "1", "--threads", "2"]
    arguments += ["--access-logfile", "-", "--logger-class", f"{server}.AccessLogger", *options]
    arguments += ["--chdir", str(Path(__file__).parent), "answers_app:app"]
    env = {**os.environ, "ANSWERS_FILE": str(tmp_path / "file.bin")}
    with running(arguments, env, log, f"{scheme}://127.0.0.1:{port}/", module="gunicorn"):
        yield port, log


def raw_exchange(port: int, request: bytes) -> bytes:
    """Everything the server sends back for ``request`` until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_the_worker_sends_an_apps_file_answers_itself_on_kept_alive_connections(tmp_path):
    content = os.urandom(100_000)
    with answers_server(tmp_path, content) as (port, log):
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

        def get(
            path: str = "/", method: str = "GET", **headers: str
        ) -> tuple[http.client.HTTPResponse, bytes]:
            client.request(method, path, headers=headers)
            response = client.getresponse()
            return response, response.read()

        ranged, body = get(Range="bytes=10-109", **{"User-Agent": "player 1.0"})
        assert (ranged.status, body, ranged.getheader("X-Answered-By")) == (206, content[10:110], "worker")
        assert ranged.getheader("Server") == "gunicorn" and ranged.getheader("Connection") == "keep-alive"
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", ranged.getheader("Date", ""))
        whole, body = get()
        assert (whole.status, body, whole.getheader("X-Answered-By")) == (200, content, "worker")
        logged(log, r'127\.0\.0\.1 - - \[.+\] "GET / HTTP/1\.1" 206 100 "-" "player 1\.0"$')
        logged(log, rf'"GET / HTTP/1\.1" 200 {len(content)} "-" "-"$')

        # Requests gunicorn does more for than make an environ are its own to answer.
        head, body = get(method="HEAD", Range="bytes=0-9")
        assert (head.status, body, head.getheader("X-Answered-By")) == (206, b"", "wsgi")
        expecting, body = get(Range="bytes=0-9", Expect="100-continue")
        assert (body, expecting.getheader("X-Answered-By")) == (content[:10], "wsgi")
        refused, _ = get("/?bad-header", Range="bytes=0-9")  # a header value gunicorn refuses
        assert refused.status == 500 and refused.getheader("X-Answered-By") is None
        client.close()
        old = raw_exchange(port, b"GET / HTTP/1.0\r\nRange: bytes=0-9\r\n\r\n")
        assert old.startswith(b"HTTP/1.0 206 ") and b"X-Answered-By: wsgi\r\n" in old
        assert old.endswith(b"\r\n\r\n" + content[:10])

        # Pipelined: each answer in turn, the worker's and then gunicorn's for the last.
        two = raw_exchange(
            port,
            b"GET / HTTP/1.1\r\nRange: bytes=0-9\r\n\r\n"
            b"GET / HTTP/1.1\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n",
        )
        first, second = two.split(b"HTTP/1.1 206 Partial Content\r\n")[1:]
        assert b"X-Answered-By: worker\r\n" in first and first.endswith(b"\r\n\r\n" + content[:10])
        assert b"X-Answered-By: wsgi\r\n" in second and second.endswith(b"\r\n\r\n" + content[10:20])

        # A file shorter than its answer promised: what it has is sent, then the client is let go.
        short = raw_exchange(port, b"GET /?longer HTTP/1.1\r\nRange: bytes=99990-99999\r\n\r\n")
        assert b"Content-Length: 110\r\n" in short and short.endswith(b"\r\n\r\n" + content[-10:])


def test_a_disk_that_fills_up_mid_upload_is_a_507_and_keeps_nothing(media_library, media_factory, tmp_path):
    """The server may write files of at most 4 MiB (RLIMIT_FSIZE: the kernel refuses the next
    byte with EFBIG, as a full disk refuses it with ENOSPC); a 6 MiB upload must fail as "no room",
    leave no partial file and no row, and the server must take the next upload that fits."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MEDIACORE_API_TOKEN": TEST_TOKEN}
    limit = 4 * 1024 * 1024

    def small_files_only() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    movies = media_library.root("movies")
    with running(
        ["serve", "--port", str(port)], env, tmp_path / "api.log", base + "/api/v1/health", small_files_only
    ):
        full = upload(base, "Too Big (2020).mp4", os.urandom(limit + 2 * 1024 * 1024))
        assert full.status_code == 507, full.text
        error = full.json()["error"]
        assert error["code"] == "insufficient_storage"
        assert "'movies'" in error["message"] and "nothing was kept" in error["message"]
        assert os.listdir(movies) == []
        with database.connection_context():
            assert MediaItem.select().count() == 0

        clip = media_factory.video(tmp_path / "clip.mp4", seconds=1)
        with open(clip, "rb") as handle:
            fits = upload(base, "Small (2021).mp4", handle)
        assert fits.status_code == 201, fits.text
        assert os.listdir(movies) == ["Small (2021).mp4"]


def test_pipelined_requests_on_one_connection_are_answered_in_order(api_server):
    """A thread answers a kept-alive connection's next request itself; two requests sent in one
    write (the second already read ahead with the first) must still get two answers, in order."""
    host, port = api_server.removeprefix("http://").split(":")
    requests_sent = (
        f"GET /api/v1/health HTTP/1.1\r\nHost: {host}\r\n\r\n"
        f"GET /api/v1/nothing HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    answer = raw_exchange(int(port), requests_sent.encode())
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert statuses == [b"200", b"404"]
    assert b'"status":"ok"' in answer and b'"code":"not_found"' in answer


def test_a_busy_keep_alive_client_does_not_hold_up_another(media_library, tmp_path):
    """One process with one thread: while a client keeps its kept-alive connection busy (its
    requests pipelined, so the next is always there), a second client's request must be answered
    before the first client's requests are all done, not only once it pauses."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    arguments = ["serve", "--port", str(port), "--workers", "1", "--threads", "1"]
    busy_requests = 3000
    other_status: list[int] = []
    with running(arguments, dict(os.environ), tmp_path / "api.log", base + "/api/v1/health"):
        busy = socket.create_connection(("127.0.0.1", port), timeout=60)
        request = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sender = threading.Thread(target=busy.sendall, args=(request * busy_requests,))
        sender.start()
        received = bytearray()
        answers = 0

        def read_answers() -> None:
            nonlocal answers
            chunk = busy.recv(65536)
            assert chunk, f"the server closed the busy connection after {answers} answers"
            received.extend(chunk)
            answers = received.count(b"HTTP/1.1 200")

        while answers < 50:  # the busy client has the thread
            read_answers()
        other = threading.Thread(
            target=lambda: other_status.append(requests.get(base + "/api/v1/media", timeout=60).status_code)
        )
        other.start()
        while other.is_alive() and answers < busy_requests:
            read_answers()
        answered_first = not other.is_alive() and answers < busy_requests
        other.join()
        sender.join()
        busy.close()
    assert other_status == [200]
    assert answered_first, "the second client was answered only after the busy one's requests"


def test_kept_alive_clients_are_spread_over_the_workers(media_library, tmp_path):
    """A worker's threads share one interpreter lock, so two busy clients on one worker are
    answered at a third of the rate they get on two. Four clients that connect one after
    another and stay connected must end up two on each of two workers."""
    port = free_port()
    arguments = ["serve", "--port", str(port), "--workers", "2"]
    ready = f"http://127.0.0.1:{port}/api/v1/health"
    with running(arguments, dict(os.environ), tmp_path / "api.log", ready) as server:

        def connected() -> http.client.HTTPConnection:
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            client.request("GET", "/api/v1/health")
            response = client.getresponse()
            assert response.status == 200 and response.getheader("Connection") != "close"
            response.read()
            return client

        answered: set[int] = set()  # the server is ready once one worker is; wait for both
        deadline = time.monotonic() + 30
        while len(answered) < 2 and time.monotonic() < deadline:
            with contextlib.closing(connected()) as probe:
                answered.add(process_holding(probe.sock, port))
        time.sleep(0.2)  # the workers see the probes' connections closed
        clients = [connected() for _ in range(4)]
        holders = [process_holding(client.sock, port) for client in clients]
        workers = {holder: parent_of(holder) for holder in holders}
        for client in clients:
            client.close()
    assert set(workers.values()) == {server.pid}, workers
    assert sorted(Counter(holders).values()) == [2, 2], holders


def process_holding(client: socket.socket, server_port: int) -> int:
    """The process holding the server's end of a loopback TCP connection."""
    client_port = client.getsockname()[1]
    inode = next(
        fields[9]
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if int(fields[1].split(":")[1], 16) == server_port and int(fields[2].split(":")[1], 16) == client_port
    )
    for descriptors in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):  # processes come and go; others' are not ours to read
            if any(os.readlink(link) == f"socket:[{inode}]" for link in descriptors.iterdir()):
                return int(descriptors.parent.name)
    raise AssertionError(f"no process holds the server's end of port {client_port}")


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)[1])
