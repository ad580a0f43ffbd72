"""The tables. The database itself is bound at run time through ``db.database`` (a proxy)."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Any

import orjson
from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    DateTimeField,
    DoubleField,
    IntegerField,
    Model,
    TextField,
)

database = DatabaseProxy()

STATUSES = ("available", "missing", "deleted")
SOURCES = ("scan", "upload")


def utcnow() -> datetime:
    """Naive UTC, the way every timestamp is stored (SQLite and PostgreSQL alike)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def isoformat(value: datetime | None) -> str | None:
    """Stored naive-UTC timestamps as ISO-8601 with an explicit ``Z``."""
    return None if value is None else value.replace(tzinfo=None).isoformat() + "Z"


class JSONField(TextField):
    """JSON in a text column: portable across SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database


class MediaItem(BaseModel):
    id = AutoField()
    category = CharField(max_length=64)
    path = TextField(unique=True)
    relative_path = TextField()
    filename = TextField()
    extension = CharField(max_length=32)
    media_type = CharField(max_length=32)
    mime_type = CharField(max_length=128, null=True)
    title = TextField(null=True)
    description = TextField(null=True)
    size_bytes = BigIntegerField()
    mtime = DoubleField()
    duration_seconds = DoubleField(null=True)
    width = IntegerField(null=True)
    height = IntegerField(null=True)
    video_codec = CharField(max_length=64, null=True)
    audio_codec = CharField(max_length=64, null=True)
    bitrate = BigIntegerField(null=True)
    year = IntegerField(null=True)
    series = TextField(null=True)
    season = IntegerField(null=True)
    episode = IntegerField(null=True)
    artist = TextField(null=True)
    album = TextField(null=True)
    track_number = IntegerField(null=True)
    metadata = JSONField(null=True)
    status = CharField(max_length=16, default="available")
    source = CharField(max_length=16, default="scan")
    uploaded_by = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(
        null=True
    )  # when a scan or upload last read the file (unchanged files are not written)
    missing_since = DateTimeField(null=True)

    class Meta:
        table_name = "media_items"
        indexes = (
            (("category", "status"), False),
            (("status", "created_at"), False),
            (("title",), False),
            (("created_at",), False),
        )

    def to_dict(self) -> dict[str, Any]:
        return item_dict(self.__data__)


class MediaCount(BaseModel):
    """Items per (category, status), maintained by database triggers (migration 4), never by code."""

    category = CharField(max_length=64)
    status = CharField(max_length=16)
    n = BigIntegerField()

    class Meta:
        table_name = "media_counts"
        primary_key = CompositeKey("category", "status")


ITEM_FIELDS: tuple[str, ...] = tuple(MediaItem._meta.sorted_field_names)


_TIMESTAMPS = ("created_at", "updated_at", "last_seen_at", "missing_since")


def item_dict(row: dict[str, Any]) -> dict[str, Any]:
    """An item as the API and the hooks see it: every column, timestamps as ISO-8601 UTC,
    ``metadata`` as an object. Takes a model's data or a row from a ``.dicts()`` query."""
    data = {name: row.get(name) for name in ITEM_FIELDS}
    for name in _TIMESTAMPS:
        value = data[name]
        data[name] = isoformat(value) if isinstance(value, datetime) else value
    data["metadata"] = data["metadata"] or {}
    return data


def item_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """:func:`item_dict` of a raw row of :data:`ITEM_FIELDS`, in that order, as the driver
    returns it (a listing's hot path: no per-field conversion but for the timestamps, which
    SQLite returns as text, and ``metadata``, stored as JSON text)."""
    data = dict(zip(ITEM_FIELDS, row, strict=True))
    for name in _TIMESTAMPS:
        value = data[name]
        if value is not None:
            data[name] = _stored_isoformat(value)
    metadata = data["metadata"]
    data["metadata"] = (orjson.loads(metadata) if isinstance(metadata, str) else metadata) or {}
    return data


def database_kind() -> str:
    """The open database's kind, which compiled SQL is cached by (their placeholders differ)."""
    return type(database.obj).__name__


def select_by_id(columns: tuple[str, ...], count: int) -> str:
    """SELECT ``columns`` of ``count`` items by id, for the open database: these run for every
    page and every range request a player makes, and compiling a SELECT of 34 columns costs more
    than running it."""
    return _compiled_select_by_id(database_kind(), columns, count)


@functools.cache
def _compiled_select_by_id(kind: str, columns: tuple[str, ...], count: int) -> str:
    """:func:`select_by_id`, compiled once per kind of database (their placeholders differ)."""
    fields = [MediaItem._meta.fields[name] for name in columns]
    sql, _ = MediaItem.select(*fields).where(MediaItem.id.in_(list(range(count)))).sql()
    return str(sql)


def _stored_isoformat(value: str | datetime) -> str | None:
    if isinstance(value, str):
        if len(value) == 19 and value[10] == " ":  # "YYYY-MM-DD HH:MM:SS", as stored in SQLite
            return f"{value[:10]}T{value[11:]}Z"
        value = datetime.fromisoformat(value)
    return isoformat(value)


class SystemSetting(BaseModel):
    key = CharField(max_length=128, primary_key=True)
    value = JSONField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "system_settings"


#: Column names a metadata plugin may fill by returning a key of the same name.
METADATA_COLUMNS = (
    "title",
    "description",
    "duration_seconds",
    "width",
    "height",
    "video_codec",
    "audio_codec",
    "bitrate",
    "year",
    "series",
    "season",
    "episode",
    "artist",
    "album",
    "track_number",
    "mime_type",
)


def get_setting(key: str, default: Any = None) -> Any:
    row = SystemSetting.get_or_none(SystemSetting.key == key)
    return default if row is None else row.value


def set_setting(key: str, value: Any) -> None:
    SystemSetting.insert(key=key, value=value, updated_at=utcnow()).on_conflict(
        conflict_target=[SystemSetting.key],
        update={SystemSetting.value: value, SystemSetting.updated_at: utcnow()},
    ).execute()
