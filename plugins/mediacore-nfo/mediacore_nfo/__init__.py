"""mediacore plugin: metadata and posters from Kodi/Jellyfin ``.nfo`` sidecars.

This module is also the quickstart for plugin authors: it imports nothing from mediacore but
the ``hookimpl`` marker and public value types, declares its entry point in its own
``pyproject.toml`` (group ``mediacore``), and its tests use the ``mediacore.testing`` fixtures.
Its XML parser is imported on first use: every command loads the plugins, and a rescan with
nothing to read should not pay for parsers it never calls.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mediacore import MediaCategory, PosterImage, hookimpl

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

ROOTS = ("movie", "episodedetails", "tvshow")
POSTER_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


class NfoError(ValueError):
    """A sidecar that exists but cannot be used; the scan records it against the video."""


@hookimpl
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    if category.media_type != "video":
        return None
    folder, filename = os.path.split(path)
    stem = os.path.splitext(filename)[0]
    show_path = _find(folder, ["tvshow.nfo"], levels=2, root=str(category.root_path))
    own_path = _find(folder, [f"{stem}.nfo"] if show_path else [f"{stem}.nfo", "movie.nfo"], levels=0)
    metadata: dict[str, Any] = {}
    if show_path:
        show = read_nfo(show_path)
        metadata.update(
            series=show["title"],
            series_plot=show["description"],
            genres=show["genres"],
            nfo_tvshow=show_path,
            nfo_poster=show["poster"],
        )
    if own_path:
        own = read_nfo(own_path)
        if own["kind"] == "episodedetails":
            own["episode_title"] = own["title"]
        metadata.update({key: value for key, value in own.items() if key not in ("kind", "poster") and value})
        metadata.update(nfo_path=own_path, nfo_poster=own["poster"] or metadata.get("nfo_poster"))
    return {key: value for key, value in metadata.items() if value is not None} or None


@hookimpl
def mediacore_resolve_poster(item: dict[str, Any]) -> PosterImage | None:
    poster = (item.get("metadata") or {}).get("nfo_poster")
    if poster and os.path.isfile(poster):
        extension = os.path.splitext(poster)[1].lower()
        return PosterImage("nfo", path=poster, content_type=POSTER_TYPES.get(extension, "image/jpeg"))
    return None


def read_nfo(path: str) -> dict[str, Any]:
    """The fields mediacore uses from one ``.nfo`` file."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import parse

    try:
        root = parse(path).getroot()  # defusedxml: no entity expansion, no external entities
    except (ParseError, DefusedXmlException) as exc:
        raise NfoError(f"malformed NFO {os.path.basename(path)}: {type(exc).__name__}: {exc}") from None
    if root.tag not in ROOTS:
        raise NfoError(
            f"{os.path.basename(path)}: root element <{root.tag}> is not one of {', '.join(ROOTS)}"
        )
    year = _int(_text(root, "year")) or _int((_text(root, "premiered") or _text(root, "aired") or "")[:4])
    return {
        "kind": root.tag,
        "title": _text(root, "title"),
        "original_title": _text(root, "originaltitle"),
        "description": _text(root, "plot") or _text(root, "outline"),
        "year": year,
        "genres": [genre.text.strip() for genre in root.findall("genre") if genre.text and genre.text.strip()]
        or None,
        "rating": _rating(root),
        "season": _int(_text(root, "season")) if root.tag == "episodedetails" else None,
        "episode": _int(_text(root, "episode")) if root.tag == "episodedetails" else None,
        "series": _text(root, "showtitle"),
        "poster": _poster(root, os.path.dirname(path)),
        "poster_url": _remote_poster(root),
    }


def _find(folder: str, names: list[str], *, levels: int, root: str | None = None) -> str | None:
    real_root = os.path.realpath(root) if root else None
    for _ in range(levels + 1):
        for name in names:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return candidate
        if real_root is None or os.path.realpath(folder) == real_root:
            break
        folder = os.path.dirname(folder)
    return None


def _text(root: Element, tag: str) -> str | None:
    node = root.find(tag)
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _rating(root: Element) -> float | None:
    candidates = root.findall("ratings/rating")
    chosen = next(
        (node for node in candidates if node.get("default") == "true"), candidates[0] if candidates else None
    )
    text = chosen.findtext("value") if chosen is not None else root.findtext("rating")
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _thumbs(root: Element) -> list[str]:
    nodes = [
        *root.findall("art/poster"),
        *(n for n in root.findall("thumb") if n.get("aspect") in (None, "poster")),
    ]
    return [node.text.strip() for node in nodes if node.text and node.text.strip()]


def _poster(root: Element, folder: str) -> str | None:
    for value in _thumbs(root):
        if "://" in value:
            continue
        candidate = os.path.normpath(os.path.join(folder, value))
        if os.path.splitext(candidate)[1].lower() in POSTER_TYPES and os.path.isfile(candidate):
            return candidate
    return None


def _remote_poster(root: Element) -> str | None:
    return next((value for value in _thumbs(root) if "://" in value), None)
