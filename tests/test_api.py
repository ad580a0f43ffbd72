from __future__ import annotations

import base64
import io
import json
import os
import shutil
import stat
from datetime import datetime, timezone
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playhouse.test_utils import count_queries
from werkzeug.http import parse_date
from werkzeug.test import Client, EnvironBuilder

from mediacore import PosterImage, hookimpl
from mediacore.locks import scan_lock
from mediacore.models import MediaItem, database, utcnow
from mediacore.testing import TEST_TOKEN, client_for, png_bytes

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture
def library(media_library):
    media_library.add_video("Alpha (2001)/Alpha (2001).mp4", seconds=1)
    media_library.add_video("beta.2005.mkv", seconds=3, size=(640, 480))
    media_library.add_video("Gamma (2001).mp4", seconds=2)
    media_library.add_video("Show/Season 01/Show - S01E01.mkv", category="tv_series")
    media_library.add_video("Show/Season 01/Show - S01E02.mkv", category="tv_series")
    media_library.add_video("Show/Season 02/Show - S02E01.mkv", category="tv_series")
    media_library.add_audio(
        "Band/Record/01.mp3", tags={"title": "Opening", "artist": "The Band", "album": "Record"}
    )
    media_library.add_audio(
        "Band/Record/02.flac", tags={"title": "Closing", "artist": "The Band", "album": "Record"}
    )
    media_library.add_image("photo.png")
    media_library.scan()
    return media_library


def ids_of(response):
    return [item["id"] for item in response.get_json()["items"]]


def item_named(client, filename):
    items = client.get("/api/v1/media?status=all&per_page=500").get_json()["items"]
    return next(item for item in items if item["filename"] == filename)


def assert_error(response, status, code, fragment=""):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and fragment in error["message"], error
    return error


# -- listing ------------------------------------------------------------------------------------


