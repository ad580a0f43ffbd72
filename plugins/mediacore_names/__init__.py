"""Built-in plugin: title and year, or series, season and episode, parsed from the path by guessit.

A category's ``naming`` setting decides: ``auto`` lets guessit tell episodes from movies per
file, ``movie`` and ``tv`` force the type.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from mediacore import MediaCategory, hookimpl

_lock = threading.Lock()  # guessit builds its rule set lazily and is not documented thread-safe


@hookimpl(trylast=True)
def mediacore_extract_metadata(path: str, category: MediaCategory) -> dict[str, Any] | None:
    if category.media_type != "video":
        return None
    relative = os.path.relpath(path, category.root_path)
    options = (
        {"type": "episode"}
        if category.naming == "tv"
        else {"type": "movie"}
        if category.naming == "movie"
        else {}
    )
    with _lock:
        from guessit import guessit  # imported on first use: it takes a while to build its rules

        guess = dict(guessit(relative, options))
    if guess.get("type") == "episode":
        return _episode(guess)
    return {
        "kind": "movie",
        "title": _text(guess.get("title")),
        "year": _int(guess.get("year")),
        "edition": _text(guess.get("edition")),
    }


def _episode(guess: dict[str, Any]) -> dict[str, Any]:
    series = _text(guess.get("title"))
    season = _int(guess.get("season"))
    episode = _int(guess.get("episode"))
    episode_title = _text(guess.get("episode_title"))
    label = " ".join(filter(None, [series, _code(season, episode)]))
    return {
        "kind": "episode",
        "series": series,
        "season": season,
        "episode": episode,
        "episode_title": episode_title,
        "title": episode_title or label or None,
        "year": _int(guess.get("year")),
    }


def _code(season: int | None, episode: int | None) -> str:
    if season is None and episode is None:
        return ""
    return f"S{season or 0:02d}E{episode or 0:02d}" if episode is not None else f"S{season:02d}"


def _int(value: Any) -> int | None:
    if isinstance(value, list):  # multi-episode files: S01E01E02 -> the first
        value = value[0] if value else None
    return value if isinstance(value, int) else None


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = " ".join(str(part) for part in value)
    return str(value) if value else None
