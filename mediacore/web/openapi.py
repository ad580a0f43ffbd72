"""The OpenAPI 3.1 description of ``/api/v1``; tests hold the app to it."""

from __future__ import annotations

import copy
from typing import Any

from peewee import BigIntegerField, CharField, DateTimeField, DoubleField, IntegerField, TextField

from .. import __version__
from ..listing import MAX_PAGE, MAX_PER_PAGE, SORT_FIELDS
from ..models import SOURCES, STATUSES, JSONField, MediaItem

_JSON_TYPES = (
    (BigIntegerField, {"type": "integer"}),
    (IntegerField, {"type": "integer"}),
    (DoubleField, {"type": "number"}),
    (DateTimeField, {"type": "string", "format": "date-time"}),
    (JSONField, {"type": "object"}),
    (TextField, {"type": "string"}),
    (CharField, {"type": "string"}),
)


def _item_schema() -> dict[str, Any]:
    """The item's schema, derived from the model so that a new column cannot be left out."""
    properties: dict[str, Any] = {}
    required = ["stream_url", "poster_url"]
    for field in MediaItem._meta.sorted_fields:
        schema: dict[str, Any] = dict(next(json for kind, json in _JSON_TYPES if isinstance(field, kind)))
        if field.null and field.name != "metadata":  # metadata is always an object, {} when empty
            schema["type"] = [schema["type"], "null"]
        else:
            required.append(field.name)
        properties[field.name] = schema
    properties.update(
        status={"enum": list(STATUSES)},
        source={"enum": list(SOURCES)},
        size_bytes={"type": "integer", "minimum": 0},
        stream_url={"type": "string"},
        poster_url={"type": "string"},
    )
    return {"type": "object", "required": sorted(required), "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Bad parameter or body",
        401: "No bearer token",
        403: "Wrong bearer token",
        404: "Not found",
        409: "A scan is already running",
        413: "Upload too large",
        415: "Unsupported media",
        416: "Range not satisfiable",
        500: "Server error (the upload, if any, was rolled back)",
        503: "Database unavailable",
        507: "No room left for the upload in its category's folder (nothing was kept)",
    }
    return {str(status): _json(_ref("Error"), meaning[status]) for status in statuses}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ITEM_ID = {
    "name": "item_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

CATEGORY_SUMMARY = {
    "type": "object",
    "required": [
        "files_found",
        "files_scanned",
        "added",
        "updated",
        "unchanged",
        "missing",
        "missing_paths",
        "errors",
        "limited",
        "dry_run",
        "root_exists",
        "notes",
    ],
    "properties": {
        **{
            name: {"type": "integer", "minimum": 0}
            for name in ("files_found", "files_scanned", "added", "updated", "unchanged", "missing")
        },
        "missing_paths": {"type": "array", "items": {"type": "string"}},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "error"],
                "properties": {"path": {"type": "string"}, "error": {"type": "string"}},
            },
        },
        "limited": {"type": "boolean"},
        "dry_run": {"type": "boolean"},
        "root_exists": {"type": "boolean"},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "MediaItem": _item_schema(),
    "MediaPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": _ref("MediaItem")},
            **{name: {"type": "integer", "minimum": 0} for name in ("page", "per_page", "total", "pages")},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page (null on the last page)",
            },
        },
    },
    "CategorySummary": CATEGORY_SUMMARY,
    "ScanSummary": {
        "type": "object",
        "required": [
            "scanned_at",
            "dry_run",
            "config_version",
            "selected_categories",
            "categories",
            "totals",
        ],
        "properties": {
            "scanned_at": {"type": "string", "format": "date-time", "pattern": "(Z|\\+00:00)$"},
            "dry_run": {"type": "boolean"},
            "config_version": {"type": "integer"},
            "selected_categories": {"type": "array", "items": {"type": "string"}},
            "categories": {"type": "object", "additionalProperties": _ref("CategorySummary")},
            "totals": {
                "type": "object",
                "required": [
                    "added",
                    "updated",
                    "unchanged",
                    "missing",
                    "files_scanned",
                    "files_found",
                    "categories",
                    "logged_missing",
                ],
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
        "additionalProperties": False,
    },
    "Category": {
        "type": "object",
        "required": [
            "key",
            "label",
            "media_type",
            "root_path",
            "root_exists",
            "counts",
            "total",
            "total_size_bytes",
        ],
        "properties": {
            "key": {"type": "string"},
            "label": {"type": "string"},
            "media_type": {"type": "string"},
            "root_path": {"type": "string"},
            "root_exists": {"type": "boolean"},
            "extensions": {"type": "array", "items": {"type": "string"}},
            "naming": {"type": "string"},
            "counts": {
                "type": "object",
                "required": list(STATUSES),
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "total": {"type": "integer", "minimum": 0},
            "total_size_bytes": {"type": "integer", "minimum": 0},
        },
    },
    "ScanInfo": {
        "type": "object",
        "required": [
            "total_items",
            "by_status",
            "by_category",
            "by_media_type",
            "available_size_bytes",
            "available_duration_seconds",
            "last_scan",
            "media_scan_directories",
        ],
        "properties": {
            "total_items": {"type": "integer"},
            **{
                name: {"type": "object", "additionalProperties": {"type": "integer"}}
                for name in ("by_status", "by_category", "by_media_type")
            },
            "available_size_bytes": {"type": "integer"},
            "available_duration_seconds": {"type": "number"},
            "last_scan": {
                "oneOf": [{"type": "null"}, {"type": "object", "required": ["scanned_at", "totals"]}]
            },
            "media_scan_directories": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "DeleteResult": {
        "type": "object",
        "required": ["id", "deleted", "file_deleted"],
        "properties": {
            "id": {"type": "integer"},
            "deleted": {"enum": ["soft", "hard"]},
            "file_deleted": {"type": "boolean"},
        },
    },
    "ScanRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "categories": {"type": "array", "items": {"type": "string"}},
            "dry_run": {"type": "boolean"},
            "limit": {"type": "integer", "minimum": 1},
            "allow_empty_root": {"type": "boolean"},
            "refresh": {"type": "boolean", "description": "read every file again, changed or not"},
        },
    },
}

BINARY = {"schema": {"type": "string", "format": "binary"}}
#: Files (streams and posters) answer byte ranges alike (``files.send_open_file``).
RANGE = {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}}
PARTIAL = {
    "description": "One range, or several as multipart/byteranges",
    "content": {"*/*": BINARY, "multipart/byteranges": BINARY},
}


def openapi_document(categories: list[str]) -> dict[str, Any]:
    """The document for an app serving ``categories`` (named in the ``category`` parameters)."""
    schemas = copy.deepcopy(SCHEMAS)
    schemas["ScanRequest"]["properties"]["categories"]["items"] = {"enum": categories}
    sort_values = [*SORT_FIELDS, *(f"-{name}" for name in SORT_FIELDS)]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mediacore API",
            "version": __version__,
            "description": 'Every error is JSON: {"error": {"code", "message"}}.',
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/health": {
                "get": {
                    "summary": "Liveness with a database check",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {"status": {"const": "ok"}},
                            },
                            "Healthy",
                        ),
                        **_errors(503),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI document")},
                }
            },
            "/api/v1/media": {
                "get": {
                    "summary": "List media items",
                    "parameters": [
                        _query(
                            "page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                            "Page number",
                        ),
                        _query(
                            "per_page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
                            "Items per page",
                        ),
                        _query("category", {"enum": categories}, "Category key"),
                        _query("status", {"enum": [*STATUSES, "all"], "default": "available"}, "Item status"),
                        _query("media_type", {"type": "string"}, "video, audio, image or a plugin's type"),
                        _query(
                            "q",
                            {"type": "string"},
                            "Case-insensitive search in title, filename, series, artist and album",
                        ),
                        _query("year", {"type": "integer"}, "Year"),
                        _query("series", {"type": "string"}, "Series name (exact)"),
                        _query("season", {"type": "integer"}, "Season number"),
                        _query(
                            "sort", {"enum": sort_values, "default": "title"}, "Sort key; '-' for descending"
                        ),
                        _query(
                            "cursor",
                            {"type": "string"},
                            "The previous page's `next_cursor`, with the same filters and sort: the next "
                            "page, as fast however deep (instead of `page`)",
                        ),
                    ],
                    "responses": {"200": _json(_ref("MediaPage"), "A page of items"), **_errors(400)},
                }
            },
            "/api/v1/media/upload": {
                "post": {
                    "summary": "Upload a media file into a category",
                    "security": BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        **{
                                            name: {"type": "string"}
                                            for name in (
                                                "category",
                                                "title",
                                                "description",
                                                "uploaded_by",
                                                "uploader",
                                                "user",
                                            )
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("MediaItem"), "The new item"),
                        **_errors(400, 401, 403, 413, 415, 500, 507),
                    },
                }
            },
            "/api/v1/media/categories": {
                "get": {
                    "summary": "Configured categories with counts",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["categories", "default_category"],
                                "properties": {
                                    "categories": {"type": "array", "items": _ref("Category")},
                                    "default_category": {"type": "string"},
                                },
                            },
                            "Categories",
                        )
                    },
                }
            },
            "/api/v1/media/scan-info": {
                "get": {
                    "summary": "Library statistics and the last scan",
                    "responses": {"200": _json(_ref("ScanInfo"), "Statistics")},
                }
            },
            "/api/v1/media/{item_id}": {
                "get": {
                    "summary": "One item",
                    "parameters": [ITEM_ID],
                    "responses": {"200": _json(_ref("MediaItem"), "The item"), **_errors(404)},
                },
                "delete": {
                    "summary": "Delete an item (soft, hard, hard with its file)",
                    "security": BEARER,
                    "parameters": [
                        ITEM_ID,
                        _query("soft", {"type": "boolean"}, "Mark deleted; keep row and file"),
                        _query("delete_file", {"type": "boolean"}, "Hard delete also removes the file"),
                    ],
                    "responses": {
                        "200": _json(_ref("DeleteResult"), "What was done"),
                        **_errors(400, 401, 403, 404),
                    },
                },
            },
            "/api/v1/media/{item_id}/refresh": {
                "post": {
                    "summary": "Read the item's file again, changed or not (after editing its .nfo)",
                    "security": BEARER,
                    "parameters": [ITEM_ID],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["item", "errors"],
                                "properties": {
                                    "item": _ref("MediaItem"),
                                    "errors": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "what metadata plugins reported (the item is updated)",
                                    },
                                },
                            },
                            "The refreshed item",
                        ),
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/api/v1/media/{item_id}/stream": {
                "get": {
                    "summary": "The file, with HTTP range support",
                    "parameters": [
                        ITEM_ID,
                        _query("download", {"type": "boolean"}, "Send as an attachment"),
                        RANGE,
                    ],
                    "responses": {
                        "200": {"description": "Whole file", "content": {"*/*": BINARY}},
                        "206": PARTIAL,
                        "304": {"description": "Not modified"},
                        **_errors(400, 404, 416),
                    },
                }
            },
            "/api/v1/media/{item_id}/poster": {
                "get": {
                    "summary": "Poster image (sidecar, embedded art, video frame or placeholder)",
                    "parameters": [
                        ITEM_ID,
                        _query(
                            "w", {"type": "integer", "minimum": 16, "maximum": 2000}, "Resize to this width"
                        ),
                        RANGE,
                    ],
                    "responses": {
                        "200": {
                            "description": "Image; X-Poster-Source names the fallback",
                            "content": {"image/*": BINARY},
                        },
                        "206": PARTIAL,
                        "304": {"description": "Not modified"},
                        **_errors(400, 404, 416),
                    },
                }
            },
            "/api/v1/admin/media/maintenance-scan": {
                "post": {
                    "summary": "Run a maintenance scan",
                    "security": BEARER,
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _ref("ScanRequest")}},
                    },
                    "responses": {
                        "200": _json(_ref("ScanSummary"), "The scan summary"),
                        **_errors(400, 401, 403, 409),
                    },
                }
            },
        },
    }
