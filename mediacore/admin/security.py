"""The console's own login and CSRF protection. The API token never reaches the browser."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, redirect, request, session, url_for

from .proxy import json_error

F = TypeVar("F", bound=Callable[..., Any])
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def password_matches(candidate: str) -> bool:
    expected: str = current_app.config["MEDIACORE_ADMIN_PASSWORD"]
    return hmac.compare_digest(candidate.encode(), expected.encode())


def csrf_valid() -> bool:
    sent = request.headers.get("X-CSRF-Token") or (
        request.form.get("csrf_token") if request.mimetype == "application/x-www-form-urlencoded" else None
    )
    expected = session.get("csrf")
    return bool(sent and expected and hmac.compare_digest(sent, expected))


def login_required(view: F) -> F:
    """Pages redirect to the login; proxied API calls answer JSON 401. Unsafe methods need CSRF."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wants_json = request.path.startswith("/admin/")
        if not session.get("user"):
            if wants_json:
                return json_error(401, "login_required", "log in to the admin console first")
            return redirect(url_for("console.login", next=request.full_path))
        if request.method in UNSAFE_METHODS and not csrf_valid():
            return json_error(403, "csrf_failed", "missing or wrong CSRF token; reload the page")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
