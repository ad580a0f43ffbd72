"""The OpenAPI document stays true: every route is described, every answer matches its schema."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mediacore.testing import TEST_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture
def document(mediacore_client):
    response = mediacore_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def check(document, method, template, response):
    """Validate a response against the schema the document gives for its status."""
    operation = document["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {template} answered undocumented {status}"
    assert response.status_code < 500, response.data
    content = operation["responses"][status].get("content", {})
    if "application/json" not in content:
        return
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:api", resource)
    location = ["paths", template, method, "responses", status, "content", "application/json", "schema"]
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in location)
    Draft202012Validator({"$ref": f"urn:api#/{pointer}"}, registry=registry).validate(response.get_json())


def test_every_route_is_documented(mediacore_app, document):
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    for rule in mediacore_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} is not in openapi.json"
    assert len(documented) == 12


def test_answers_match_the_document(media_library, mediacore_client, document):
    media_library.add_video("Film (2001).mp4")
    media_library.add_audio("song.mp3", tags={"title": "S"})
    media_library.scan()
    item_id = media_library.items(filename="Film (2001).mp4")[0].id
    client = mediacore_client
    scan = "/api/v1/admin/media/maintenance-scan"
    calls = [
        ("get", "/api/v1/media", "/api/v1/media", {}),
        ("get", "/api/v1/media", "/api/v1/media?sort=-year&q=film&status=all&per_page=1&page=2", {}),
        ("get", "/api/v1/media", "/api/v1/media?per_page=0", {}),
        ("get", "/api/v1/media/categories", "/api/v1/media/categories", {}),
        ("get", "/api/v1/media/scan-info", "/api/v1/media/scan-info", {}),
        ("get", "/api/v1/media/{item_id}", f"/api/v1/media/{item_id}", {}),
        ("get", "/api/v1/media/{item_id}", "/api/v1/media/424242", {}),
        (
            "get",
            "/api/v1/media/{item_id}/stream",
            f"/api/v1/media/{item_id}/stream",
            {"headers": {"Range": "bytes=0-1"}},
        ),
        (
            "get",
            "/api/v1/media/{item_id}/stream",
            f"/api/v1/media/{item_id}/stream",
            {"headers": {"Range": "bytes=99999999-"}},
        ),
        ("get", "/api/v1/media/{item_id}/poster", f"/api/v1/media/{item_id}/poster?w=64", {}),
        ("get", "/api/v1/media/{item_id}/poster", f"/api/v1/media/{item_id}/poster?w=1", {}),
        ("post", scan, scan, {"json": {"dry_run": True}, "headers": AUTH}),
        ("post", scan, scan, {"json": {"limit": -1}, "headers": AUTH}),
        ("post", scan, scan, {"json": {}}),
        ("post", scan, scan, {"json": {}, "headers": {"Authorization": "Bearer wrong"}}),
        (
            "post",
            "/api/v1/media/upload",
            "/api/v1/media/upload",
            {"data": {"file": (io.BytesIO(b"x" * 10), "x.txt")}, "headers": AUTH},
        ),
        (
            "post",
            "/api/v1/media/upload",
            "/api/v1/media/upload",
            {"data": {"file": (io.BytesIO(b""), "x.mp4")}, "headers": AUTH},
        ),
        ("post", "/api/v1/media/{item_id}/refresh", f"/api/v1/media/{item_id}/refresh", {"headers": AUTH}),
        ("post", "/api/v1/media/{item_id}/refresh", f"/api/v1/media/{item_id}/refresh", {}),
        ("post", "/api/v1/media/{item_id}/refresh", "/api/v1/media/424242/refresh", {"headers": AUTH}),
        ("delete", "/api/v1/media/{item_id}", f"/api/v1/media/{item_id}?soft=true", {"headers": AUTH}),
        ("delete", "/api/v1/media/{item_id}", f"/api/v1/media/{item_id}", {"headers": AUTH}),
        ("get", "/api/v1/health", "/api/v1/health", {}),
    ]
    for method, template, url, options in calls:
        check(document, method, template, getattr(client, method)(url, **options))


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    api_server, media_library, tmp_path
):
    """Property-based requests from the document itself, against the real server: no 500, and
    every status, content type, header and body as documented. Uploads are left to the upload tests
    (random multipart bodies are not media)."""
    media_library.add_video("Film (1999).mp4")
    media_library.add_audio("Song.mp3", tags={"title": "Tune"})
    media_library.add_image("Picture.png")
    media_library.scan()
    checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{api_server}/api/v1/openapi.json",
            "--url",
            api_server,
            "-H",
            f"Authorization: Bearer {TEST_TOKEN}",
            "--checks",
            f"{checks},response_headers_conformance",
            "--max-examples",
            "25",
            "--generation-deterministic",
            "--exclude-path",
            "/api/v1/media/upload",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "passed" in result.stdout


def test_item_schema_lists_every_column(document):
    from mediacore.models import ITEM_FIELDS

    properties = set(document["components"]["schemas"]["MediaItem"]["properties"])
    assert properties == {*ITEM_FIELDS, "stream_url", "poster_url"}
