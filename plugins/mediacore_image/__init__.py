"""Built-in plugin: the ``image`` media type, with size and format read by Pillow."""

from __future__ import annotations

from typing import Any

from mediacore import MediaCategory, MediaType, UnsupportedMedia, hookimpl


@hookimpl(trylast=True)
def mediacore_media_types() -> list[MediaType]:
    return [
        MediaType("image", ("jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff"), "Photos and pictures")
    ]


@hookimpl(trylast=True)
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    if category.media_type != "image":
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
            exif = image.getexif()
            taken = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, DateTime
            return {
                "width": width,
                "height": height,
                "format": image.format,
                "mode": image.mode,
                "mime_type": Image.MIME.get(image.format or ""),
                "taken_at": str(taken) if taken else None,
                "year": _year(taken),
            }
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise UnsupportedMedia(f"not a readable image: {exc}") from None


def _year(taken: Any) -> int | None:
    try:
        return int(str(taken)[:4]) if taken else None
    except ValueError:
        return None
