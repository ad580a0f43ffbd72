"""Built-in plugin: the ``audio`` media type, its stream facts and tags, read by mutagen."""

from __future__ import annotations

import re
from typing import Any

from mediacore import MediaCategory, MediaType, UnsupportedMedia, hookimpl

_YEAR = re.compile(r"\b(\d{4})\b")


@hookimpl(trylast=True)
def mediacore_media_types() -> list[MediaType]:
    return [MediaType("audio", ("mp3", "flac", "m4a", "ogg", "opus", "wav", "aac", "wma"), "Music and audio")]


@hookimpl(trylast=True)
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    if category.media_type != "audio":
        return None
    import mutagen

    try:
        audio = mutagen.File(path, easy=True)
    except mutagen.MutagenError as exc:
        raise UnsupportedMedia(f"not a readable audio file: {exc}") from None
    if audio is None:
        raise UnsupportedMedia("not a recognised audio file")
    info = audio.info
    tags = audio.tags or {}
    track, track_total = _numbers(_first(tags, "tracknumber"))
    disc, disc_total = _numbers(_first(tags, "discnumber"))
    date = _first(tags, "date") or _first(tags, "originaldate")
    year = _YEAR.search(date) if date else None
    bitrate = getattr(info, "bitrate", None)
    return {
        "duration_seconds": round(info.length, 3) if getattr(info, "length", None) else None,
        "bitrate": bitrate or None,
        "sample_rate": getattr(info, "sample_rate", None),
        "channels": getattr(info, "channels", None),
        "audio_codec": _codec(audio),
        "title": _first(tags, "title"),
        "artist": _first(tags, "artist"),
        "album": _first(tags, "album"),
        "album_artist": _first(tags, "albumartist"),
        "track_number": track,
        "track_total": track_total,
        "disc_number": disc,
        "disc_total": disc_total,
        "year": int(year.group(1)) if year else None,
        "genre": _first(tags, "genre"),
    }


def _first(tags: Any, key: str) -> str | None:
    try:
        values = tags.get(key)
    except (KeyError, ValueError):
        return None
    if not values:
        return None
    value = values[0] if isinstance(values, list) else values
    return str(value).strip() or None


def _numbers(value: str | None) -> tuple[int | None, int | None]:
    """'3/12' -> (3, 12); '3' -> (3, None)."""
    if not value:
        return None, None
    number, _, total = value.partition("/")
    return _int(number), _int(total)


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _codec(audio: Any) -> str | None:
    name = type(audio).__name__.lower().replace("easy", "")
    codec = getattr(audio.info, "codec", None)  # MP4 answers e.g. 'mp4a.40.2' or 'alac'
    if codec:
        return "aac" if codec.startswith("mp4a") else codec
    return {"mp3": "mp3", "flac": "flac", "oggvorbis": "vorbis", "oggopus": "opus", "wave": "pcm"}.get(
        name, name
    )
