"""Bearer tokens for mutating and admin routes.

Tokens come from ``MEDIACORE_API_TOKEN`` (comma-separated for several). With none configured,
the first start generates one and keeps it in the data folder, readable by its owner only:
writes are never open by default.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import current_app, request

from ..settings import ensure_secret
from .errors import ApiError

TOKEN_FILE = "api_token"
F = TypeVar("F", bound=Callable[..., Any])


def configured_tokens(value: str | None) -> list[str]:
    """Tokens from the setting, else from (or newly written to) the data folder's token file."""
    tokens = [token.strip() for token in (value or "").split(",") if token.strip()]
    return tokens or [ensure_secret(TOKEN_FILE, "an API token; send it as 'Authorization: Bearer <token>'")]


def check_token() -> None:
    """401 without a bearer token, 403 with a wrong one."""
    error = token_error(request.headers.get("Authorization", ""), current_app.config["MEDIACORE_TOKENS"])
    if error is not None:
        raise error


def token_error(authorization: str, tokens: Sequence[str]) -> ApiError | None:
    """Why an ``Authorization`` header does not open the API, None when it does; the token is
    compared with each configured one in constant time."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return ApiError(
            401,
            "unauthorized",
            "this route needs 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": 'Bearer realm="mediacore"'},
        )
    candidate = presented.strip().encode()
    matches = [hmac.compare_digest(candidate, token.encode()) for token in tokens]
    if not any(matches):
        return ApiError(403, "forbidden", "the bearer token is not valid")
    return None


def require_token(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_token()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
