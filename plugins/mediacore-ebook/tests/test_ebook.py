"""A category of a media type that only this plugin knows, end to end."""

from __future__ import annotations

import io
import zipfile

import pytest

from mediacore.testing import TEST_TOKEN, png_bytes

CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""

OPF = """<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>War and Peace</dc:title><dc:creator>Leo Tolstoy</dc:creator><dc:language>en</dc:language>
    <dc:date>1869-01-01</dc:date><dc:publisher>The Russian Messenger</dc:publisher>
  </metadata>
  <manifest><item id="c" href="images/cover.png" media-type="image/png" properties="cover-image"/></manifest>
</package>"""


def epub(cover: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr("META-INF/container.xml", CONTAINER)
        book.writestr("OEBPS/content.opf", OPF)
        book.writestr("OEBPS/images/cover.png", cover)
    return buffer.getvalue()


@pytest.fixture
def books(media_library):
    categories = dict(media_library.categories)
    categories["books"] = {"label": "Books", "root_path": "media/Books", "media_type": "ebook"}
    media_library.write_config(categories=categories)
    return media_library


def test_a_category_of_ebooks_is_scanned_listed_and_has_covers(books, mediacore_client):
    cover = png_bytes((12, 18), "purple")
    (books.root("books") / "tolstoy.EPUB").write_bytes(epub(cover))
    (books.root("books") / "broken.epub").write_bytes(b"not a zip at all")
    summary = books.scan(categories=["books"])
    assert summary["categories"]["books"]["added"] == 2
    [error] = summary["categories"]["books"]["errors"]
    assert error["path"].endswith("broken.epub") and "not an EPUB" in error["error"]
    listed = mediacore_client.get("/api/v1/media?media_type=ebook&sort=title").get_json()["items"]
    book = next(item for item in listed if item["filename"] == "tolstoy.EPUB")
    assert (book["title"], book["artist"], book["year"], book["category"]) == (
        "War and Peace",
        "Leo Tolstoy",
        1869,
        "books",
    )
    assert book["metadata"]["publisher"] == "The Russian Messenger"
    poster = mediacore_client.get(book["poster_url"])
    assert poster.headers["X-Poster-Source"] == "epub-cover" and poster.data == cover
    categories = {
        c["key"]: c for c in mediacore_client.get("/api/v1/media/categories").get_json()["categories"]
    }
    assert categories["books"]["media_type"] == "ebook" and categories["books"]["counts"]["available"] == 2


def test_upload_into_the_ebook_category(books, mediacore_client):
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    good = mediacore_client.post(
        "/api/v1/media/upload",
        headers=headers,
        content_type="multipart/form-data",
        data={"category": "books", "file": (io.BytesIO(epub(png_bytes())), "Book.epub")},
    )
    assert good.status_code == 201 and good.get_json()["title"] == "War and Peace"
    bad = mediacore_client.post(
        "/api/v1/media/upload",
        headers=headers,
        content_type="multipart/form-data",
        data={"category": "books", "file": (io.BytesIO(b"text"), "Fake.epub")},
    )
    assert bad.status_code == 415 and "not an EPUB" in bad.get_json()["error"]["message"]
    assert sorted(path.name for path in books.root("books").iterdir()) == ["Book.epub"]
