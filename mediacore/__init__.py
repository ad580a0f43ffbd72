"""mediacore: a self-hosted media library engine.

Plugin authors need only what this module exports: the ``hookimpl`` marker, the value types
hooks receive and return, and :class:`UnsupportedMedia`.
"""

from __future__ import annotations

from .config import MediaCategory, MediaConfig, load_media_config
from .errors import MediacoreError, UnsupportedMedia
from .hookspecs import hookimpl
from .scanner import EnhancedMediaScanner, FileEntry
from .values import MediaType, PosterImage

__version__ = "0.1.0"

__all__ = [
    "EnhancedMediaScanner",
    "FileEntry",
    "MediaCategory",
    "MediaConfig",
    "MediaType",
    "MediacoreError",
    "PosterImage",
    "UnsupportedMedia",
    "__version__",
    "hookimpl",
    "load_media_config",
]
