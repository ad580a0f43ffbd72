from __future__ import annotations

import json
import os
import socket

import pytest

from mediacore.testing import MediaFactory


def test_init_then_scan_in_an_empty_folder(cli, tmp_path, media_factory: MediaFactory):
    env = {
        "MEDIACORE_CONFIG": "",
        "MEDIACORE_DATA_DIR": "",
        "MEDIACORE_DATABASE_URL": "",
        "MEDIACORE_LOG_DIR": "",
    }
    result = cli("init", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "config" / "watch_media_dirs.yml").exists()
    assert (tmp_path / "data" / "mediacore.db").exists()
    assert (tmp_path / "media" / "Movies").is_dir() and (tmp_path / "media" / "Music").is_dir()
    media_factory.video(tmp_path / "media" / "Movies" / "Heat (1995).mkv")
    media_factory.audio(tmp_path / "media" / "Music" / "track.flac", tags={"artist": "Band"})
    scan = cli("scan", cwd=tmp_path, env=env)
    assert scan.returncode == 0, scan.stderr
    assert "Total: 2 found, 2 added" in scan.stdout
    again = cli("scan", "--json", cwd=tmp_path, env=env)
    assert json.loads(again.stdout)["totals"]["unchanged"] == 2
    refreshed = cli("scan", "--refresh", "--json", cwd=tmp_path, env=env)
    assert json.loads(refreshed.stdout)["totals"]["updated"] == 2
    os.unlink(tmp_path / "media" / "Movies" / "Heat (1995).mkv")
    gone = cli("scan", "--category", "movies", cwd=tmp_path, env=env)
    assert "missing: " in gone.stdout and "1 missing (1 logged)" in gone.stdout
    assert json.loads((tmp_path / "logs" / "media_deletions.log").read_text())["title"] == "Heat"
    assert "already exists" in cli("init", cwd=tmp_path, env=env).stdout


def test_scan_errors_are_one_line_with_exit_codes(cli, media_library):
    unknown = cli("scan", "--category", "films")
    assert unknown.returncode == 1 and unknown.stderr.startswith("Error: unknown category 'films'")
    bad_limit = cli("scan", "--limit", "0")
    assert bad_limit.returncode == 2 and "--limit" in bad_limit.stderr
    no_db = cli("--database-url", "postgresql://nobody@127.0.0.1:1/none", "scan")
    assert (
        no_db.returncode == 3 and "cannot use database" in no_db.stderr
    ) or "cannot open database" in no_db.stderr
    assert "Traceback" not in no_db.stderr + unknown.stderr and no_db.stderr.count("\n") == 1
    missing_config = cli("--config", "/nonexistent/x.yml", "scan")
    assert missing_config.returncode == 2 and "config file not found" in missing_config.stderr


def test_a_server_that_cannot_listen_says_so_in_one_line(cli, media_library):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        results = {
            "api": cli("serve", "--port", str(port)),
            "console": cli(
                "admin",
                "--port",
                str(port),
                env={"FLASK_API_BASE_URL": "http://127.0.0.1:9", "MEDIACORE_ADMIN_PASSWORD": "x"},
            ),
        }
    for name, result in results.items():
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert result.returncode == 2, (name, result.stderr)
        assert errors == [
            f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
            " (another server? choose another with --port)"
        ], name
        assert "Traceback" not in result.stderr and "gunicorn" not in result.stderr, name


def test_an_ipv6_address_is_shown_as_a_url_writes_it(cli, media_library):
    taken = socket.socket(socket.AF_INET6)
    try:
        taken.bind(("::1", 0))
    except OSError:
        taken.close()
        pytest.skip("this machine has no IPv6 loopback")
    with taken:
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--host", "::1", "--port", str(port))
    assert result.returncode == 2, result.stderr
    assert f"Error: cannot listen on [::1]:{port}: Address already in use" in result.stderr


def test_second_scan_while_one_runs_is_refused(cli, media_library):
    from mediacore.locks import scan_lock
    from mediacore.models import database

    with database.connection_context(), scan_lock(database.obj):
        busy = cli("scan")
    assert busy.returncode == 4 and "already running" in busy.stderr


def test_init_with_samples_gives_a_library_to_try(cli, tmp_path):
    env = {
        "MEDIACORE_CONFIG": "",
        "MEDIACORE_DATA_DIR": "",
        "MEDIACORE_DATABASE_URL": "",
        "MEDIACORE_LOG_DIR": "",
    }
    assert cli("init", "--samples", cwd=tmp_path, env=env).returncode == 0
    result = cli("scan", "--json", cwd=tmp_path, env=env)
    summary = json.loads(result.stdout)
    assert summary["totals"]["added"] == 5 and summary["totals"]["files_found"] == 5
    assert all(not part["errors"] for part in summary["categories"].values())
    assert summary["categories"]["tv_series"]["added"] == 2
