"""The one plugin manager: finds built-in and third-party plugins the same way, through the
``mediacore`` entry point group, loads each in isolation and can list and disable them.

Loading is lazy (first call to :func:`get_plugin_manager`) so that importing mediacore imports
no plugin. ``MEDIACORE_DISABLE_PLUGINS=name,name`` blocks plugins before they are imported;
``MEDIACORE_TRACE_PLUGINS=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import Distribution, EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mediacore"
BUILTIN_DISTRIBUTION = "mediacore"

pm = pluggy.PluginManager("mediacore")
pm.add_hookspecs(hookspecs)

_load_lock = threading.Lock()
_loaded = False
_failures: dict[str, PluginProblem] = {}
# plugin name -> the distribution that provides it; its name and version are read only when
# plugins are listed (each read parses the distribution's METADATA: tens of ms at every start-up)
_sources: dict[str, Distribution | None] = {}


@dataclass(frozen=True)
class PluginProblem:
    """A plugin that could not be loaded, or that loaded with a warning."""

    name: str
    message: str
    fatal: bool


@dataclass
class PluginInfo:
    """One row of ``mediacore plugins``."""

    name: str
    version: str | None
    distribution: str | None
    hooks: list[str]
    builtin: bool
    status: str = "loaded"  # loaded | failed | disabled
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HookOutcome:
    """What one implementation of a hook did when called with error isolation."""

    plugin: str
    result: Any = None
    error: BaseException | None = None


def _env_names(variable: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """The loaded plugin manager; entry points are loaded on the first call only."""
    if not _loaded:
        load_plugins()
    return pm


def load_plugins() -> None:
    """Load every entry point of the group, one at a time, reporting the broken ones by name."""
    global _loaded
    with _load_lock:
        if _loaded:
            return
        for name in _env_names("MEDIACORE_DISABLE_PLUGINS"):
            pm.set_blocked(name)
        if os.environ.get("MEDIACORE_TRACE_PLUGINS"):
            pm.trace.root.setwriter(lambda message: sys.stderr.write(message))
            pm.enable_tracing()
        for entry_point in _entry_points():
            _load_entry_point(entry_point)
        _loaded = True


def _entry_points() -> Iterable[EntryPoint]:
    seen: set[str] = set()
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name not in seen:  # the same distribution can be visible twice on sys.path
            seen.add(entry_point.name)
            yield entry_point


def _load_entry_point(entry_point: EntryPoint) -> None:
    name = entry_point.name
    _sources[name] = getattr(entry_point, "dist", None)
    if pm.is_blocked(name):
        return
    try:
        plugin = entry_point.load()
        pm.register(plugin, name=name)
    except Exception as exc:
        _record(PluginProblem(name, f"failed to load: {type(exc).__name__}: {exc}", fatal=True))
        return
    _check_unknown_hooks(name, plugin)


def _check_unknown_hooks(name: str, plugin: object) -> None:
    """Warn about ``mediacore_*`` functions that match no hook: a typo or a newer mediacore."""
    for caller in pm.get_hookcallers(plugin) or []:
        if not caller.has_spec():
            _record(
                PluginProblem(
                    name,
                    f"implements unknown hook {caller.name!r} "
                    "(ignored; written for another mediacore version?)",
                    fatal=False,
                )
            )


def _record(problem: PluginProblem) -> None:
    _failures[f"{problem.name}:{problem.message}"] = problem
    log.warning("plugin %s %s", problem.name, problem.message)


def problems() -> list[PluginProblem]:
    """Load failures and warnings recorded so far, plus errors raised inside hooks."""
    get_plugin_manager()
    return list(_failures.values())


def disable_plugins(names: Iterable[str]) -> None:
    """Unregister and block plugins by name (the config's ``disabled_plugins``)."""
    get_plugin_manager()
    for name in names:
        pm.set_blocked(name)


def list_plugins(include_builtin: bool = True) -> list[PluginInfo]:
    """Every plugin the entry point group names, loaded or not, with the hooks it implements."""
    manager = get_plugin_manager()
    rows: dict[str, PluginInfo] = {}
    for name, plugin in manager.list_name_plugin():
        if plugin is None:
            continue
        distribution, version = _source(name)
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [] if caller.has_spec())
        rows[name] = PluginInfo(
            name, version, distribution, hooks, builtin=distribution == BUILTIN_DISTRIBUTION
        )
    for name in _sources:
        if name not in rows:
            distribution, version = _source(name)
            status = "disabled" if manager.is_blocked(name) else "failed"
            rows[name] = PluginInfo(
                name, version, distribution, [], builtin=distribution == BUILTIN_DISTRIBUTION, status=status
            )
    for problem in _failures.values():
        if problem.name in rows:
            rows[problem.name].problems.append(problem.message)
    return sorted(
        (row for row in rows.values() if include_builtin or not row.builtin), key=lambda row: row.name
    )


def _source(name: str) -> tuple[str | None, str | None]:
    """The name and version of the distribution that provides a plugin (None for one registered
    in code)."""
    dist = _sources.get(name)
    return (dist.name, dist.version) if dist else (None, None)


def call_each(hook_name: str, **kwargs: Any) -> list[HookOutcome]:
    """Call every implementation of a hook, isolating each: one that raises does not stop the rest.

    pluggy stops a hook call at the first exception; hooks where every plugin must run
    (metadata, missing files) go through here. Outcomes come in call order.
    """
    return list(_outcomes(hook_name, kwargs))


def call_first(hook_name: str, **kwargs: Any) -> Any:
    """The first non-None answer of a hook, skipping (and logging) implementations that raise,
    so one broken plugin never hides the answers of the others."""
    for outcome in _outcomes(hook_name, kwargs):
        if outcome.error is not None:
            log.error("plugin %s failed in %s: %s", outcome.plugin, hook_name, outcome.error)
        elif outcome.result is not None:
            return outcome.result
    return None


def _outcomes(hook_name: str, kwargs: dict[str, Any]) -> Iterator[HookOutcome]:
    """Call implementations one at a time, in pluggy's order, each isolated from the others."""
    caller = getattr(get_plugin_manager().hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        arguments = {name: kwargs[name] for name in impl.argnames}
        try:
            yield HookOutcome(impl.plugin_name, result=impl.function(**arguments))
        except Exception as exc:  # isolated on purpose: the caller records or logs it
            log.debug("plugin %s raised in %s", impl.plugin_name, hook_name, exc_info=True)
            yield HookOutcome(impl.plugin_name, error=exc)


@contextmanager
def registered(plugin: object, name: str | None = None) -> Iterator[str]:
    """Register a plugin object for the duration of a block (tests, embedding)."""
    manager = get_plugin_manager()
    plugin_name = manager.register(plugin, name=name)
    assert plugin_name is not None
    try:
        yield plugin_name
    finally:
        manager.unregister(name=plugin_name)