def test_health(mediacore_client):
    response = mediacore_client.get("/api/v1/health")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_list_defaults_filters_and_pagination(library, mediacore_client):
    page = mediacore_client.get("/api/v1/media").get_json()
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (1, 50, 9, 1)
    titles = [item["title"] for item in page["items"]]
    assert titles == sorted(titles, key=str.lower)
    first = page["items"][0]
    assert first["stream_url"] == f"/api/v1/media/{first['id']}/stream"
    assert first["poster_url"] == f"/api/v1/media/{first['id']}/poster"

    def titles_for(query):
        response = mediacore_client.get(f"/api/v1/media?{query}")
        assert response.status_code == 200, response.data
        return [item["title"] for item in response.get_json()["items"]]

    assert titles_for("category=movies") == ["Alpha", "beta", "Gamma"]
    assert titles_for("media_type=audio") == ["Closing", "Opening"]
    assert titles_for("q=BAND") == ["Closing", "Opening"]
    assert titles_for("q=alp") == ["Alpha"]
    assert titles_for("q=100%25") == []  # a literal %, not a wildcard
    assert titles_for("year=2001&sort=-title") == ["Gamma", "Alpha"]
    assert titles_for("series=Show&season=1") == ["Show S01E01", "Show S01E02"]
    assert titles_for("category=movies&sort=-duration") == ["beta", "Gamma", "Alpha"]
    assert titles_for("category=movies&sort=size")[-1] == "beta"
    two = mediacore_client.get("/api/v1/media?per_page=4&page=3").get_json()
    assert (two["total"], two["pages"], len(two["items"])) == (9, 3, 1)
    beyond = mediacore_client.get("/api/v1/media?per_page=4&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 9
    for q in ("band", "e"):  # a search counts its matches with its page, also past the last page
        matched = mediacore_client.get(f"/api/v1/media?q={q}&per_page=1").get_json()["total"]
        past = mediacore_client.get(f"/api/v1/media?q={q}&per_page=1&page={matched + 1}").get_json()
        assert past["items"] == [] and past["total"] == matched > 0


def test_sort_ties_break_by_id_and_pages_do_not_overlap(library, mediacore_client):
    seen = []
    for number in (1, 2, 3):
        seen += ids_of(mediacore_client.get(f"/api/v1/media?sort=year&per_page=3&page={number}"))
    assert sorted(seen) == sorted(ids_of(mediacore_client.get("/api/v1/media"))) and len(set(seen)) == 9
    descending = ids_of(mediacore_client.get("/api/v1/media?sort=-created_at"))
    assert descending == sorted(descending, reverse=True)  # same timestamp: id breaks the tie
    for key in ("title", "created_at", "updated_at", "size", "duration", "year", "filename"):
        assert mediacore_client.get(f"/api/v1/media?sort=-{key}").status_code == 200


def test_listing_costs_three_queries_whatever_the_page_size(library, mediacore_app):
    client = mediacore_app.test_client()
    for per_page, expected in ((500, 9), (1, 1)):
        with count_queries() as counter:
            assert len(ids_of(client.get(f"/api/v1/media?per_page={per_page}&status=all"))) == expected
        assert counter.count == 3  # the page's keys, the total, the page's rows


def test_cursor_pages_are_the_numbered_pages(media_library, mediacore_client):
    """Following ``next_cursor`` gives the pages that page numbers give, through ties, items
    without a sort value (sorted last either way), non-ASCII titles and a search."""
    titles = ["b", "Émile", "émile", None, "a", "b", "Zed", None, "ab", "b", "émilie", "a"]
    now = utcnow()
    rows = [
        {
            "category": "movies",
            "path": f"/nowhere/{index}.mkv",
            "relative_path": f"{index}.mkv",
            "filename": f"{index}.mkv",
            "extension": "mkv",
            "media_type": "video",
            "title": titles[index % len(titles)],
            "year": None if index % 5 == 0 else 1990 + index % 3,
            "size_bytes": 1000 + index % 4,
            "mtime": 1.0,
            "created_at": now,
            "updated_at": now,
            "metadata": {},
        }
        for index in range(23)
    ]
    with database.connection_context():
        MediaItem.insert_many(rows).execute()

    def by_numbers(query):
        first = mediacore_client.get(f"/api/v1/media?per_page=4&{query}").get_json()
        pages = [first] + [
            mediacore_client.get(f"/api/v1/media?per_page=4&page={n}&{query}").get_json()
            for n in range(2, first["pages"] + 1)
        ]
        return [page["page"] for page in pages], [ids_of_page(page) for page in pages]

    def by_cursors(query):
        pages = [mediacore_client.get(f"/api/v1/media?per_page=4&{query}").get_json()]
        while pages[-1]["next_cursor"]:
            response = mediacore_client.get(
                "/api/v1/media",
                query_string={"per_page": 4, "cursor": pages[-1]["next_cursor"]}
                | dict(part.split("=") for part in query.split("&")),
            )
            assert response.status_code == 200, response.data
            pages.append(response.get_json())
        return [page["page"] for page in pages], [ids_of_page(page) for page in pages]

    for query in (
        "sort=title",
        "sort=-title",
        "sort=year",
        "sort=-year",
        "sort=-size",
        "sort=-created_at",
        "sort=title&q=mil",
        "sort=-year&q=mil",
    ):
        numbers, pages = by_numbers(query)
        assert by_cursors(query) == (numbers, pages), query
        assert sum(len(page) for page in pages) == (6 if "q=" in query else 23)
    null_last = ids_of_page(mediacore_client.get("/api/v1/media?per_page=50&sort=-year").get_json())[-5:]
    assert {item["year"] for item in item_rows(mediacore_client, null_last)} == {None}
    for sort in ("title", "-title"):
        # A page of one is found by walking the title index (the matches are many for so small
        # a page); a page of fifty by reading every match: the two must agree.
        whole = ids_of_page(mediacore_client.get(f"/api/v1/media?q=mil&sort={sort}&per_page=50").get_json())
        singles = [
            ids_of_page(
                mediacore_client.get(f"/api/v1/media?q=mil&sort={sort}&per_page=1&page={n}").get_json()
            )
            for n in range(1, 7)
        ]
        assert [item for page in singles for item in page] == whole and len(whole) == 6, sort


def test_search_follows_every_change_of_status(library, mediacore_client):
    def found(query):
        page = mediacore_client.get(f"/api/v1/media?{query}").get_json()
        assert page["total"] == len(page["items"]), page
        return [item["title"] for item in page["items"]]

    assert found("q=alpha") == ["Alpha"]
    with database.connection_context():
        MediaItem.update(status="missing").where(MediaItem.title == "Alpha").execute()
    assert found("q=alpha") == []
    assert found("q=alpha&status=missing") == found("q=alpha&status=all") == ["Alpha"]
    with database.connection_context():
        MediaItem.update(status="available", title="Alphabet").where(MediaItem.title == "Alpha").execute()
    assert found("q=alphabet") == ["Alphabet"] and found("q=alpha") == ["Alphabet"]
    alphabet = item_named(mediacore_client, "Alpha (2001).mp4")
    deleted = mediacore_client.delete(f"/api/v1/media/{alphabet['id']}?soft=true", headers=AUTH)
    assert deleted.status_code == 200
    assert found("q=alphabet") == [] and found("q=alphabet&status=deleted") == ["Alphabet"]
    with database.connection_context():
        MediaItem.delete().where(MediaItem.title == "Gamma").execute()
    assert found("q=gamma") == [] and found("q=gamma&status=all") == []
    assert found("q=band") == ["Closing", "Opening"]


def ids_of_page(page):
    return [item["id"] for item in page["items"]]


def item_rows(client, ids):
    return [client.get(f"/api/v1/media/{item_id}").get_json() for item_id in ids]


def test_bad_cursors_are_named(library, mediacore_client):
    first = mediacore_client.get("/api/v1/media?per_page=2&sort=year").get_json()
    cursor = first["next_cursor"]
    assert cursor and first["page"] == 1
    assert mediacore_client.get(f"/api/v1/media?per_page=2&sort=year&cursor={cursor}").get_json()["page"] == 2
    assert_error(
        mediacore_client.get(f"/api/v1/media?per_page=2&sort=title&cursor={cursor}"),
        400,
        "invalid_parameter",
        "cursor: was made for sort=year, not sort=title",
    )
    assert_error(
        mediacore_client.get(f"/api/v1/media?sort=year&page=2&cursor={cursor}"),
        400,
        "invalid_parameter",
        "give either page or cursor",
    )
    forged = [  # well-formed, but with what no database could compare, or a page number of 1
        ["year", 1, 2**70, 2],
        ["year", "a\x00b", 1, 2],
        ["year", float("nan"), 1, 2],
        ["year", 2001, 5, 1],
    ]
    encoded = [base64.urlsafe_b64encode(json.dumps(data).encode()).decode() for data in forged]
    for garbage in ("abc", "W10", "!!!", *encoded):  # "W10" is "[]"
        assert_error(
            mediacore_client.get(f"/api/v1/media?sort=year&cursor={garbage}"),
            400,
            "invalid_parameter",
            "cursor: not a cursor this API returned",
        )
    last = mediacore_client.get("/api/v1/media?per_page=50").get_json()
    assert last["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=501", "per_page"),
        ("per_page=0", "per_page"),
        ("sort=rating", "sort"),
        ("year=abc", "year"),
        ("status=gone", "status"),
        ("season=1.5", "season"),
        ("category=films", "films"),
    ],
)
def test_bad_list_parameters_are_named(library, mediacore_client, query, parameter):
    response = mediacore_client.get(f"/api/v1/media?{query}")
    assert response.status_code == 400
    assert parameter in response.get_json()["error"]["message"]


