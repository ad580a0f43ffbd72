"""Running the API under gunicorn (threaded workers, sendfile for whole-file responses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from . import create_app


class _Gunicorn(BaseApplication):
    def __init__(self, app_factory: Any, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.app_factory()


def serve(
    app_factory: Callable[[], Any], *, host: str, port: int, workers: int, threads: int, timeout: int = 120
) -> None:
    """Run a WSGI app factory under gunicorn's threaded workers; the API and the console both use it."""
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": True,  # one token file, one migration, and a config error stops start-up once
        "timeout": timeout,
        "graceful_timeout": 10,
        "accesslog": "-",
    }
    _Gunicorn(app_factory, options).run()


def serve_api(
    config_path: str | None, database_url: str | None, *, host: str, port: int, workers: int, threads: int
) -> None:
    settings = {"MEDIACORE_CONFIG": config_path, "MEDIACORE_DATABASE_URL": database_url}
    overrides = {key: value for key, value in settings.items() if value}
    serve(lambda: create_app(overrides), host=host, port=port, workers=workers, threads=threads)
