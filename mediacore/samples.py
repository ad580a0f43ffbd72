"""Small real media files, encoded with PyAV and Pillow: the sample library of
``mediacore init --samples`` and the files the test fixtures generate.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageDraw

from .config import MediaCategory

SAMPLE_RATE = 44_100
_MUXERS = {"mkv": "matroska", "m4a": "ipod", "m4v": "mp4", "opus": "ogg", "ogg": "ogg", "mov": "mov"}
_AUDIO_CODECS = {
    "mp3": "libmp3lame",
    "flac": "flac",
    "m4a": "aac",
    "ogg": "libopus",
    "opus": "libopus",
    "wav": "pcm_s16le",
    "mp4": "aac",
    "mkv": "aac",
    "mov": "aac",
    "m4v": "aac",
    "webm": "libopus",
    "avi": "libmp3lame",
}


def _muxer(path: Path) -> str:
    extension = path.suffix.lstrip(".").lower()
    return _MUXERS.get(extension, extension)


def write_video(
    path: str | os.PathLike[str],
    *,
    seconds: float = 2.0,
    size: tuple[int, int] = (320, 240),
    fps: int = 10,
    audio: bool = True,
) -> Path:
    """A video with a moving bar (H.264, or VP9 for .webm, MPEG-4 for .avi) and a sine tone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extension = path.suffix.lstrip(".").lower()
    codec = {"webm": "libvpx-vp9", "avi": "mpeg4"}.get(extension, "libx264")
    with av.open(os.fspath(path), "w", format=_muxer(path)) as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        if codec == "libx264":
            video.options = {"preset": "ultrafast"}
        sound = _audio_stream(container, _AUDIO_CODECS[extension]) if audio else None
        frames = max(1, round(seconds * fps))
        for index in range(frames):
            frame = av.VideoFrame.from_image(_picture(size, index, frames))
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            _encode_tone(container, sound, seconds)
    return path


def write_audio(path: str | os.PathLike[str], *, seconds: float = 1.0) -> Path:
    """A sine tone in the format the suffix names: mp3, flac, m4a, ogg, opus or wav."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extension = path.suffix.lstrip(".").lower()
    with av.open(os.fspath(path), "w", format=_muxer(path)) as container:
        _encode_tone(container, _audio_stream(container, _AUDIO_CODECS[extension]), seconds)
    return path


def write_image(
    path: str | os.PathLike[str], *, size: tuple[int, int] = (64, 48), colour: str = "navy"
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def tag_audio(path: Path, tags: dict[str, str], cover: bytes | None = None) -> None:
    """Write tags (mutagen's easy names: title, artist, album, tracknumber, date...) and cover art."""
    import mutagen
    from mutagen.flac import Picture
    from mutagen.id3 import APIC
    from mutagen.mp4 import MP4Cover

    media = mutagen.File(path, easy=True)
    if media is None:
        raise ValueError(f"mutagen cannot tag {path}")
    if media.tags is None:
        media.add_tags()
    for key, value in tags.items():
        media[key] = value
    media.save()
    if cover is None:
        return
    media = mutagen.File(path)
    if path.suffix.lower() == ".mp3":
        media.tags.add(APIC(encoding=3, mime="image/png", type=3, desc="cover", data=cover))
    elif path.suffix.lower() == ".m4a":
        media.tags["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_PNG)]
    elif path.suffix.lower() == ".flac":
        picture = Picture()
        picture.type, picture.mime, picture.data = 3, "image/png", cover
        media.add_picture(picture)
    media.save()


def _picture(size: tuple[int, int], index: int, frames: int) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (20, 40, 90))
    draw = ImageDraw.Draw(image)
    left = int((width - width // 8) * index / max(1, frames - 1))
    draw.rectangle((left, 0, left + width // 8, height), fill=(240, 200, 40))
    draw.rectangle((0, height - height // 10, width * (index + 1) // frames, height), fill=(200, 60, 60))
    return image


def _audio_stream(container: av.container.OutputContainer, codec: str) -> Any:
    stream: Any = container.add_stream(codec, rate=48_000 if codec == "libopus" else SAMPLE_RATE)
    stream.layout = "mono"
    return stream


def _encode_tone(
    container: av.container.OutputContainer, stream: av.audio.AudioStream, seconds: float
) -> None:
    """Feed a 440 Hz tone in the encoder's own frame size and sample format."""
    rate = stream.rate or SAMPLE_RATE
    total = int(seconds * rate)
    chunk = stream.codec_context.frame_size or 1024
    resampler = av.AudioResampler(format=stream.codec_context.format or "s16", layout="mono", rate=rate)
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        samples = array(
            "h", (int(8000 * math.sin(2 * math.pi * 440 * (start + i) / rate)) for i in range(count))
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for converted in resampler.resample(frame):
            for packet in stream.encode(converted):
                container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


SAMPLE_SONG_TAGS = {
    "title": "Sample Song",
    "artist": "Sample Artist",
    "album": "Sample Album",
    "tracknumber": "1/1",
    "date": "2021",
}


def write_samples(category: MediaCategory) -> list[Path]:
    """A few sample files in a category's folder, named as its ``naming`` expects (existing kept)."""
    root = Path(category.root_path)
    planned: dict[Path, Callable[[Path], Path]]
    if category.media_type == "video" and category.naming == "tv":
        planned = {
            root / "Sample Show" / "Season 01" / f"Sample Show - S01E0{n}.mkv": write_video for n in (1, 2)
        }
    elif category.media_type == "video":
        planned = {root / "Sample Movie (2021)" / "Sample Movie (2021).mp4": write_video}
    elif category.media_type == "audio":
        planned = {root / "Sample Artist" / "Sample Album" / "01 - Sample Song.mp3": write_audio}
    elif category.media_type == "image":
        planned = {root / "sample.png": write_image}
    else:
        return []
    written = []
    for path, write in planned.items():
        if not path.exists():
            write(path)
            if category.media_type == "audio":
                tag_audio(path, SAMPLE_SONG_TAGS)
            written.append(path)
    return written