# -- detail and delete --------------------------------------------------------------------------


def test_detail_has_every_column_and_metadata_object(library, mediacore_client):
    item = item_named(mediacore_client, "beta.2005.mkv")
    detail = mediacore_client.get(f"/api/v1/media/{item['id']}").get_json()
    for column in (
        "id",
        "category",
        "path",
        "relative_path",
        "filename",
        "extension",
        "media_type",
        "mime_type",
        "title",
        "description",
        "size_bytes",
        "mtime",
        "duration_seconds",
        "width",
        "height",
        "video_codec",
        "audio_codec",
        "bitrate",
        "year",
        "series",
        "season",
        "episode",
        "artist",
        "album",
        "track_number",
        "metadata",
        "status",
        "source",
        "uploaded_by",
        "created_at",
        "updated_at",
        "last_seen_at",
        "missing_since",
        "stream_url",
        "poster_url",
    ):
        assert column in detail
    assert (detail["width"], detail["height"], detail["year"], detail["video_codec"]) == (
        640,
        480,
        2005,
        "h264",
    )
    assert isinstance(detail["metadata"], dict) and detail["metadata"]["frame_rate"] == 10
    assert detail["created_at"].endswith("Z")
    assert_error(mediacore_client.get("/api/v1/media/999999"), 404, "not_found", "999999")
    assert_error(mediacore_client.get("/api/v1/media/..%2F..%2Fetc%2Fpasswd"), 404, "not_found")
    assert_error(mediacore_client.get("/api/v1/media/-1/stream"), 404, "not_found")


def test_soft_and_hard_delete(library, mediacore_client):
    alpha = item_named(mediacore_client, "Alpha (2001).mp4")
    beta = item_named(mediacore_client, "beta.2005.mkv")
    gamma = item_named(mediacore_client, "Gamma (2001).mp4")
    assert_error(mediacore_client.delete(f"/api/v1/media/{alpha['id']}"), 401, "unauthorized")
    assert_error(
        mediacore_client.delete(f"/api/v1/media/{alpha['id']}", headers={"Authorization": "Bearer nope"}),
        403,
        "forbidden",
    )

    soft = mediacore_client.delete(f"/api/v1/media/{alpha['id']}?soft=true", headers=AUTH)
    assert soft.get_json() == {"id": alpha["id"], "deleted": "soft", "file_deleted": False}
    assert os.path.exists(alpha["path"])
    assert_error(mediacore_client.get(f"/api/v1/media/{alpha['id']}"), 404, "not_found")
    assert ids_of(mediacore_client.get("/api/v1/media?status=deleted")) == [alpha["id"]]
    assert library.scan()["categories"]["movies"]["added"] == 0  # stays deleted

    hard = mediacore_client.delete(f"/api/v1/media/{beta['id']}", headers=AUTH)
    assert hard.get_json() == {"id": beta["id"], "deleted": "hard", "file_deleted": False}
    assert os.path.exists(beta["path"]) and library.items(filename="beta.2005.mkv") == []

    assert_error(
        mediacore_client.delete(f"/api/v1/media/{gamma['id']}?soft=true&delete_file=true", headers=AUTH),
        400,
        "invalid_parameter",
        "delete_file",
    )
    with_file = mediacore_client.delete(f"/api/v1/media/{gamma['id']}?delete_file=true", headers=AUTH)
    assert with_file.get_json() == {"id": gamma["id"], "deleted": "hard", "file_deleted": True}
    assert not os.path.exists(gamma["path"])
    assert_error(mediacore_client.delete(f"/api/v1/media/{gamma['id']}", headers=AUTH), 404, "not_found")
    assert_error(
        mediacore_client.delete(f"/api/v1/media/{beta['id']}?soft=maybe", headers=AUTH),
        400,
        "invalid_parameter",
        "soft",
    )


def test_delete_file_refuses_a_path_outside_the_root(library, mediacore_client, media_factory):
    from mediacore.models import MediaItem

    outside = media_factory.video(library.base / "elsewhere" / "x.mp4")
    item = item_named(mediacore_client, "Gamma (2001).mp4")
    with database.connection_context():
        MediaItem.update(path=str(outside)).where(MediaItem.id == item["id"]).execute()
    response = mediacore_client.delete(f"/api/v1/media/{item['id']}?delete_file=true", headers=AUTH)
    assert_error(response, 400, "invalid_parameter", "not under its category's root")
    assert outside.exists() and mediacore_client.get(f"/api/v1/media/{item['id']}").status_code == 200
    assert_error(
        mediacore_client.get(f"/api/v1/media/{item['id']}/stream"), 404, "not_found", "configured root"
    )


# -- streaming ----------------------------------------------------------------------------------


