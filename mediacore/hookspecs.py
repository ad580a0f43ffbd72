"""Every hook mediacore calls, in one place.

Hooks are called with keyword arguments only; an implementation may accept any subset of the
arguments listed here, which is how hooks gain arguments without breaking older plugins.
Do not give hook implementation arguments default values: pluggy would pass the default, not
the caller's value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .config import MediaCategory
    from .values import MediaType, PosterImage

hookspec = pluggy.HookspecMarker("mediacore")
hookimpl = pluggy.HookimplMarker("mediacore")


@hookspec
def mediacore_media_types() -> list[MediaType] | None:
    """Register media types that categories may name in ``media_type``.

    Called once when a configuration is loaded, before it is validated.

    :returns: a list of :class:`mediacore.MediaType` (name and default extensions), or None.
        Lists from all plugins are combined; when two plugins register the same name, the
        one called first (a ``tryfirst`` or third-party plugin before a built-in) wins.
    """


@hookspec
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    """Read metadata from one media file.

    Called by scans for every new or changed file, and by uploads for the uploaded file. Scans
    call it in parallel, in worker threads (servers) or forked worker processes (the command
    line): implementations must be thread-safe, and what they change in memory stays in the
    worker (return data, do not accumulate it in globals).

    :param path: absolute path of the file.
    :param category: the :class:`mediacore.MediaCategory` the file belongs to; check
        ``category.media_type`` and return None for files you do not handle.
    :returns: a dict of metadata, or None. Keys that match a ``media_items`` column (``title``,
        ``description``, ``duration_seconds``, ``width``, ``height``, ``video_codec``,
        ``audio_codec``, ``bitrate``, ``year``, ``series``, ``season``, ``episode``, ``artist``,
        ``album``, ``track_number``, ``mime_type``) fill that column; every key is kept in the
        item's ``metadata`` JSON.

    Every implementation runs, even when another raises: the engine calls them one by one and
    records an exception as an error against the file (raise
    :class:`mediacore.UnsupportedMedia` when the file is not of the type you handle). Results
    are merged key by key; where two plugins give the same key, the one called first wins,
    so a third-party plugin overrides the built-ins (which are ``trylast``), and ``tryfirst``
    beats both. None values never override.
    """


@hookspec(firstresult=True)
def mediacore_resolve_poster(
    item: dict[str, Any], category: MediaCategory, cache_dir: str
) -> PosterImage | None:
    """Find the poster image for a media item.

    Called by the API's poster route when the poster is not cached yet.

    :param item: the item as the API shows it (``path``, ``title``, ``media_type``, ``metadata``...).
    :param category: the item's category.
    :param cache_dir: a folder where an implementation may cache what it renders.
    :returns: a :class:`mediacore.PosterImage`, or None to let the next implementation try.
        The first non-None answer wins; an implementation that raises is logged and skipped.
        The built-in resolver is ``trylast`` and tries, in order, sidecar files, embedded art,
        a video frame, then a category placeholder.
    """


@hookspec
def mediacore_handle_missing(item: dict[str, Any], category: MediaCategory, dry_run: bool) -> bool | None:
    """React to an item that a scan has just marked missing.

    Called once per newly missing item, after the scan committed the change; in a dry run it is
    called with ``dry_run=True`` and implementations must not write anything.

    :returns: True when the implementation recorded the item (the built-in handler appends a
        JSON line to ``media_deletions.log``). Every implementation runs even when another
        raises; the scan counts an item in ``logged_missing`` when at least one returned True.
    """
