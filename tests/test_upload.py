from __future__ import annotations

import io
import os

import pytest

from mediacore import hookimpl
from mediacore.db import is_sqlite
from mediacore.models import database
from mediacore.testing import TEST_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
URL = "/api/v1/media/upload"


@pytest.fixture
def sample_video(media_factory, tmp_path):
    return media_factory.video(tmp_path / "source" / "clip.mp4").read_bytes()


@pytest.fixture
def sample_song(media_factory, tmp_path):
    return media_factory.audio(
        tmp_path / "source" / "song.mp3", tags={"title": "Sung", "artist": "Singer"}
    ).read_bytes()


def post(client, content, filename, headers=AUTH, **fields):
    data = {**fields, "file": (io.BytesIO(content), filename)}
    return client.post(URL, data=data, headers=headers, content_type="multipart/form-data")


def multipart(content, filename, **fields):
    """A body as curl builds it: the quoted file name escapes backslash and double quote."""
    boundary = "----mediacore-test"
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def folder_names(path):
    return sorted(os.listdir(path))


def test_upload_video_keeps_its_name_and_gets_scan_metadata(media_library, mediacore_client, sample_video):
    response = post(
        mediacore_client,
        sample_video,
        "Upload Clip (2020).mp4",
        category="movies",
        uploaded_by="ann",
        description="Holiday",
    )
    assert response.status_code == 201, response.data
    item = response.get_json()
    root = media_library.root("movies")
    assert item["path"] == str(root / "Upload Clip (2020).mp4")
    assert (root / "Upload Clip (2020).mp4").read_bytes() == sample_video
    assert (item["status"], item["source"], item["uploaded_by"], item["description"]) == (
        "available",
        "upload",
        "ann",
        "Holiday",
    )
    assert (item["title"], item["year"], item["width"], item["height"], item["video_codec"]) == (
        "Upload Clip",
        2020,
        320,
        240,
        "h264",
    )
    assert item["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    assert item["stream_url"] == f"/api/v1/media/{item['id']}/stream"
    assert mediacore_client.get(item["stream_url"]).data == sample_video
    listed = mediacore_client.get("/api/v1/media?q=upload").get_json()["items"]
    assert [entry["id"] for entry in listed] == [item["id"]]
    assert folder_names(root) == ["Upload Clip (2020).mp4"]  # no temporary file left behind
    summary = media_library.scan()
    assert summary["categories"]["movies"]["added"] == 0 and summary["totals"]["unchanged"] == 1


def test_upload_song_to_default_and_named_category(
    media_library, mediacore_client, sample_song, sample_video
):
    song = post(mediacore_client, sample_song, "Песня 歌.mp3", category="music", uploader="bob").get_json()
    assert (song["filename"], song["title"], song["artist"], song["uploaded_by"]) == (
        "Песня 歌.mp3",
        "Sung",
        "Singer",
        "bob",
    )
    default = post(mediacore_client, sample_video, "plain.mp4", user="cy", title="My Title").get_json()
    assert (default["category"], default["title"], default["uploaded_by"]) == ("movies", "My Title", "cy")


def test_existing_files_are_never_overwritten(media_library, mediacore_client, sample_video):
    names = [post(mediacore_client, sample_video, "Same.mp4").get_json()["filename"] for _ in range(3)]
    assert names == ["Same.mp4", "Same (1).mp4", "Same (2).mp4"]
    # A missing item still owns its name: the next upload takes another.
    os.remove(media_library.root("movies") / "Same.mp4")
    media_library.scan()
    assert post(mediacore_client, sample_video, "Same.mp4").get_json()["filename"] == "Same (3).mp4"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../evil.mp4", "evil.mp4"),
        ("..\\..\\evil.mp4", "evil.mp4"),
        ("/etc/evil.mp4", "evil.mp4"),
        ("C:\\Users\\x\\evil.mp4", "evil.mp4"),
        ("bad\x00name\x1f.mp4", "bad_name_.mp4"),
        ("..mp4", "mp4"),
        ('a:b*c?"d<e>f|.mp4', "a_b_c__d_e_f_.mp4"),
        ("  spaced .mp4", "spaced .mp4"),
    ],
)
def test_unsafe_names_stay_inside_the_root(media_library, mediacore_client, sample_video, sent, stored):
    body, content_type = multipart(sample_video, sent)
    response = mediacore_client.post(URL, data=body, headers=AUTH, content_type=content_type)
    root = media_library.root("movies")
    if stored == "mp4":  # nothing left of the name but its extension
        assert response.status_code in (400, 415)
        assert folder_names(root) == []
        return
    assert response.status_code == 201, response.data
    assert folder_names(root) == [stored]
    assert not (media_library.base / "evil.mp4").exists()


