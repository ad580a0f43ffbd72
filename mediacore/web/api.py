"""The ``/api/v1`` routes. Each view parses its input, calls one service, shapes the answer."""

from __future__ import annotations

from io import BytesIO
from typing import Any, overload

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.http import parse_options_header, quote_etag

from ..config import MediaConfig
from ..errors import MediacoreError, NotFound, UnknownCategory
from ..ingestion import UploadDetails, check_extension, ingest_upload, safe_filename
from ..library import category_counts, check_database, delete_item, get_item, library_stats, open_media_file
from ..listing import ListQuery, list_items
from ..maintenance import ScanOptions, refresh_item, run_maintenance_scan
from ..posters import poster_for
from .auth import check_token, require_token
from .errors import ApiError, bad_parameter, engine_status
from .files import send_open_file, send_path
from .openapi import openapi_document
from .stream import file_headers
from .uploads import drain, move_into, receive_upload

api = Blueprint("api", __name__, url_prefix="/api/v1")

POSTER_MAX_AGE = 24 * 3600
UPLOAD_OVERHEAD = 64 * 1024  # multipart headers and boundaries around the file


def media_config() -> MediaConfig:
    config: MediaConfig = current_app.extensions["mediacore"]
    return config


@api.before_request
def guard_reads() -> None:
    if current_app.config["MEDIACORE_REQUIRE_AUTH_FOR_READ"] and request.endpoint not in {
        "api.health",
        "api.openapi",
    }:
        check_token()


# -- query parsing ---------------------------------------------------------------------------


@overload
def int_arg(name: str, default: int) -> int: ...
@overload
def int_arg(name: str, default: None = None) -> int | None: ...
def int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_parameter(name, f"expected an integer, got {raw!r}") from None
    if not -(2**63) <= value < 2**63:  # what the databases can compare against
        raise bad_parameter(name, f"{raw} is out of range")
    return value


def text_arg(name: str) -> str | None:
    """A text parameter, None when absent or empty (the engine validates its content)."""
    return request.args.get(name) or None


def bool_arg(name: str) -> bool:
    if name not in request.args:
        return False
    raw = request.args[name].strip().lower()
    if raw in {"0", "false", "no"}:
        return False
    if raw in {"1", "true", "yes"}:
        return True
    raise bad_parameter(name, f"expected true or false, got {raw!r}")


def requested_category(fields: dict[str, str]) -> str | None:
    """An upload's category: its form field, else ``?category=``, else None (the default)."""
    return fields.get("category") or request.args.get("category") or None


def with_urls(data: dict[str, Any], media: str | None = None) -> dict[str, Any]:
    """Add ``stream_url`` and ``poster_url`` (built by hand: ``url_for`` per item is the
    listing's largest cost after the query). ``media`` is :func:`media_url_prefix`, which a
    listing finds once for all its items."""
    base = f"{media or media_url_prefix()}/{data['id']}"
    data["stream_url"] = f"{base}/stream"
    data["poster_url"] = f"{base}/poster"
    return data


def media_url_prefix() -> str:
    return f"{request.script_root}{api.url_prefix}/media"


# -- routes ----------------------------------------------------------------------------------


@api.get("/health")
def health() -> Response:
    check_database()
    return jsonify({"status": "ok", "database": "ok"})


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(list(media_config().categories)))


@api.get("/media")
def list_media() -> Response:
    query = ListQuery(
        page=int_arg("page", 1),
        per_page=int_arg("per_page", 50),
        category=text_arg("category"),
        status=text_arg("status") or "available",
        media_type=text_arg("media_type"),
        q=text_arg("q"),
        year=int_arg("year"),
        series=text_arg("series"),
        season=int_arg("season"),
        sort=text_arg("sort") or "title",
        cursor=text_arg("cursor"),
    )
    page = list_items(media_config(), query)
    media = media_url_prefix()
    return jsonify(
        {
            "items": [with_urls(item, media) for item in page.items],
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
            "next_cursor": page.next_cursor,
        }
    )


@api.get("/media/categories")
def categories() -> Response:
    config = media_config()
    return jsonify({"categories": category_counts(config), "default_category": config.default_category})


@api.get("/media/scan-info")
def scan_info() -> Response:
    return jsonify(library_stats())


@api.get("/media/<int:item_id>")
def detail(item_id: int) -> Response:
    return jsonify(with_urls(get_item(item_id).to_dict()))


