"""mediacore plugin: the ``ebook`` media type (EPUB), its metadata and its cover.

zipfile and the XML parser are imported on first use, so a rescan with nothing to read never
loads them.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from mediacore import MediaCategory, MediaType, PosterImage, UnsupportedMedia, hookimpl

if TYPE_CHECKING:
    import zipfile
    from xml.etree.ElementTree import Element

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
}


@hookimpl
def mediacore_media_types() -> list[MediaType]:
    return [MediaType("ebook", ("epub",), "Electronic books")]


@hookimpl
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    if category.media_type != "ebook":
        return None
    with _open(path) as book:
        package, _ = _package(book)
    metadata = package.find("opf:metadata", NS)
    if metadata is None:
        raise UnsupportedMedia("EPUB package document has no <metadata>")

    def first(tag: str) -> str | None:
        node = metadata.find(f"dc:{tag}", NS)
        return node.text.strip() if node is not None and node.text and node.text.strip() else None

    date = first("date")
    return {
        "title": first("title"),
        "artist": first("creator"),  # the author fills the column players show as the artist
        "authors": [node.text.strip() for node in metadata.findall("dc:creator", NS) if node.text],
        "language": first("language"),
        "publisher": first("publisher"),
        "description": first("description"),
        "year": int(date[:4]) if date and date[:4].isdigit() else None,
        "mime_type": "application/epub+zip",
    }


@hookimpl
def mediacore_resolve_poster(item: dict[str, Any]) -> PosterImage | None:
    if item.get("media_type") != "ebook":
        return None
    try:
        with _open(item["path"]) as book:
            package, base = _package(book)
            href, content_type = _cover(package)
            if href is None:
                return None
            return PosterImage(
                "epub-cover", data=book.read(posixpath.join(base, href)), content_type=content_type
            )
    except (UnsupportedMedia, KeyError, OSError):
        return None


def _open(path: str) -> zipfile.ZipFile:
    import zipfile

    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnsupportedMedia(f"not an EPUB (zip) file: {exc}") from None


def _package(book: zipfile.ZipFile) -> tuple[Element, str]:
    """The OPF package document and the folder its links are relative to."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        container = fromstring(book.read("META-INF/container.xml"))
        rootfile = container.find("c:rootfiles/c:rootfile", NS)
        if rootfile is None:
            raise UnsupportedMedia("EPUB container names no package document")
        opf_path = rootfile.get("full-path", "")
        return fromstring(book.read(opf_path)), posixpath.dirname(opf_path)
    except KeyError as exc:
        raise UnsupportedMedia(f"not an EPUB: {exc.args[0]}") from None
    except (ParseError, DefusedXmlException) as exc:
        raise UnsupportedMedia(f"EPUB metadata is not valid XML: {exc}") from None


def _cover(package: Element) -> tuple[str | None, str]:
    items = package.findall("opf:manifest/opf:item", NS)
    cover = next((item for item in items if "cover-image" in (item.get("properties") or "").split()), None)
    if cover is None:  # EPUB 2: <meta name="cover" content="item-id"/>
        meta = package.find("opf:metadata/opf:meta[@name='cover']", NS)
        wanted = meta.get("content") if meta is not None else None
        cover = next((item for item in items if item.get("id") == wanted), None)
    if cover is None:
        return None, ""
    return cover.get("href"), cover.get("media-type") or "image/jpeg"