def test_rejections_write_nothing(media_library, mediacore_client, sample_video, sample_song):
    root = media_library.root("movies")
    cases = [
        (post(mediacore_client, sample_video, "clip.exe"), 415, "unsupported_media", "accepts"),
        (
            post(mediacore_client, b"this is text, not video" * 100, "fake.mp4"),
            415,
            "unsupported_media",
            "not a readable video",
        ),
        (post(mediacore_client, sample_song, "song.mp4"), 415, "unsupported_media", "no video stream"),
        (post(mediacore_client, b"", "empty.mp4"), 400, "invalid_upload", "empty"),
        (post(mediacore_client, sample_video, "c.mp4", category="films"), 400, "unknown_category", "films"),
        (post(mediacore_client, sample_video, "c.mp4", headers={}), 401, "unauthorized", ""),
        (
            post(mediacore_client, sample_video, "c.mp4", headers={"Authorization": "Bearer x"}),
            403,
            "forbidden",
            "",
        ),
        (
            mediacore_client.post(
                URL, data={"category": "movies"}, headers=AUTH, content_type="multipart/form-data"
            ),
            400,
            "invalid_upload",
            "'file'",
        ),
        (
            mediacore_client.post(URL, data=b"raw", headers=AUTH, content_type="application/octet-stream"),
            400,
            "invalid_upload",
            "multipart",
        ),
    ]
    for response, status, code, fragment in cases:
        assert response.status_code == status, response.data
        error = response.get_json()["error"]
        assert error["code"] == code and fragment in error["message"], error
    for key in media_library.categories:
        assert folder_names(media_library.root(key)) == []
    assert media_library.items() == []
    assert root.exists()


def test_category_field_after_the_file_is_honoured(media_library, mediacore_client, sample_song):
    body, content_type = multipart(sample_song, "late.mp3")
    tail = b'Content-Disposition: form-data; name="category"\r\n\r\nmusic\r\n'
    body = body.replace(
        b"------mediacore-test--", b"------mediacore-test\r\n" + tail + b"------mediacore-test--"
    )
    response = mediacore_client.post(URL, data=body, headers=AUTH, content_type=content_type)
    assert response.status_code == 201, response.data
    assert response.get_json()["category"] == "music"
    assert folder_names(media_library.root("music")) == ["late.mp3"]
    assert folder_names(media_library.root("movies")) == []


def test_oversized_upload_is_413_and_leaves_nothing(media_library, mediacore_app, sample_video):
    mediacore_app.config["MEDIACORE_MAX_UPLOAD_BYTES"] = 10_000
    response = post(mediacore_app.test_client(), sample_video, "big.mp4")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"
    assert folder_names(media_library.root("movies")) == []


def test_a_category_folder_that_is_gone_is_a_storage_error_not_a_bad_request(
    media_library, mediacore_client, sample_video
):
    """An unmounted or deleted category folder is the server's problem, and says which category."""
    movies = media_library.root("movies")
    movies.rmdir()
    response = post(mediacore_client, sample_video, "clip.mp4")
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "storage_error"
    assert "'movies'" in error["message"] and "No such file or directory" in error["message"]
    assert not movies.exists() and media_library.items() == []


class FailingAfterSave:
    @hookimpl
    def mediacore_extract_metadata(self, path):
        assert os.path.exists(path)  # the file is in place when it fails
        raise RuntimeError("plugin fell over")


def test_plugin_failure_after_save_rolls_back_file_and_row(
    media_library, mediacore_client, sample_video, register_plugin
):
    register_plugin(FailingAfterSave(), name="failing")
    response = post(mediacore_client, sample_video, "doomed.mp4")
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "ingest_failed" and "failing: RuntimeError: plugin fell over" in error["message"]
    assert folder_names(media_library.root("movies")) == [] and media_library.items() == []


def test_database_failure_after_save_rolls_back_file_and_row(media_library, mediacore_client, sample_video):
    with database.connection_context():
        if is_sqlite(database.obj):
            database.execute_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON media_items "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        else:
            database.execute_sql(
                "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk says no'; END $$ LANGUAGE plpgsql"
            )
            database.execute_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON media_items FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    response = post(mediacore_client, sample_video, "doomed.mp4")
    assert response.status_code == 500
    assert "disk says no" in response.get_json()["error"]["message"]
    assert folder_names(media_library.root("movies")) == [] and media_library.items() == []