def test_stream_with_ranges_and_validators(library, mediacore_client):
    item = item_named(mediacore_client, "beta.2005.mkv")
    url = f"/api/v1/media/{item['id']}/stream"
    content = Path(item["path"]).read_bytes()
    size = len(content)
    whole = mediacore_client.get(url)
    assert whole.status_code == 200 and whole.data == content
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.mimetype == "video/x-matroska"
    assert (
        whole.headers["Content-Length"] == str(size)
        and whole.headers["ETag"]
        and whole.headers["Last-Modified"]
    )
    etag = whole.headers["ETag"]
    modified = whole.headers["Last-Modified"]
    assert parse_date(modified) == datetime.fromtimestamp(int(os.stat(item["path"]).st_mtime), timezone.utc)
    assert mediacore_client.get(url, headers={"If-Modified-Since": modified}).status_code == 304

    part = mediacore_client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == content[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{size}"
    tail = mediacore_client.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and tail.data == content[-10:]
    suffix = mediacore_client.get(url, headers={"Range": "bytes=-50"})
    assert suffix.status_code == 206 and suffix.data == content[-50:]
    assert suffix.headers["Content-Range"] == f"bytes {size - 50}-{size - 1}/{size}"
    longer = mediacore_client.get(url, headers={"Range": f"bytes=-{size * 2}"})  # the whole file
    assert longer.status_code == 206 and longer.data == content
    assert longer.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"

    unsatisfiable = mediacore_client.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert_error(unsatisfiable, 416, "requested_range_not_satisfiable")
    assert unsatisfiable.headers["Content-Range"] == f"bytes */{size}"

    assert mediacore_client.get(url, headers={"If-None-Match": etag}).status_code == 304
    stale = mediacore_client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and len(stale.data) == size
    fresh = mediacore_client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.data == content[:10]

    head = mediacore_client.head(url)
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(size)
    download = mediacore_client.get(url + "?download=1")
    assert (
        download.headers["Content-Disposition"].startswith("attachment")
        and "beta.2005.mkv" in download.headers["Content-Disposition"]
    )


def byteranges(answer: Any) -> list[Message]:
    """The parts of a ``multipart/byteranges`` answer, read by the standard library's parser."""
    head = f"Content-Type: {answer.headers['Content-Type']}\r\n\r\n".encode()
    parts = BytesParser().parsebytes(head + answer.data).get_payload()
    assert isinstance(parts, list)
    return parts


def test_several_ranges_come_as_multipart_byteranges(library, mediacore_app, mediacore_client):
    item = item_named(mediacore_client, "beta.2005.mkv")
    url, content = item["stream_url"], Path(item["path"]).read_bytes()
    size = len(content)
    asked = {"Range": "bytes=0-9,100-199,-5"}
    assert mediacore_app.wsgi_app.answer(EnvironBuilder(url, headers=asked).get_environ()) is None

    answer = mediacore_client.get(url, headers=asked)
    assert answer.status_code == 206 and answer.mimetype == "multipart/byteranges"
    assert answer.headers["Content-Length"] == str(len(answer.data))
    assert [
        (part["Content-Type"], part["Content-Range"], part.get_payload(decode=True))
        for part in byteranges(answer)
    ] == [
        ("video/x-matroska", f"bytes 0-9/{size}", content[:10]),
        ("video/x-matroska", f"bytes 100-199/{size}", content[100:200]),
        ("video/x-matroska", f"bytes {size - 5}-{size - 1}/{size}", content[-5:]),
    ]
    head_answer = mediacore_client.head(url, headers=asked)
    assert head_answer.status_code == 206 and head_answer.data == b""
    assert head_answer.headers["Content-Length"] == answer.headers["Content-Length"]

    # One range the file satisfies is sent as one; ranges that overlap or are out of order
    # (werkzeug does not parse them), or ranges of another version of the file (If-Range), get
    # the whole file; none satisfied is a 416.
    one = mediacore_client.get(url, headers={"Range": f"bytes=0-9,{size + 10}-"})
    assert (
        one.status_code == 206
        and one.data == content[:10]
        and one.headers["Content-Range"] == f"bytes 0-9/{size}"
    )
    for headers in ({"Range": "bytes=0-99,50-149"}, {"Range": "bytes=-5,0-9"}, {**asked, "If-Range": '"x"'}):
        whole = mediacore_client.get(url, headers=headers)
        assert whole.status_code == 200 and whole.data == content, headers
    same = mediacore_client.get(url, headers={**asked, "If-Range": answer.headers["ETag"]})
    assert same.status_code == 206 and same.mimetype == "multipart/byteranges"
    none = mediacore_client.get(url, headers={"Range": f"bytes={size}-{size + 5},{size + 10}-{size + 20}"})
    assert_error(none, 416, "requested_range_not_satisfiable")


def test_stream_of_missing_or_deleted_item_is_404(library, mediacore_client):
    item = item_named(mediacore_client, "Alpha (2001).mp4")
    os.remove(item["path"])
    assert_error(mediacore_client.get(f"/api/v1/media/{item['id']}/stream"), 404, "not_found", "missing")
    os.mkdir(item["path"])  # a folder where the file was
    for headers in ({}, {"Range": "bytes=0-9"}):
        response = mediacore_client.get(f"/api/v1/media/{item['id']}/stream", headers=headers)
        assert_error(response, 404, "not_found", "missing")
    other = item_named(mediacore_client, "Gamma (2001).mp4")
    mediacore_client.delete(f"/api/v1/media/{other['id']}?soft=1", headers=AUTH)
    assert_error(mediacore_client.get(f"/api/v1/media/{other['id']}/stream"), 404, "not_found")


#: Requests the stream lane answers in front of Flask: what players send while playing.
LANE_REQUESTS = {
    "whole file": {},
    "first bytes": {"Range": "bytes=0-99"},
    "open-ended": {"Range": "bytes=100-"},
    "suffix": {"Range": "bytes=-50"},
    "beyond the end": {"Range": "bytes=10-999999999"},
    "not in bytes (ignored)": {"Range": "pages=1-2"},
    "overlapping ranges (ignored)": {"Range": "bytes=0-99,50-149"},
    "two ranges, one beyond the end": {"Range": "bytes=0-9,999999999-"},
    "a suffix longer than the file": {"Range": "bytes=-999999999"},
}
#: Requests it leaves to the Flask view (werkzeug's conditional and range handling, errors).
VIEW_REQUESTS = {
    "HEAD": ("HEAD", "", {}),
    "If-None-Match": ("GET", "", {"If-None-Match": '"x"'}),
    "If-Range": ("GET", "", {"Range": "bytes=0-9", "If-Range": '"x"'}),
    "If-Modified-Since": ("GET", "", {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}),
    "download": ("GET", "download=1", {}),
    "bad query": ("GET", "download=maybe", {}),
    "unsatisfiable": ("GET", "", {"Range": "bytes=999999999-"}),
}


def same_answer(one, other):
    """Status code, body and headers alike (Date aside: it is the time of each answer)."""
    assert (one.status_code, one.data) == (other.status_code, other.data)
    headers = [{k: v for k, v in response.headers.items() if k != "Date"} for response in (one, other)]
    assert headers[0] == headers[1]


def test_stream_lane_answers_players_exactly_as_the_view_does(library, mediacore_app):
    library.add_video("Café Ωmega (2003).mkv", seconds=1)
    library.scan()
    lane = mediacore_app.wsgi_app
    through_lane, view_only = Client(mediacore_app), Client(lane.next)

    def both(url, **request):  # each answer read whole, so that its file is closed
        return through_lane.open(url, buffered=True, **request), view_only.open(url, buffered=True, **request)

    for filename in ("beta.2005.mkv", "Café Ωmega (2003).mkv"):
        url = item_named(through_lane, filename)["stream_url"]
        for name, headers in LANE_REQUESTS.items():
            answer = lane.answer(EnvironBuilder(url, headers=headers).get_environ())
            assert answer is not None, name
            answer.close()
            same_answer(*both(url, headers=headers))
        for name, (method, query, headers) in VIEW_REQUESTS.items():
            environ = EnvironBuilder(url, method=method, query_string=query, headers=headers).get_environ()
            assert lane.answer(environ) is None, name
            same_answer(*both(url, method=method, query_string=query, headers=headers))
    unknown = "/api/v1/media/999999/stream"
    assert lane.answer(EnvironBuilder(unknown).get_environ()) is None
    assert_error(through_lane.get(unknown), 404, "not_found")


def test_a_file_or_folder_swapped_for_a_symlink_out_of_the_root_is_not_streamed(
    library, mediacore_app, media_factory
):
    client, root = mediacore_app.test_client(), library.root("movies")
    urls = [item_named(client, name)["stream_url"] for name in ("Gamma (2001).mp4", "Alpha (2001).mp4")]
    for url in urls:  # streamed once: the lane keeps the rows, and must check the files again
        assert client.get(url, headers={"Range": "bytes=0-9"}).status_code == 206
    outside = library.base / "elsewhere"
    media_factory.video(outside / "Alpha (2001).mp4")
    (root / "Gamma (2001).mp4").unlink()
    (root / "Gamma (2001).mp4").symlink_to(outside / "Alpha (2001).mp4")
    shutil.rmtree(root / "Alpha (2001)")
    (root / "Alpha (2001)").symlink_to(outside, target_is_directory=True)
    for url in urls:
        for headers in ({}, {"Range": "bytes=0-99"}):
            assert mediacore_app.wsgi_app.answer(EnvironBuilder(url, headers=headers).get_environ()) is None
            assert_error(client.get(url, headers=headers), 404, "not_found", "configured root")


def test_the_stream_lane_reads_an_items_row_again_after_a_second_and_after_a_write(
    library, mediacore_app, mediacore_client
):
    from mediacore.web.stream import ROW_SECONDS, RecentRows

    now = [0.0]
    lane = mediacore_app.wsgi_app
    lane.rows = RecentRows(ROW_SECONDS, clock=lambda: now[0])

    def lane_answers(item):
        answer = lane.answer(EnvironBuilder(item["stream_url"], headers={"Range": "bytes=0-9"}).get_environ())
        if answer is not None:
            answer.close()
        return answer is not None

    def streamed(item):
        return lane_answers(item) and mediacore_client.get(item["stream_url"]).status_code == 200

    # Deleted by another process (a CLI, another worker): streamed from the kept row for at
    # most ROW_SECONDS, then the row is read again and the item is gone.
    elsewhere = item_named(mediacore_client, "Alpha (2001).mp4")
    assert streamed(elsewhere)
    with database.connection_context():
        MediaItem.update(status="deleted").where(MediaItem.id == elsewhere["id"]).execute()
    now[0] += ROW_SECONDS / 2
    assert lane_answers(elsewhere)
    now[0] += ROW_SECONDS / 2
    assert not streamed(elsewhere)
    assert_error(mediacore_client.get(elsewhere["stream_url"]), 404, "not_found")

    # Deleted through this worker: gone at once.
    here = item_named(mediacore_client, "Gamma (2001).mp4")
    assert streamed(here)
    assert mediacore_client.delete(f"/api/v1/media/{here['id']}?soft=1", headers=AUTH).status_code == 200
    assert not streamed(here)
    assert_error(mediacore_client.get(here["stream_url"]), 404, "not_found")


def test_stream_lane_wants_the_token_when_reads_need_one(library):
    from mediacore.web import create_app

    settings = {"MEDIACORE_API_TOKEN": "a", "MEDIACORE_REQUIRE_AUTH_FOR_READ": True}
    app = create_app({"MEDIACORE_CONFIG": str(library.config_path), **settings})
    client, token = client_for(app), {"Authorization": "Bearer a"}
    items = client.get("/api/v1/media", headers=token).get_json()["items"]
    url = items[0]["stream_url"]
    for headers, status in (({}, 401), ({"Authorization": "Bearer b"}, 403)):
        assert app.wsgi_app.answer(EnvironBuilder(url, headers=headers).get_environ()) is None
        assert client.get(url, headers=headers).status_code == status
    answer = app.wsgi_app.answer(EnvironBuilder(url, headers=token).get_environ())
    assert answer is not None
    answer.close()
    assert client.get(url, headers={**token, "Range": "bytes=0-9"}).status_code == 206


# -- posters ------------------------------------------------------------------------------------


def test_poster_fallbacks_resize_and_caching(library, mediacore_client):
    def poster(filename, query=""):
        item = item_named(mediacore_client, filename)
        return mediacore_client.get(f"/api/v1/media/{item['id']}/poster{query}")

    frame = poster("beta.2005.mkv")
    assert frame.status_code == 200 and frame.headers["X-Poster-Source"] == "frame"
    assert Image.open(io.BytesIO(frame.data)).size == (640, 480)
    assert "max-age" in frame.headers["Cache-Control"] and frame.headers["ETag"]

    (library.root("movies") / "Alpha (2001)" / "poster.png").write_bytes(png_bytes((20, 30), "green"))
    sidecar = poster("Alpha (2001).mp4")
    assert sidecar.headers["X-Poster-Source"] == "sidecar" and Image.open(io.BytesIO(sidecar.data)).size == (
        20,
        30,
    )

    library.add_audio("Band/Record/03.mp3", tags={"title": "Art"}, cover=png_bytes((25, 25), "blue"))
    library.add_audio("Band/Record/04.m4a", tags={"title": "Art4"}, cover=png_bytes((26, 26), "blue"))
    library.add_audio("Band/Record/05.flac", tags={"title": "Art5"}, cover=png_bytes((27, 27), "blue"))
    library.scan(categories=["music"])
    for name, side in (("03.mp3", 25), ("04.m4a", 26), ("05.flac", 27)):
        embedded = poster(name)
        assert embedded.headers["X-Poster-Source"] == "embedded", name
        assert Image.open(io.BytesIO(embedded.data)).size == (side, side)
        assert embedded.headers["ETag"]
        assert (
            mediacore_client.get(
                f"/api/v1/media/{item_named(mediacore_client, name)['id']}/poster",
                headers={"If-None-Match": embedded.headers["ETag"]},
            ).status_code
            == 304
        )

    placeholder = poster("02.flac")
    assert placeholder.headers["X-Poster-Source"] == "placeholder" and placeholder.mimetype == "image/png"
    # Posters, whether files (a video frame) or made in memory (a placeholder), answer byte
    # ranges as streams do: several come as multipart/byteranges.
    assert frame.headers["Last-Modified"]
    for name, whole in (("beta.2005.mkv", frame.data), ("02.flac", placeholder.data)):
        item_id = item_named(mediacore_client, name)["id"]
        asked = {"Range": "bytes=0-3,-4"}
        parts = mediacore_client.get(f"/api/v1/media/{item_id}/poster", headers=asked)
        assert parts.status_code == 206 and parts.mimetype == "multipart/byteranges", name
        payloads = [part.get_payload(decode=True) for part in byteranges(parts)]
        assert payloads == [whole[:4], whole[-4:]], name
    image = poster("photo.png")
    assert image.headers["X-Poster-Source"] == "self"

    resized = poster("beta.2005.mkv", "?w=100")
    assert resized.mimetype == "image/jpeg" and Image.open(io.BytesIO(resized.data)).size == (100, 75)
    assert resized.headers["ETag"] != frame.headers["ETag"]
    again = mediacore_client.get(
        f"/api/v1/media/{item_named(mediacore_client, 'beta.2005.mkv')['id']}/poster?w=100",
        headers={"If-None-Match": resized.headers["ETag"]},
    )
    assert again.status_code == 304
    assert_error(poster("beta.2005.mkv", "?w=5"), 400, "invalid_parameter", "w:")
    assert_error(poster("beta.2005.mkv", "?w=wide"), 400, "invalid_parameter", "w:")


# -- categories, stats, scans -------------------------------------------------------------------


def test_categories_and_scan_info(library, mediacore_client):
    alpha = item_named(mediacore_client, "Alpha (2001).mp4")
    mediacore_client.delete(f"/api/v1/media/{alpha['id']}?soft=1", headers=AUTH)
    body = mediacore_client.get("/api/v1/media/categories").get_json()
    assert body["default_category"] == "movies"
    categories = {entry["key"]: entry for entry in body["categories"]}
    assert list(categories) == ["movies", "tv_series", "music", "images"]
    movies = categories["movies"]
    assert movies["counts"] == {"available": 2, "missing": 0, "deleted": 1} and movies["total"] == 3
    assert movies["root_exists"] is True and movies["label"] == "Movies" and movies["media_type"] == "video"
    assert movies["root_path"] == str(library.root("movies"))
    kept = [path for path in library.root("movies").rglob("*.m*") if path.name != "Alpha (2001).mp4"]
    assert movies["total_size_bytes"] == sum(
        path.stat().st_size for path in kept
    )  # deleted items not counted

    info = mediacore_client.get("/api/v1/media/scan-info").get_json()
    assert info["total_items"] == 9
    assert info["by_status"] == {"available": 8, "missing": 0, "deleted": 1}
    assert info["by_category"] == {"movies": 3, "tv_series": 3, "music": 2, "images": 1}
    assert info["by_media_type"] == {"video": 6, "audio": 2, "image": 1}
    assert info["available_duration_seconds"] > 10 and info["available_size_bytes"] > 0
    assert info["last_scan"]["totals"]["added"] == 9 and info["last_scan"]["scanned_at"].endswith("Z")
    assert info["media_scan_directories"]["music"] == str(library.root("music"))


def test_maintenance_scan_route(library, mediacore_client):
    url = "/api/v1/admin/media/maintenance-scan"
    assert_error(mediacore_client.post(url), 401, "unauthorized")
    library.add_video("Delta (2010).mp4")
    dry = mediacore_client.post(
        url, json={"categories": ["movies"], "dry_run": True}, headers=AUTH
    ).get_json()
    assert dry["dry_run"] is True and dry["categories"]["movies"]["added"] == 1
    assert dry["selected_categories"] == ["movies"]
    real = mediacore_client.post(url, json={"limit": 100}, headers=AUTH).get_json()
    assert real["totals"]["added"] == 1 and real["totals"]["unchanged"] == 9
    empty_body = mediacore_client.post(url, headers=AUTH)
    assert empty_body.status_code == 200, empty_body.get_json()  # which lock, if a scan is refused
    assert empty_body.get_json()["totals"]["unchanged"] == 10
    refreshed = mediacore_client.post(url, json={"categories": ["movies"], "refresh": True}, headers=AUTH)
    movies = refreshed.get_json()["categories"]["movies"]
    assert (movies["updated"], movies["unchanged"]) == (movies["files_found"], 0) and movies["updated"] > 1

    for body, fragment in [
        ({"categories": "movies"}, "categories"),
        ({"limit": 0}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"refresh": 1}, "refresh"),
        ({"colour": 1}, "colour"),
        ({"categories": ["films"]}, "films"),
    ]:
        response = mediacore_client.post(url, json=body, headers=AUTH)
        assert response.status_code == 400 and fragment in response.get_json()["error"]["message"], body
    assert (
        "known categories: movies, tv_series"
        in mediacore_client.post(url, json={"categories": ["films"]}, headers=AUTH).get_json()["error"][
            "message"
        ]
    )
    assert_error(
        mediacore_client.post(url, data="{not json", headers={**AUTH, "Content-Type": "application/json"}),
        400,
        "invalid_body",
    )
    assert_error(mediacore_client.post(url, json=[1], headers=AUTH), 400, "invalid_body")
    with database.connection_context(), scan_lock(database.obj):
        assert_error(mediacore_client.post(url, json={}, headers=AUTH), 409, "scan_already_running")


