"""The HTTP layer: translates requests into engine calls and engine results into JSON.

``create_app(config=None)`` builds the app; ``config`` overrides the settings that otherwise
come from the environment (``MEDIACORE_CONFIG``, ``MEDIACORE_DATABASE_URL``,
``MEDIACORE_API_TOKEN``, ``MEDIACORE_MAX_UPLOAD_BYTES``, ``MEDIACORE_REQUIRE_AUTH_FOR_READ``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from flask import Flask, g

from ..bootstrap import open_library
from ..db import borrowed_connection
from .auth import configured_tokens
from .errors import register_error_handlers
from .jsonprovider import OrjsonProvider

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024**3


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.from_mapping(
        MEDIACORE_CONFIG=os.environ.get("MEDIACORE_CONFIG"),
        MEDIACORE_DATABASE_URL=os.environ.get("MEDIACORE_DATABASE_URL"),
        MEDIACORE_API_TOKEN=os.environ.get("MEDIACORE_API_TOKEN"),
        MEDIACORE_MAX_UPLOAD_BYTES=int(
            os.environ.get("MEDIACORE_MAX_UPLOAD_BYTES") or DEFAULT_MAX_UPLOAD_BYTES
        ),
        MEDIACORE_REQUIRE_AUTH_FOR_READ=os.environ.get("MEDIACORE_REQUIRE_AUTH_FOR_READ", "")
        in {"1", "true", "yes"},
    )
    if config:
        app.config.update(config)
    media_config, _ = open_library(app.config["MEDIACORE_CONFIG"], app.config["MEDIACORE_DATABASE_URL"])
    app.extensions["mediacore"] = media_config
    app.config["MEDIACORE_TOKENS"] = configured_tokens(app.config["MEDIACORE_API_TOKEN"])

    @app.before_request
    def connect() -> None:
        g.mediacore_connection = ExitStack()
        g.mediacore_connection.enter_context(borrowed_connection())

    @app.teardown_request
    def disconnect(_: BaseException | None) -> None:
        g.pop("mediacore_connection", ExitStack()).close()

    register_error_handlers(app)
    from .api import api
    from .stream import StreamLane

    app.register_blueprint(api)
    app.wsgi_app = StreamLane(app)  # type: ignore[method-assign]
    return app


__all__ = ["create_app"]
