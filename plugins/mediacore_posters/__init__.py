"""Built-in plugin: a poster for every item, trying in order

1. sidecar files as Kodi and Jellyfin name them (``<name>-poster.jpg``, ``<name>.jpg``,
   ``poster.jpg``, ``folder.jpg``, ``cover.jpg``; .jpg/.jpeg/.png/.webp), beside the file, then
   in up to two parent folders inside the root (season and show folders);
2. art embedded in the file (MP3 APIC, MP4 covr, FLAC and Ogg pictures);
3. a frame of the video at about 10% of its length (PyAV), cached;
4. a placeholder drawn for the category, cached.

It is ``trylast``: any other plugin's poster wins.
"""

from __future__ import annotations

import base64
import hashlib
import os
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediacore import MediaCategory, PosterImage, hookimpl
from mediacore.scanner import fs_path

if TYPE_CHECKING:
    from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
FOLDER_NAMES = ("poster", "folder", "cover")
FRAME_POSITION = 0.10


@hookimpl(trylast=True)
def mediacore_resolve_poster(item: dict[str, Any], category: MediaCategory, cache_dir: str) -> PosterImage:
    path = fs_path(item["path"])
    if item.get("media_type") == "image" and os.path.exists(path):
        return PosterImage("self", path=path, content_type=item.get("mime_type") or "image/jpeg")
    return (
        sidecar(path, category)
        or embedded(path)
        or (video_frame(path, cache_dir) if item.get("media_type") == "video" else None)
        or placeholder(category, cache_dir)
    )


def sidecar(path: str, category: MediaCategory) -> PosterImage | None:
    folder, filename = os.path.split(path)
    stem = os.path.splitext(filename)[0]
    names = [f"{stem}-poster", stem, *FOLDER_NAMES]
    root = os.path.realpath(category.root_path)
    for depth in range(3):
        for name in names:
            for extension in IMAGE_EXTENSIONS:
                for candidate in (name + extension, name + extension.upper()):
                    full = os.path.join(folder, candidate)
                    if os.path.isfile(full):
                        return PosterImage("sidecar", path=full, content_type=CONTENT_TYPES[extension])
        if depth == 2 or os.path.realpath(folder) == root:
            break
        folder = os.path.dirname(folder)
        names = list(FOLDER_NAMES)  # parent folders: only folder-wide art, never another file's
    return None


def embedded(path: str) -> PosterImage | None:
    """Cover art stored in the file's tags, when mutagen knows the format."""
    import mutagen
    from mutagen.flac import Picture

    try:
        media = mutagen.File(path)
    except (mutagen.MutagenError, OSError):
        return None
    if media is None:
        return None
    pictures = getattr(media, "pictures", None)  # FLAC
    if pictures:
        return PosterImage("embedded", data=pictures[0].data, content_type=pictures[0].mime or "image/jpeg")
    tags = media.tags
    if tags is None:
        return None
    if hasattr(tags, "getall"):  # ID3
        frames = tags.getall("APIC")
        if frames:
            return PosterImage("embedded", data=frames[0].data, content_type=frames[0].mime or "image/jpeg")
    covers = tags.get("covr") if hasattr(tags, "get") else None  # MP4
    if covers:
        cover = covers[0]
        content_type = (
            "image/png" if getattr(cover, "imageformat", None) == cover.FORMAT_PNG else "image/jpeg"
        )
        return PosterImage("embedded", data=bytes(cover), content_type=content_type)
    blocks = tags.get("metadata_block_picture") if hasattr(tags, "get") else None  # Ogg
    if blocks:
        picture = Picture(base64.b64decode(blocks[0]))
        return PosterImage("embedded", data=picture.data, content_type=picture.mime or "image/jpeg")
    return None


def video_frame(path: str, cache_dir: str) -> PosterImage | None:
    """A frame at about 10% of the video, decoded once and kept as a JPEG in the cache."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    key = hashlib.sha256(f"{path}\0{info.st_size}\0{info.st_mtime_ns}".encode("utf-8", "surrogateescape"))
    target = Path(cache_dir) / f"frame-{key.hexdigest()[:32]}.jpg"
    if not target.exists():
        image = _decode_frame(path)
        if image is None:
            return None
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        image.save(temporary, "JPEG", quality=85)
        os.replace(temporary, target)
    return PosterImage("frame", path=str(target), content_type="image/jpeg")


def _decode_frame(path: str) -> Image.Image | None:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if container.duration:
                container.seek(int(container.duration * FRAME_POSITION), any_frame=False, backward=True)
            for frame in container.decode(stream):
                image = frame.to_image()
                image.thumbnail((1280, 1280))
                return image
    except (av.FFmpegError, OSError, ValueError):
        return None
    return None


def placeholder(category: MediaCategory, cache_dir: str) -> PosterImage:
    """A plain poster with the category's label, coloured by its key."""
    target = Path(cache_dir) / f"placeholder-{category.key}.png"
    if not target.exists():
        from PIL import Image, ImageDraw, ImageFont

        digest = hashlib.sha256(category.key.encode()).digest()
        colour = tuple(40 + byte % 120 for byte in digest[:3])
        image = Image.new("RGB", (400, 600), colour)
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=36)
        draw.text((200, 300), category.label, fill="white", font=font, anchor="mm")
        buffer = BytesIO()
        image.save(buffer, "PNG")
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(buffer.getvalue())
        os.replace(temporary, target)
    return PosterImage("placeholder", path=str(target), content_type="image/png")
