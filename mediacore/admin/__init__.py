"""The admin console: its own WSGI app, reaching the API only over HTTP through one proxy.

``create_admin_app(config=None)`` reads ``FLASK_API_BASE_URL`` (required),
``MEDIACORE_ADMIN_PASSWORD`` (required), ``MEDIACORE_API_TOKEN`` (else the token the API
generated in the data folder), ``MEDIACORE_ADMIN_SECRET_KEY`` (else one generated in the data
folder) and ``MEDIACORE_ADMIN_API_TIMEOUT`` (seconds, default 600).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, render_template, request

from ..errors import ConfigError
from ..settings import ensure_secret, read_secret
from .proxy import ApiClient, ApiUnavailable
from .security import csrf_token


def create_admin_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        FLASK_API_BASE_URL=os.environ.get("FLASK_API_BASE_URL"),
        MEDIACORE_ADMIN_PASSWORD=os.environ.get("MEDIACORE_ADMIN_PASSWORD"),
        MEDIACORE_API_TOKEN=os.environ.get("MEDIACORE_API_TOKEN"),
        MEDIACORE_ADMIN_SECRET_KEY=os.environ.get("MEDIACORE_ADMIN_SECRET_KEY"),
        MEDIACORE_ADMIN_API_TIMEOUT=float(os.environ.get("MEDIACORE_ADMIN_API_TIMEOUT") or 600),
    )
    if config:
        app.config.update(config)
    for required, why in (
        ("FLASK_API_BASE_URL", "the API's address, e.g. http://127.0.0.1:8000"),
        ("MEDIACORE_ADMIN_PASSWORD", "the password of the console's login"),
    ):
        if not app.config[required]:
            raise ConfigError(f"{required} is not set: it must hold {why} (see .env.example)")
    configured = (app.config["MEDIACORE_API_TOKEN"] or "").split(",")[0].strip()
    app.secret_key = app.config["MEDIACORE_ADMIN_SECRET_KEY"] or ensure_secret(
        "admin_secret_key", "a console session key"
    )
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", MAX_CONTENT_LENGTH=None)
    app.extensions["mediacore_api"] = ApiClient(
        app.config["FLASK_API_BASE_URL"],
        lambda: configured or read_secret("api_token"),
        timeout=app.config["MEDIACORE_ADMIN_API_TIMEOUT"],
    )
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.errorhandler(ApiUnavailable)
    def api_unavailable(error: ApiUnavailable) -> Any:
        if request.path.startswith("/admin/"):  # the pages' scripts and media elements: JSON
            return error.response()
        return render_template("error.html", message=error.message), error.status

    from .views import console

    app.register_blueprint(console)
    return app


__all__ = ["create_admin_app"]
