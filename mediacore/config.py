"""The media configuration (``watch_media_dirs.yml``, schema version 2).

Loading validates everything up front so that a bad file stops start-up with one message
naming the file and the offending key, never a traceback halfway through a scan.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, UnknownCategory
from .values import MediaType

CONFIG_VERSION = 2
DEFAULT_CONFIG_PATH = Path("config/watch_media_dirs.yml")
NAMING_MODES = ("auto", "movie", "tv")
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_CATEGORY_KEYS = {"label", "root_path", "media_type", "extensions", "naming"}
_TOP_KEYS = {"version", "default_category", "categories", "disabled_plugins"}


@dataclass(frozen=True)
class MediaCategory:
    """One watched folder and what it holds."""

    key: str
    label: str
    root_path: Path
    media_type: str
    extensions: tuple[str, ...]
    naming: str = "auto"

    def accepts(self, filename: str) -> bool:
        """True when the file name has one of the category's extensions (case-insensitive)."""
        _, dot, extension = filename.rpartition(".")
        return bool(dot) and extension.lower() in self.extensions

    def contains(self, path: str | os.PathLike[str], *, resolved: bool = False) -> bool:
        """True when ``path`` resolves to a location under the category root (``resolved``:
        it is already the real path, with no symlink left in it)."""
        real = os.fspath(path) if resolved else os.path.realpath(path)
        return real.startswith(self._real_root)

    @functools.cached_property
    def _real_root(self) -> str:
        """The root with its symlinks resolved, once per loaded configuration (a player's every
        range request asks :meth:`contains`): a root symlink pointed elsewhere while a server
        runs is followed after its restart."""
        return os.path.realpath(self.root_path).rstrip(os.sep) + os.sep

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "root_path": str(self.root_path),
            "media_type": self.media_type,
            "extensions": list(self.extensions),
            "naming": self.naming,
        }


@dataclass(frozen=True)
class MediaConfig:
    """A loaded, validated configuration file."""

    path: Path
    version: int
    default_category: str
    categories: Mapping[str, MediaCategory]
    disabled_plugins: tuple[str, ...] = ()

    def category(self, key: str) -> MediaCategory:
        try:
            return self.categories[key]
        except KeyError:
            raise UnknownCategory(key, list(self.categories)) from None

    def select(self, keys: Iterable[str] | None) -> list[MediaCategory]:
        """The categories named by ``keys`` (all when None), each checked to exist."""
        if keys is None:
            return list(self.categories.values())
        return [self.category(key) for key in dict.fromkeys(keys)]


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``MEDIACORE_CONFIG``, else ``config/watch_media_dirs.yml``."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("MEDIACORE_CONFIG")
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_media_config(
    path: str | os.PathLike[str] | None = None,
    *,
    media_types: Mapping[str, MediaType] | None = None,
) -> MediaConfig:
    """Read and validate the configuration file.

    ``media_types`` defaults to the types registered by the loaded plugins.
    """
    config_path = resolve_config_path(path)
    if media_types is None:
        from .hooks import media_types as registered_types
        from .plugins import disable_plugins

        raw = _read_yaml(config_path)
        # disabled_plugins acts before the types are known: a disabled plugin's type is gone.
        disable_plugins(_disabled_plugins(config_path, raw))
        return parse_media_config(raw, config_path, registered_types())
    return parse_media_config(_read_yaml(config_path), config_path, media_types)


def read_disabled_plugins(path: str | os.PathLike[str] | None = None) -> tuple[str, ...]:
    """The config's ``disabled_plugins`` list, without validating the rest of the file."""
    config_path = resolve_config_path(path)
    return _disabled_plugins(config_path, _read_yaml(config_path))


def _read_yaml(config_path: Path) -> Any:
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: config file not found (set --config or MEDIACORE_CONFIG, "
            "or run `mediacore init`)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read config file: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{config_path}: YAML syntax error{where}: {problem}") from None


def _disabled_plugins(config_path: Path, raw: Any) -> tuple[str, ...]:
    value = raw.get("disabled_plugins", []) if isinstance(raw, dict) else []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ConfigError(f"{config_path}: 'disabled_plugins' must be a list of plugin names")
    return tuple(value)


