"""Posters for the API: resolved through ``mediacore_resolve_poster``, resized on request and
cached on disk, with a validator that changes when the source does."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image

from .config import MediaConfig
from .errors import InvalidOption, NotFound
from .hooks import resolve_poster
from .models import MediaItem
from .settings import cache_dir

MIN_WIDTH, MAX_WIDTH = 16, 2000


@dataclass(frozen=True)
class Poster:
    source: str
    content_type: str
    etag: str
    path: str | None = None
    data: bytes | None = None


def poster_for(config: MediaConfig, item: MediaItem, width: int | None = None) -> Poster:
    if width is not None and not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidOption("w", f"must be between {MIN_WIDTH} and {MAX_WIDTH}")
    category = config.categories.get(item.category)
    if category is None:
        raise NotFound(f"media item {item.id} belongs to category {item.category!r}, which is not configured")
    image = resolve_poster(item.to_dict(), category, str(cache_dir("posters")))
    if image is None:
        raise NotFound(f"no poster for media item {item.id}")
    if image.path is not None:
        info = os.stat(image.path)
        identity = f"{image.path}\0{info.st_size}\0{info.st_mtime_ns}"
    else:
        identity = hashlib.sha256(image.data or b"").hexdigest()
    digest = hashlib.sha256(f"{identity}\0{width}".encode("utf-8", "surrogateescape")).hexdigest()[:32]
    if width is None:
        return Poster(image.source, image.content_type, digest, path=image.path, data=image.data)
    target = cache_dir("posters") / f"w{width}-{digest}.jpg"
    if not target.exists():
        _resize(image.path, image.data, width, target)
    return Poster(image.source, "image/jpeg", digest, path=str(target))


def _resize(path: str | None, data: bytes | None, width: int, target: Path) -> None:
    with Image.open(path if path is not None else BytesIO(data or b"")) as source:
        picture = source.convert("RGB")
    height = max(1, round(picture.height * width / picture.width))
    picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    picture.save(temporary, "JPEG", quality=85)
    os.replace(temporary, target)
