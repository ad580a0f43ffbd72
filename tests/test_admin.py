"""The admin console against a real API server: login, CSRF, and the proxy's pass-through."""

from __future__ import annotations

import io
import re
import socket
import threading

import pytest

from mediacore.admin import create_admin_app
from mediacore.errors import ConfigError
from mediacore.testing import TEST_TOKEN

PASSWORD = "correct horse"


def console_for(api_url: str, **extra):
    app = create_admin_app(
        {
            "FLASK_API_BASE_URL": api_url,
            "MEDIACORE_ADMIN_PASSWORD": PASSWORD,
            "MEDIACORE_API_TOKEN": TEST_TOKEN,
            "MEDIACORE_ADMIN_SECRET_KEY": "k" * 32,
            **extra,
        }
    )
    return app.test_client()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def logged_in(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"password": PASSWORD, "csrf_token": csrf_of(page)})
    assert response.status_code == 302
    return csrf_of(client.get("/").get_data(as_text=True))


@pytest.fixture
def console(api_server, media_library):
    media_library.add_video("Film (1999).mp4")
    media_library.add_audio("Song.mp3", tags={"title": "Tune", "artist": "Band"})
    media_library.scan()
    return console_for(api_server)


def test_settings_are_required(monkeypatch, cli, tmp_path):
    monkeypatch.delenv("FLASK_API_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="FLASK_API_BASE_URL is not set"):
        create_admin_app({"MEDIACORE_ADMIN_PASSWORD": "x"})
    with pytest.raises(ConfigError, match="MEDIACORE_ADMIN_PASSWORD is not set"):
        create_admin_app({"FLASK_API_BASE_URL": "http://127.0.0.1:9", "MEDIACORE_ADMIN_PASSWORD": ""})
    result = cli(
        "admin",
        env={"FLASK_API_BASE_URL": "", "MEDIACORE_ADMIN_PASSWORD": "x", "MEDIACORE_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2 and "FLASK_API_BASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_login_is_required_and_checked(console):
    assert console.get("/").status_code == 302 and "/login" in console.get("/").headers["Location"]
    assert console.get("/admin/api/media").status_code == 401
    page = console.get("/login").get_data(as_text=True)
    no_csrf = console.post("/login", data={"password": PASSWORD})
    assert no_csrf.status_code == 401 and "expired" in no_csrf.get_data(as_text=True)
    wrong = console.post("/login", data={"password": "nope", "csrf_token": csrf_of(page)})
    assert wrong.status_code == 401 and "Wrong password" in wrong.get_data(as_text=True)
    token = logged_in(console)
    html = console.get("/").get_data(as_text=True)
    assert "Film" in html and "Tune" in html and "/admin/api/media/" in html
    for path in ("/", "/maintenance", "/upload", f"/item/{_first_id(console)}"):
        body = console.get(path).get_data(as_text=True)
        assert TEST_TOKEN not in body, path
    assert console.post("/logout", data={"csrf_token": token}).status_code == 302
    assert console.get("/").status_code == 302


def _first_id(client) -> int:
    return client.get("/admin/api/media").get_json()["items"][0]["id"]


def test_unsafe_requests_need_the_csrf_token(console):
    token = logged_in(console)
    refused = console.post("/admin/media/maintenance-scan", json={"dry_run": True})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert console.delete(f"/admin/media/{_first_id(console)}").status_code == 403
    accepted = console.post(
        "/admin/media/maintenance-scan", json={"dry_run": True}, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 200 and accepted.get_json()["totals"]["unchanged"] == 2


def test_proxy_passes_statuses_bodies_and_ranges_through(console, media_library):
    token = logged_in(console)
    headers = {"X-CSRF-Token": token}
    bad = console.post("/admin/media/maintenance-scan", json={"limit": 0}, headers=headers)
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["message"]
    busy_free = console.post("/admin/media/maintenance-scan", json={"categories": ["nope"]}, headers=headers)
    assert busy_free.get_json()["error"]["code"] == "unknown_category"

    video = media_library.root("movies") / "Film (1999).mp4"
    item = next(i for i in console.get("/admin/api/media").get_json()["items"] if i["filename"] == video.name)
    ranged = console.get(f"/admin/api/media/{item['id']}/stream", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.data == video.read_bytes()[10:20]
    assert ranged.headers["Content-Range"] == f"bytes 10-19/{video.stat().st_size}"
    assert ranged.headers["Accept-Ranges"] == "bytes"
    poster = console.get(f"/admin/api/media/{item['id']}/poster?w=50")
    assert poster.status_code == 200 and poster.headers["X-Poster-Source"] == "frame"
    assert poster.get_data()[:2] == b"\xff\xd8"  # a JPEG
    missing = console.get("/admin/api/media/999999")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert console.get("/admin/api/admin/media/maintenance-scan").status_code == 404  # reads only

    def upload(content: bytes, name: str):
        data = {"category": "movies", "file": (io.BytesIO(content), name)}
        return console.post(
            "/admin/media/upload", headers=headers, content_type="multipart/form-data", data=data
        )

    fake = upload(b"\0" * 500_000, "fake.mp4")
    assert fake.status_code == 415 and fake.get_json()["error"]["code"] == "unsupported_media"
    too_big = upload(b"\0" * 3_000_000, "big.mp4")  # the API's limit in these tests is 1 MiB
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    real = upload(video.read_bytes(), "Copy (2001).mp4")
    assert real.status_code == 201 and real.get_json()["year"] == 2001
    assert (media_library.root("movies") / "Copy (2001).mp4").read_bytes() == video.read_bytes()

    assert console.post(f"/admin/media/{real.get_json()['id']}/refresh").status_code == 403  # no CSRF
    refreshed = console.post(f"/admin/media/{real.get_json()['id']}/refresh", headers=headers)
    assert refreshed.status_code == 200 and refreshed.get_json()["item"]["year"] == 2001
    unknown = console.post("/admin/media/999999/refresh", headers=headers)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"

    deleted = console.delete(f"/admin/media/{real.get_json()['id']}?delete_file=true", headers=headers)
    assert deleted.get_json() == {"id": real.get_json()["id"], "deleted": "hard", "file_deleted": True}


def test_api_down_or_slow_is_a_clear_json_error(media_library):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = console_for(f"http://127.0.0.1:{closed_port}")
    logged = logged_in_without_api(down)
    response = down.post("/admin/media/maintenance-scan", json={}, headers={"X-CSRF-Token": logged})
    assert response.status_code == 502 and response.get_json()["error"]["code"] == "api_unreachable"
    page = down.get("/maintenance")  # a page says it in HTML, for a person
    assert page.status_code == 502 and page.mimetype == "text/html"
    assert "cannot be reached" in page.get_data(as_text=True)

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent.settimeout(0.1)  # closing a socket does not wake a thread blocked in accept()
    accepted = []
    stop = threading.Event()

    def hold():
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        slow = console_for(f"http://127.0.0.1:{silent.getsockname()[1]}", MEDIACORE_ADMIN_API_TIMEOUT=0.5)
        token = logged_in_without_api(slow)
        timed_out = slow.post("/admin/media/maintenance-scan", json={}, headers={"X-CSRF-Token": token})
        assert timed_out.status_code == 504 and timed_out.get_json()["error"]["code"] == "api_timeout"
    finally:
        stop.set()
        holder.join()  # a thread left behind would keep later tests in this process from forking
        silent.close()
        for connection in accepted:
            connection.close()


def logged_in_without_api(client) -> str:
    """Log in, then read the session's new CSRF token (no page can be rendered without the API)."""
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"password": PASSWORD, "csrf_token": csrf_of(page)})
    with client.session_transaction() as session:
        return session["csrf"]


def test_console_uses_the_token_the_api_generates_later(api_server, media_library, monkeypatch):
    """No MEDIACORE_API_TOKEN for the console: it reads the API's generated token when it appears."""
    from mediacore.settings import data_dir

    token_file = data_dir() / "api_token"
    assert not token_file.exists()
    console = console_for(api_server, MEDIACORE_API_TOKEN="")
    csrf = logged_in(console)
    refused = console.post(
        "/admin/media/maintenance-scan", json={"dry_run": True}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"  # the API's
    token_file.write_text(TEST_TOKEN + "\n")
    accepted = console.post(
        "/admin/media/maintenance-scan", json={"dry_run": True}, headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status_code == 200 and accepted.get_json()["dry_run"] is True