@api.delete("/media/<int:item_id>")
@require_token
def delete(item_id: int) -> Response:
    result = delete_item(media_config(), item_id, soft=bool_arg("soft"), delete_file=bool_arg("delete_file"))
    return jsonify(result.to_dict())


@api.post("/media/<int:item_id>/refresh")
@require_token
def refresh(item_id: int) -> Response:
    result = refresh_item(media_config(), item_id)
    return jsonify({"item": with_urls(result.item), "errors": result.errors})


@api.get("/media/<int:item_id>/stream")
def stream(item_id: int) -> Response:
    """Every stream request :class:`~.stream.StreamLane` leaves to werkzeug: HEAD, conditional
    requests, downloads, several ranges, and errors."""
    attachment = bool_arg("download")
    file, handle, stat = open_media_file(media_config(), item_id)
    return send_open_file(handle, stat.st_size, file_headers(file, stat, attachment=attachment))


@api.get("/media/<int:item_id>/poster")
def poster(item_id: int) -> Response:
    width = int_arg("w")
    found = poster_for(media_config(), get_item(item_id), width)
    headers = [
        ("Content-Type", found.content_type),
        ("ETag", quote_etag(found.etag)),
        ("Cache-Control", f"public, max-age={POSTER_MAX_AGE}"),
        ("X-Poster-Source", found.source),
    ]
    if found.path is None:  # made in memory: embedded art, a placeholder
        data = found.data or b""
        return send_open_file(BytesIO(data), len(data), headers)
    try:
        return send_path(found.path, headers)
    except FileNotFoundError:  # removed since it was found (a sidecar, a cache being pruned)
        raise NotFound(f"no poster for media item {item_id}") from None


@api.post("/media/upload")
@require_token
def upload() -> tuple[Response, int]:
    config = media_config()
    max_bytes = current_app.config["MEDIACORE_MAX_UPLOAD_BYTES"]
    too_large = ApiError(413, "payload_too_large", f"the upload is larger than the {max_bytes}-byte limit")
    if request.content_length is not None and request.content_length > max_bytes + UPLOAD_OVERHEAD:
        drain(request.stream)
        raise too_large
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype != "multipart/form-data" or not options.get("boundary"):
        raise ApiError(400, "invalid_upload", "send multipart/form-data with the file in a part named 'file'")

    def choose_folder(fields: dict[str, str], filename: str) -> tuple[str, Any]:
        named = requested_category(fields)
        try:
            category = config.category(named or config.default_category)
            if named:  # else a category field may still follow the file: ingestion checks then
                check_extension(category, safe_filename(filename))
        except MediacoreError as exc:  # rejected before a byte is written
            raise ApiError(*engine_status(exc), str(exc)) from None
        return category.key, category.root_path

    received = receive_upload(
        request.stream, request.headers["Content-Type"], choose_folder=choose_folder, max_bytes=max_bytes
    )
    if received.too_large:
        raise too_large
    if received.temporary is None:
        raise ApiError(400, "invalid_upload", "the request has no part named 'file'")
    fields = received.fields
    key = requested_category(fields) or config.default_category
    temporary = received.temporary
    if key != received.folder_category:  # the category field came after the file
        try:
            temporary = move_into(temporary, key, config.category(key).root_path)
        except UnknownCategory:
            received.discard()
            raise
    details = UploadDetails(
        filename=received.filename or "",
        title=fields.get("title") or None,
        description=fields.get("description") or None,
        uploaded_by=fields.get("uploaded_by") or fields.get("uploader") or fields.get("user") or None,
    )
    return jsonify(with_urls(ingest_upload(config, key, temporary, details))), 201


@api.post("/admin/media/maintenance-scan")
@require_token
def maintenance_scan() -> Response:
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):  # also None: a body that is not JSON
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    allowed = {"categories", "dry_run", "limit", "allow_empty_root", "refresh"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_parameter(unknown[0], f"unknown field; allowed: {', '.join(sorted(allowed))}")
    categories = body.get("categories")
    if categories is not None and (
        not isinstance(categories, list) or not all(isinstance(key, str) for key in categories)
    ):
        raise bad_parameter("categories", "expected a list of category keys")
    flags = {flag: body.get(flag, False) for flag in ("dry_run", "allow_empty_root", "refresh")}
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise bad_parameter(flag, "expected true or false")
    options = ScanOptions(categories=categories, limit=body.get("limit"), **flags)
    summary = run_maintenance_scan(media_config(), options)
    return jsonify(summary.to_dict())
