"""Bearer tokens for mutating and admin routes.

Tokens come from ``MEDIACORE_API_TOKEN`` (comma-separated for several). With none configured,
the first start generates one and keeps it in the data folder, readable by its owner only:
writes are never open by default.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app, request

from ..settings import data_dir
from .errors import ApiError

TOKEN_FILE = "api_token"
F = TypeVar("F", bound=Callable[..., Any])


def configured_tokens(value: str | None) -> list[str]:
    """Tokens from the setting, else from (or newly written to) the data folder's token file."""
    tokens = [token.strip() for token in (value or "").split(",") if token.strip()]
    return tokens or [_stored_token(data_dir() / TOKEN_FILE)]


def _stored_token(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    print(
        f"mediacore: generated an API token in {path} (mode 600); send it as 'Authorization: Bearer <token>'",
        file=sys.stderr,
    )
    return token


def check_token() -> None:
    """401 without a bearer token, 403 with a wrong one; compared in constant time."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            401,
            "unauthorized",
            "this route needs 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": 'Bearer realm="mediacore"'},
        )
    candidate = presented.strip().encode()
    matches = [
        hmac.compare_digest(candidate, token.encode()) for token in current_app.config["MEDIACORE_TOKENS"]
    ]
    if not any(matches):
        raise ApiError(403, "forbidden", "the bearer token is not valid")


def require_token(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_token()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
