"""Every error is JSON: ``{"error": {"code": "...", "message": "..."}}`` with the right status."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import (
    ConfigError,
    DatabaseUnavailable,
    InvalidOption,
    MediacoreError,
    NotFound,
    ScanAlreadyRunning,
    UnknownCategory,
    UnsupportedMedia,
)
from ..ingestion import IngestFailed, InvalidUpload, StorageError, StorageFull

log = logging.getLogger(__name__)

#: Engine error -> (HTTP status, error code).
ENGINE_ERRORS: list[tuple[type[MediacoreError], int, str]] = [
    (InvalidOption, 400, "invalid_parameter"),
    (UnknownCategory, 400, "unknown_category"),
    (InvalidUpload, 400, "invalid_upload"),
    (NotFound, 404, "not_found"),
    (ScanAlreadyRunning, 409, "scan_already_running"),
    (UnsupportedMedia, 415, "unsupported_media"),
    (IngestFailed, 500, "ingest_failed"),
    (StorageFull, 507, "insufficient_storage"),
    (StorageError, 500, "storage_error"),
    (ConfigError, 500, "config_error"),
    (DatabaseUnavailable, 503, "database_unavailable"),
]


def engine_status(error: MediacoreError) -> tuple[int, str]:
    """The HTTP status and error code for an engine error."""
    return next(
        ((status, code) for kind, status, code in ENGINE_ERRORS if isinstance(error, kind)),
        (500, "internal_error"),
    )


class ApiError(Exception):
    """Raised by views for a request the web layer itself rejects."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_parameter(name: str, why: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {why}")


def error_response(status: int, code: str, message: str, headers: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for key, value in dict(headers or {}).items():
        if key.lower() not in {"content-type", "content-length"}:
            response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.errorhandler(MediacoreError)
    def engine_error(error: MediacoreError) -> Response:
        status, code = engine_status(error)
        if status >= 500:
            log.error("%s: %s", code, error, exc_info=error)
        return error_response(status, code, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Keep the headers werkzeug computed (Allow on 405, Content-Range on 416...).
        original = error.get_response()
        code = (error.name or "error").lower().replace(" ", "_").replace("'", "")
        return error_response(error.code or 500, code, error.description or error.name, original.headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal server error; see the server log")
