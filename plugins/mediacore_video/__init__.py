"""Built-in plugin: the ``video`` media type and its technical metadata, read by libmediainfo.

The parsers are imported on first use, so a rescan with nothing to read never loads them.
"""

from __future__ import annotations

from typing import Any

from mediacore import MediaCategory, MediaType, UnsupportedMedia, hookimpl

#: libmediainfo format names -> the short codec names players and Jellyfin/Plex show.
CODEC_NAMES = {
    "AVC": "h264",
    "HEVC": "hevc",
    "AV1": "av1",
    "VP8": "vp8",
    "VP9": "vp9",
    "MPEG-4 Visual": "mpeg4",
    "MPEG Video": "mpeg2video",
    "AAC": "aac",
    "MPEG Audio": "mp3",
    "Opus": "opus",
    "Vorbis": "vorbis",
    "FLAC": "flac",
    "AC-3": "ac3",
    "E-AC-3": "eac3",
    "DTS": "dts",
    "PCM": "pcm",
}


@hookimpl(trylast=True)
def mediacore_media_types() -> list[MediaType]:
    return [
        MediaType("video", ("mp4", "mkv", "mov", "avi", "m4v", "webm", "ts", "wmv"), "Movies and episodes")
    ]


@hookimpl(trylast=True)
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    if category.media_type != "video":
        return None
    info = _parse(path)
    general = info.general_tracks[0] if info.general_tracks else None
    if not info.video_tracks:
        found = getattr(general, "format", None) if general else None
        raise UnsupportedMedia(f"no video stream found{f' (container: {found})' if found else ''}")
    video = info.video_tracks[0]
    audio = info.audio_tracks
    duration_ms = _number(getattr(general, "duration", None)) or _number(video.duration)
    return {
        "duration_seconds": round(duration_ms / 1000, 3) if duration_ms else None,
        "width": _number(video.width),
        "height": _number(video.height),
        "video_codec": _codec(video.format),
        "audio_codec": _codec(audio[0].format) if audio else None,
        "bitrate": _number(getattr(general, "overall_bit_rate", None)),
        "frame_rate": _number(video.frame_rate),
        "container": getattr(general, "format", None),
        "container_title": getattr(general, "title", None),
        "audio_languages": [track.language for track in audio if track.language],
        "subtitle_languages": [track.language for track in info.text_tracks if track.language],
        "audio_channels": _number(audio[0].channel_s) if audio else None,
    }


def _parse(path: str) -> Any:
    from pymediainfo import MediaInfo

    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # libmediainfo opens names as UTF-8; hand it the open file instead
        with open(path, "rb") as stream:
            return MediaInfo.parse(stream)
    return MediaInfo.parse(path)


def _codec(name: str | None) -> str | None:
    return CODEC_NAMES.get(name, name.lower()) if name else None


def _number(value: Any) -> Any:
    """libmediainfo answers numbers as int, float or text such as '23.976' or '2 / 6'."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value).split("/")[0].strip()
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number