# -- auth and errors ----------------------------------------------------------------------------


def test_reads_can_require_auth(library, monkeypatch):
    from mediacore.web import create_app

    app = create_app(
        {
            "MEDIACORE_CONFIG": str(library.config_path),
            "MEDIACORE_API_TOKEN": "a, b",
            "MEDIACORE_REQUIRE_AUTH_FOR_READ": True,
        }
    )
    client = app.test_client()
    assert_error(client.get("/api/v1/media"), 401, "unauthorized")
    assert client.get("/api/v1/media", headers={"Authorization": "Bearer b"}).status_code == 200
    assert client.get("/api/v1/media", headers={"Authorization": "bearer a"}).status_code == 200
    assert_error(client.get("/api/v1/media", headers={"Authorization": "Basic a"}), 401, "unauthorized")
    assert client.get("/api/v1/health").status_code == 200


def test_without_a_configured_token_one_is_generated_privately(library, monkeypatch):
    from mediacore.web import create_app

    monkeypatch.delenv("MEDIACORE_API_TOKEN", raising=False)
    app = create_app({"MEDIACORE_CONFIG": str(library.config_path)})
    token_file = library.base / "data" / "api_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    client = app.test_client()
    url = "/api/v1/admin/media/maintenance-scan"
    assert client.post(url, json={"dry_run": True}).status_code == 401
    assert (
        client.post(url, json={"dry_run": True}, headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert create_app({"MEDIACORE_CONFIG": str(library.config_path)}).config["MEDIACORE_TOKENS"] == [token]


class BrokenPoster:
    @hookimpl(tryfirst=True)
    def mediacore_resolve_poster(self, item):
        raise RuntimeError("secret internals")


class VanishingPoster:
    @hookimpl(tryfirst=True)
    def mediacore_resolve_poster(self, item):
        return PosterImage("vanishing", path="/nonexistent/secret/internals.jpg")


def test_a_raising_poster_plugin_falls_back_to_the_builtins(library, mediacore_client, register_plugin):
    register_plugin(BrokenPoster(), name="broken-poster")
    item = item_named(mediacore_client, "photo.png")
    response = mediacore_client.get(f"/api/v1/media/{item['id']}/poster")
    assert response.status_code == 200 and response.headers["X-Poster-Source"] == "self"


class EditableTitles:
    """Metadata from somewhere other than the file (as an .nfo is): it changes, the file does not."""

    def __init__(self) -> None:
        self.titles: dict[str, str] = {}

    @hookimpl(tryfirst=True)
    def mediacore_extract_metadata(self, path):
        title = self.titles.get(os.path.basename(path))
        if title == "raise":
            raise ValueError("this sidecar is broken")
        return {"title": title} if title else None


def test_refresh_reads_one_item_again(library, mediacore_client, register_plugin):
    titles = EditableTitles()
    register_plugin(titles, name="editable-titles")
    item = item_named(mediacore_client, "beta.2005.mkv")
    url = f"/api/v1/media/{item['id']}/refresh"
    assert_error(mediacore_client.post(url), 401, "unauthorized")

    titles.titles["beta.2005.mkv"] = "Beta: The Director's Cut"
    assert library.scan(categories=["movies"])["totals"]["updated"] == 0  # the file did not change
    untouched = item_named(mediacore_client, "Gamma (2001).mp4")["updated_at"]
    refreshed = mediacore_client.post(url, headers=AUTH)
    assert refreshed.status_code == 200, refreshed.data
    body = refreshed.get_json()
    assert body["errors"] == [] and body["item"]["title"] == "Beta: The Director's Cut"
    assert body["item"]["duration_seconds"] == pytest.approx(3, abs=0.2)  # the built-ins still read it
    assert body["item"]["stream_url"].endswith(f"/api/v1/media/{item['id']}/stream")
    assert (
        mediacore_client.get(f"/api/v1/media/{item['id']}").get_json()["title"] == "Beta: The Director's Cut"
    )
    assert item_named(mediacore_client, "Gamma (2001).mp4")["updated_at"] == untouched  # one item only

    titles.titles["beta.2005.mkv"] = "raise"  # a failing plugin is reported; the others' answers kept
    failed = mediacore_client.post(url, headers=AUTH).get_json()
    assert failed["errors"] == ["editable-titles: ValueError: this sidecar is broken"]
    assert failed["item"]["title"] == "beta" and failed["item"]["year"] == 2005

    assert_error(mediacore_client.post("/api/v1/media/999999/refresh", headers=AUTH), 404, "not_found")
    gone = item_named(mediacore_client, "Gamma (2001).mp4")
    (library.root("movies") / "Gamma (2001).mp4").unlink()
    assert_error(
        mediacore_client.post(f"/api/v1/media/{gone['id']}/refresh", headers=AUTH),
        404,
        "not_found",
        "missing",
    )


def test_every_error_is_json(library, mediacore_client, register_plugin):
    assert_error(mediacore_client.get("/nowhere"), 404, "not_found")
    assert_error(mediacore_client.get("/api/v1/media/1/nothing"), 404, "not_found")
    method = mediacore_client.put("/api/v1/media")
    assert_error(method, 405, "method_not_allowed")
    assert "GET" in method.headers["Allow"]
    register_plugin(VanishingPoster(), name="vanishing-poster")
    item = item_named(mediacore_client, "photo.png")
    crash = mediacore_client.get(f"/api/v1/media/{item['id']}/poster")
    error = assert_error(crash, 500, "internal_error")
    assert "secret internals" not in error["message"]


def test_search_is_substring_case_insensitive_and_unicode(media_library, mediacore_client):
    media_library.add_video("Большой Фильм (2001).mp4")
    media_library.add_video("Ab Cd (2002).mp4")
    media_library.add_audio("x.mp3", tags={"title": 'Quote "me" 50% off', "artist": "Ünïcode Band"})
    media_library.scan()

    def titles(q):
        response = mediacore_client.get("/api/v1/media", query_string={"q": q})
        assert response.status_code == 200, response.data
        return sorted(item["title"] for item in response.get_json()["items"])

    assert titles("фильм") == ["Большой Фильм"]
    assert titles("ÜNÏCODE") == ['Quote "me" 50% off']
    assert titles('"me"') == ['Quote "me" 50% off']
    assert titles("50%") == ['Quote "me" 50% off']
    assert titles("0%") == ['Quote "me" 50% off']  # two characters: the scanning path
    assert titles("b c") == ["Ab Cd"]
    assert titles("x.mp") == ['Quote "me" 50% off']  # file names are searched too
    assert titles("zzz") == []
    assert mediacore_client.get("/api/v1/media?q=фильм").get_json()["total"] == 1


def test_inputs_found_by_fuzzing_get_clear_answers(library, mediacore_client):
    """Regressions from schemathesis runs: none of these may reach the database as a 500."""
    huge = "9" * 25
    for query, name in ((f"season={huge}", "season"), (f"year=-{huge}", "year"), ("page=1000000001", "page")):
        assert_error(mediacore_client.get(f"/api/v1/media?{query}"), 400, "invalid_parameter", name)
    assert_error(mediacore_client.get(f"/api/v1/media/{huge}"), 404, "not_found")
    assert_error(mediacore_client.delete(f"/api/v1/media/{huge}", headers=AUTH), 404, "not_found")
    item = item_named(mediacore_client, "Gamma (2001).mp4")
    url = f"/api/v1/media/{item['id']}/stream"
    ignored = mediacore_client.get(url, headers={"Range": "pages=1-2"})  # a Range we cannot parse: ignored
    assert ignored.status_code == 200 and len(ignored.data) == item["size_bytes"]
    assert_error(mediacore_client.get(url + "?download="), 400, "invalid_parameter", "download")


def test_nul_characters_are_refused_not_stored(library, mediacore_client):
    assert_error(mediacore_client.get("/api/v1/media?series=a%00b"), 400, "invalid_parameter", "series")
    assert_error(mediacore_client.get("/api/v1/media?q=%00"), 400, "invalid_parameter", "q")
    video = (library.root("movies") / "Gamma (2001).mp4").read_bytes()
    response = mediacore_client.post(
        "/api/v1/media/upload",
        headers=AUTH,
        content_type="multipart/form-data",
        data={"title": "bad\x00title", "file": (io.BytesIO(video), "Nul (2003).mp4")},
    )
    assert_error(response, 400, "invalid_parameter", "title")
    assert not (library.root("movies") / "Nul (2003).mp4").exists()
    assert [p.name for p in library.root("movies").iterdir() if p.name.startswith(".")] == []
