"""Small public value types that plugins return through hooks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MediaType:
    """A kind of media a category can hold, registered through ``mediacore_media_types``.

    ``extensions`` are the defaults for a category that names this type and lists none itself.
    """

    name: str
    extensions: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(e.lower().lstrip(".") for e in self.extensions))


@dataclass(frozen=True)
class PosterImage:
    """An answer to ``mediacore_resolve_poster``: a file on disk or bytes in memory.

    ``source`` names the fallback that produced it (``sidecar``, ``embedded``, ``frame``,
    ``placeholder`` or a plugin's own word); the API sends it as ``X-Poster-Source``.
    """

    source: str
    path: str | None = None
    data: bytes | None = None
    content_type: str = "image/jpeg"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("PosterImage needs exactly one of path or data")