def parse_media_config(raw: Any, config_path: Path, media_types: Mapping[str, MediaType]) -> MediaConfig:
    """Validate an already-parsed YAML document; relative roots resolve against its folder."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{config_path}: {key}: {message}")

    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: expected a mapping with 'version' and 'categories' at the top")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    if "version" not in raw:
        raise fail("version", f"missing key; this mediacore reads version {CONFIG_VERSION}")
    if raw["version"] != CONFIG_VERSION:
        raise fail("version", f"unsupported config version {raw['version']!r}; expected {CONFIG_VERSION}")
    raw_categories = raw.get("categories")
    if not isinstance(raw_categories, dict) or not raw_categories:
        raise fail("categories", "missing key or empty; define at least one category")

    categories: dict[str, MediaCategory] = {}
    for key, body in raw_categories.items():
        categories[str(key)] = _parse_category(str(key), body, config_path.parent, media_types, fail)
    _check_roots(categories, fail)

    default = raw.get("default_category", next(iter(categories)))
    if default not in categories:
        raise fail("default_category", f"{default!r} is not a category (known: {', '.join(categories)})")
    return MediaConfig(
        path=config_path,
        version=CONFIG_VERSION,
        default_category=default,
        categories=categories,
        disabled_plugins=_disabled_plugins(config_path, raw),
    )


def _parse_category(
    key: str, body: Any, base: Path, media_types: Mapping[str, MediaType], fail: Any
) -> MediaCategory:
    where = f"categories.{key}"
    if not _KEY_PATTERN.match(key):
        raise fail(where, "category keys may hold letters, digits, '_' and '-' only")
    if not isinstance(body, dict):
        raise fail(where, "expected a mapping with root_path and media_type")
    unknown = sorted(set(body) - _CATEGORY_KEYS)
    if unknown:
        raise fail(f"{where}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(_CATEGORY_KEYS))})")
    for required in ("root_path", "media_type"):
        if not body.get(required):
            raise fail(f"{where}.{required}", "missing key")
    media_type = body["media_type"]
    if media_type not in media_types:
        raise fail(
            f"{where}.media_type",
            f"unknown media type {media_type!r} (known: {', '.join(sorted(media_types))})",
        )
    extensions = body.get("extensions", list(media_types[media_type].extensions))
    if not isinstance(extensions, list) or not extensions or not all(isinstance(e, str) for e in extensions):
        raise fail(f"{where}.extensions", "expected a non-empty list of extensions such as [mp4, mkv]")
    naming = body.get("naming", "auto")
    if naming not in NAMING_MODES:
        raise fail(f"{where}.naming", f"expected one of {', '.join(NAMING_MODES)}, got {naming!r}")
    return MediaCategory(
        key=key,
        label=str(body.get("label") or key.replace("_", " ").title()),
        root_path=_expand_root(str(body["root_path"]), base, fail, f"{where}.root_path"),
        media_type=media_type,
        extensions=tuple(dict.fromkeys(e.lower().lstrip(".") for e in extensions)),
        naming=naming,
    )


def _expand_root(value: str, base: Path, fail: Any, where: str) -> Path:
    expanded = os.path.expanduser(os.path.expandvars(value))
    if "$" in expanded:
        raise fail(where, f"environment variable in {value!r} is not set")
    path = Path(expanded)
    return Path(os.path.normpath(path if path.is_absolute() else base.resolve() / path))


def _check_roots(categories: Mapping[str, MediaCategory], fail: Any) -> None:
    """Reject two categories that would claim the same files: same root, or nested roots that
    share an extension."""
    items = list(categories.values())
    for index, first in enumerate(items):
        for second in items[index + 1 :]:
            if first.root_path == second.root_path:
                raise fail(
                    f"categories.{second.key}.root_path",
                    f"duplicate root {str(second.root_path)!r}, already used by category {first.key!r}",
                )
            outer, inner = sorted((first, second), key=lambda category: len(category.root_path.parts))
            shared = set(outer.extensions) & set(inner.extensions)
            if shared and inner.root_path.is_relative_to(outer.root_path):
                raise fail(
                    f"categories.{inner.key}.root_path",
                    f"lies inside the root of {outer.key!r} and both accept .{sorted(shared)[0]} files",
                )
