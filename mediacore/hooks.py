"""Typed calls into the hooks, so the engine never spells ``pm.hook.…`` with loose arguments."""

from __future__ import annotations

import logging
from typing import Any

from .config import MediaCategory
from .plugins import call_each, call_first
from .values import MediaType, PosterImage

log = logging.getLogger(__name__)


def media_types() -> dict[str, MediaType]:
    """Every registered media type by name; the first plugin called wins a name clash."""
    types: dict[str, MediaType] = {}
    for outcome in call_each("mediacore_media_types"):
        if outcome.error is not None:
            log.warning("plugin %s failed in mediacore_media_types: %s", outcome.plugin, outcome.error)
            continue
        for media_type in outcome.result or []:
            types.setdefault(media_type.name, media_type)
    return types


def resolve_poster(item: dict[str, Any], category: MediaCategory, cache_dir: str) -> PosterImage | None:
    """The first poster a plugin offers; a broken third-party resolver is skipped, never taking
    the built-in fallbacks down with it."""
    poster: PosterImage | None = call_first(
        "mediacore_resolve_poster", item=item, category=category, cache_dir=cache_dir
    )
    return poster


def handle_missing(item: dict[str, Any], category: MediaCategory, dry_run: bool) -> tuple[bool, list[str]]:
    """Run every missing-file handler; returns (logged by at least one, errors by plugin)."""
    logged = False
    errors = []
    for outcome in call_each("mediacore_handle_missing", item=item, category=category, dry_run=dry_run):
        if outcome.error is not None:
            errors.append(f"{outcome.plugin}: {type(outcome.error).__name__}: {outcome.error}")
        elif outcome.result:
            logged = True
    return logged, errors
