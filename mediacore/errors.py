"""Exceptions that cross layers: the web layer and the CLI turn each into a clear message."""

from __future__ import annotations


class MediacoreError(Exception):
    """Base class: every error the engine raises on purpose."""


class ConfigError(MediacoreError):
    """The configuration file is missing, malformed or inconsistent."""


class UnknownCategory(MediacoreError):
    """A category key that the configuration does not define."""

    def __init__(self, key: str, known: list[str]) -> None:
        self.key = key
        self.known = known
        super().__init__(f"unknown category {key!r}; known categories: {', '.join(known) or '(none)'}")


class InvalidOption(MediacoreError):
    """A caller passed an option the engine cannot honour (a bad limit, a bad sort key...)."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


def refuse_nul(name: str, value: str | None) -> None:
    """Text bound for the database may not hold NUL: PostgreSQL can neither store nor compare it."""
    if value is not None and "\x00" in value:
        raise InvalidOption(name, "contains a NUL character")


class DatabaseUnavailable(MediacoreError):
    """The database URL cannot be opened or the server does not answer."""


class AddressUnavailable(MediacoreError):
    """A server cannot listen where it was asked to: the port is taken, the host is not this
    machine's, the port needs privileges."""


class ScanAlreadyRunning(MediacoreError):
    """Another maintenance scan holds the scan lock."""


class UnsupportedMedia(MediacoreError):
    """Raised by a metadata plugin when a file is not of the media type it handles.

    Scans record it as a per-file error; uploads reject the file with HTTP 415.
    """


class NotFound(MediacoreError):
    """A media item or file that does not exist (or is deleted)."""
