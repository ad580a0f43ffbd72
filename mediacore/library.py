"""Reading and changing the library: listing with filters, statistics, deleting items."""

from __future__ import annotations

import base64
import functools
import json
import math
import mimetypes
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, NamedTuple

from peewee import SQL, Field, fn

from .config import MediaConfig
from .db import has_search_index, is_sqlite
from .errors import InvalidOption, NotFound, refuse_nul
from .models import ITEM_FIELDS, STATUSES, MediaCount, MediaItem, database, get_setting, item_from_row, utcnow
from .scanner import fs_path

MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000_000
_SORT_COLUMNS: dict[str, Any] = {
    "title": MediaItem.title,
    "filename": MediaItem.filename,
    "created_at": MediaItem.created_at,
    "updated_at": MediaItem.updated_at,
    "size": MediaItem.size_bytes,
    "duration": MediaItem.duration_seconds,
    "year": MediaItem.year,
}
#: What a listing can sort by; titles and file names sort case-insensitively.
SORT_FIELDS: dict[str, Any] = {
    name: fn.LOWER(column) if name in {"title", "filename"} else column
    for name, column in _SORT_COLUMNS.items()
}
#: Sorts on a column that may be empty: those items go last, whichever the direction. The
#: others are ordered without a NULLS clause: PostgreSQL reads an index backwards (newest
#: first) only for the NULLS order the index has, and would otherwise sort the whole library.
NULLABLE_SORTS = frozenset(name for name, column in _SORT_COLUMNS.items() if column.null)
SEARCH_FIELDS = (MediaItem.title, MediaItem.filename, MediaItem.series, MediaItem.artist, MediaItem.album)


@dataclass(frozen=True)
class ListQuery:
    """Filters, sort and page of a library listing; validated on creation."""

    page: int = 1
    per_page: int = 50
    category: str | None = None
    status: str = "available"
    media_type: str | None = None
    q: str | None = None
    year: int | None = None
    series: str | None = None
    season: int | None = None
    sort: str = "title"
    #: Where the previous page ended (its ``next_cursor``); the page after it is read from the
    #: sort index directly, however deep, instead of skipping ``(page - 1) * per_page`` entries.
    cursor: str | None = None

    def __post_init__(self) -> None:
        for name in ("category", "status", "media_type", "q", "series", "sort", "cursor"):
            refuse_nul(name, getattr(self, name))
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidOption("page", f"must be between 1 and {MAX_PAGE}")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidOption("per_page", f"must be between 1 and {MAX_PER_PAGE}")
        if self.status != "all" and self.status not in STATUSES:
            raise InvalidOption("status", f"must be one of {', '.join(STATUSES)} or all")
        if self.sort.lstrip("-") not in SORT_FIELDS:
            raise InvalidOption("sort", f"must be one of {', '.join(SORT_FIELDS)}, with '-' for descending")
        if self.cursor is not None and self.page != 1:
            raise InvalidOption("cursor", "give either page or cursor, not both")
        self.after  # noqa: B018 - a bad cursor is refused here, before any query

    @functools.cached_property
    def after(self) -> Cursor | None:
        """The decoded ``cursor``."""
        return None if self.cursor is None else Cursor.decode(self.cursor, self.sort)


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort, the last item's sort value and id, and the next page's number.

    Sent to clients as opaque URL-safe text; they hand it back unchanged.
    """

    sort: str
    value: Any
    last_id: int
    page: int

    def encode(self) -> str:
        value = self.value.isoformat(sep=" ") if isinstance(self.value, datetime) else self.value
        data = json.dumps([self.sort, value, self.last_id, self.page], separators=(",", ":"))
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        try:
            sort_of, value, last_id, page = json.loads(
                base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            )
        except (ValueError, TypeError):
            raise InvalidOption("cursor", "not a cursor this API returned") from None
        if sort_of != sort:
            raise InvalidOption("cursor", f"was made for sort={sort_of}, not sort={sort}")
        if not (
            _storable(last_id)
            and _storable(value)
            and isinstance(last_id, int)
            and isinstance(page, int)
            and 1 < page <= MAX_PAGE
        ):
            raise InvalidOption("cursor", "not a cursor this API returned")
        return cls(sort, value, last_id, page)


def _storable(value: Any) -> bool:
    """A value the databases can compare with a column: no NUL, 64-bit integers, finite floats."""
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]  # as :func:`mediacore.models.item_dict` shapes them
    page: int
    per_page: int
    total: int
    #: The cursor of the page after this one; None on the last page.
    next_cursor: str | None = None

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


def list_items(config: MediaConfig, query: ListQuery) -> Page:
    """One page of items, the total count, and the cursor of the next page."""
    if query.category is not None:
        config.category(query.category)  # an unknown key is an error, not an empty page
    filters = _filters(query)
    select = _narrowed(filters.columns, filters.values)
    # SQLite's search index holds the available items (three characters or more).
    indexed = (
        bool(query.q)
        and len(query.q or "") >= 3
        and query.status == "available"
        and has_search_index(database.obj)
    )
    if query.q:
        select = select.where(_search(query.q, indexed))
    keys = _keys(select, query.sort)
    total: int | None = None
    if query.after is not None:
        number = query.after.page
        rows = _after(keys, query, filters)
    elif indexed and _only_search_and_status(query):
        number = query.page
        with _matched(query.q or "") as total:
            rows = _search_page(query, total)
    elif indexed or (query.q and not is_sqlite(database.obj)):
        # The search indexes give every match, unordered: they are all read and sorted anyway,
        # so counting them in the same pass spares running the search twice.
        number = query.page
        counted = _counted(select, keys, query.sort).paginate(number, query.per_page)
        rows = database.execute(counted).fetchall()
        total = rows[0][2] if rows else (0 if number == 1 else None)
    elif query.q:  # a search that scans: SQLite's, of two letters or of other statuses
        number = query.page
        rows = database.execute(keys.paginate(number, query.per_page)).fetchall()
    else:
        number = query.page
        sql = _compiled_page(_database_kind(), filters.columns, query.sort)
        parameters = [*filters.values, query.per_page, (number - 1) * query.per_page]
        rows = database.execute_sql(sql, parameters).fetchall()
    if total is None:
        total = _stored_count(query) if _only_category_and_status(query) else select.count()
    following = None
    if len(rows) == query.per_page and number * query.per_page < total:
        following = Cursor(query.sort, rows[-1][1], rows[-1][0], number + 1).encode()
    items = _items_by_id([row[0] for row in rows])
    return Page(items, number, query.per_page, total, following)


class _Filters(NamedTuple):
    """The columns a listing is narrowed on, which shape its SQL, and their values, in order."""

    columns: tuple[str, ...]
    values: tuple[Any, ...]


def _filters(query: ListQuery) -> _Filters:
    pairs = [
        (column, value)
        for column, value in (
            ("status", None if query.status == "all" else query.status),
            ("category", query.category),
            ("media_type", query.media_type),
            ("year", query.year),
            ("series", query.series),
            ("season", query.season),
        )
        if value is not None
    ]
    return _Filters(tuple(column for column, _ in pairs), tuple(value for _, value in pairs))


def _narrowed(columns: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    """The items whose ``columns`` equal ``values``."""
    select = MediaItem.select()
    for column, value in zip(columns, values, strict=True):
        select = select.where(MediaItem._meta.fields[column] == value)
    return select


def _keys(select: Any, sort: str) -> Any:
    """``select`` as the (id, sort value) pairs of its items, in the listing's order.

    A deferred join: the page's ids (and sort values, for the next cursor) come from the sort
    index alone, then only those rows are read."""
    key, descending, nulls = _order(sort)
    if descending:
        return select.select(MediaItem.id, key).order_by(key.desc(nulls=nulls), MediaItem.id.desc())
    return select.select(MediaItem.id, key).order_by(key.asc(nulls=nulls), MediaItem.id.asc())


def _order(sort: str) -> tuple[Any, bool, str | None]:
    """A sort's key expression, whether it descends, and where items without a value go."""
    name = sort.lstrip("-")
    return SORT_FIELDS[name], sort.startswith("-"), "LAST" if name in NULLABLE_SORTS else None


def _database_kind() -> str:
    """The open database's kind, which compiled SQL is cached by (their placeholders differ)."""
    return type(database.obj).__name__


@functools.cache
def _compiled_page(database_kind: str, filters: tuple[str, ...], sort: str) -> str:
    """A page's (id, sort value) rows when it is neither a search nor a cursor's page, compiled
    once per shape: its parameters are the filters' values, then LIMIT and OFFSET. Compiling it
    took four times as long as running it (0.13 ms against 0.03 ms)."""
    select = _narrowed(filters, (0,) * len(filters))  # stand-ins: only the SQL's text is kept
    return str(_keys(select, sort).limit(1).offset(1).sql()[0])


@contextmanager
def _matched(text: str) -> Iterator[int]:
    """Put the available items a search matches in the temporary table ``search_matches`` for
    the statements the block runs; yields how many there are.

    SQLite's search index is read once for the count and the page (it was read twice: 0.6 ms
    each for a word in 2.7 % of 100,000 titles), and the page's walk looks the matches up by
    the table's key instead of first building an index of them (bench/RESULTS.md)."""
    database.execute_sql("CREATE TEMP TABLE IF NOT EXISTS search_matches (id INTEGER PRIMARY KEY)")
    insert = "INSERT INTO temp.search_matches SELECT rowid FROM media_search WHERE media_search MATCH ?"
    try:
        yield database.execute_sql(insert, (_phrase(text),)).rowcount
    finally:
        database.execute_sql("DELETE FROM temp.search_matches")


#: A search's page in title order, read by walking the title index and keeping the items
#: :func:`_matched` found: ~(offset + per_page) x items / matches index entries, no row read.
_WALK_TITLES = (
    "SELECT id, lower(title) FROM media_items INDEXED BY media_items_status_title "
    "WHERE status = 'available' AND id IN temp.search_matches "
    "ORDER BY lower(title) {0} NULLS LAST, id {0} LIMIT ? OFFSET ?"
)


def _search_page(query: ListQuery, matches: int) -> list[tuple[Any, ...]]:
    """A page of an (unfiltered, available) search on SQLite, by the cheaper of two plans: read
    every match's row and sort them (~matches rows), or walk the title index until the page is
    full (~(offset + per_page) x items / matches entries). For a word in 2.7 % of 100,000
    titles the walk takes a fifth of the time of reading the 2,639 rows; for a rare word or a
    deep page, reading the rows wins. Both read the matches :func:`_matched` found."""
    if not matches:
        return []
    offset = (query.page - 1) * query.per_page
    by_title = query.sort.lstrip("-") == "title"
    if by_title and matches * matches >= (offset + query.per_page) * _stored_count(query):
        direction = "DESC" if query.sort.startswith("-") else "ASC"
        return list(database.execute_sql(_WALK_TITLES.format(direction), (query.per_page, offset)).fetchall())
    parameters = (query.status, query.per_page, offset)
    return list(database.execute_sql(_compiled_matches_page(query.sort), parameters).fetchall())


@functools.cache
def _compiled_matches_page(sort: str) -> str:
    """A page of the items in ``search_matches`` by reading each one's row, compiled once per
    sort (as :func:`_compiled_page`): its parameters are the status, LIMIT and OFFSET."""
    select = _narrowed(("status",), (0,)).where(MediaItem.id.in_(SQL("temp.search_matches")))
    return str(_keys(select, sort).limit(1).offset(1).sql()[0])


def _counted(select: Any, keys: Any, sort: str) -> Any:
    """The page's (id, sort value) rows of a search, each with the number of matches."""
    if is_sqlite(database.obj):
        return keys.select_extend(fn.COUNT(MediaItem.id).over())
    key, descending, nulls = _order(sort)
    # Given that form, PostgreSQL walks the sort index and tests every row it passes (150 ms
    # for a word in 2.7 % of 100,000 titles). Set apart, the matches come from the trigram
    # indexes in one bitmap scan and only they are sorted (18 ms; a page and a count apart: 30).
    matches = select.select(MediaItem.id, key.alias("sort_value")).cte("matches", materialized=True)
    value = matches.c.sort_value
    order = value.desc(nulls=nulls) if descending else value.asc(nulls=nulls)
    tie = matches.c.id.desc() if descending else matches.c.id.asc()
    return matches.select_from(matches.c.id, value, fn.COUNT(SQL("*")).over()).order_by(order, tie)


def _after(keys: Any, query: ListQuery, filters: _Filters) -> list[tuple[Any, ...]]:
    """The page after the query's cursor, as an index range: the rows with a sort value past
    it, then (sorted last) those without one."""
    cursor, limit = query.after, query.per_page
    assert cursor is not None
    key, descending, _ = _order(query.sort)
    rows: list[tuple[Any, ...]] = []
    if cursor.value is not None and query.q:
        past = _past(key, descending, cursor.value, cursor.last_id)
        rows = database.execute(keys.where(past).limit(limit)).fetchall()
    elif cursor.value is not None:
        sql = _compiled_after(_database_kind(), filters.columns, query.sort)
        value = key.db_value(cursor.value) if isinstance(key, Field) else cursor.value  # as peewee would
        parameters = [*filters.values, value, value, cursor.last_id, limit]
        rows = database.execute_sql(sql, parameters).fetchall()
    if len(rows) < limit:
        nulls = keys.where(key.is_null())
        if cursor.value is None:
            nulls = nulls.where(
                MediaItem.id < cursor.last_id if descending else MediaItem.id > cursor.last_id
            )
        rows += database.execute(nulls.limit(limit - len(rows))).fetchall()
    return rows


def _past(key: Any, descending: bool, value: Any, last_id: Any) -> Any:
    """The rows after (value, last_id) in the listing's order.

    Spelled out rather than as a row value, (key, id) > (value, last_id): SQLite would then not
    start from the value in an index on an expression such as LOWER(title)."""
    if descending:
        return (key <= value) & ((key < value) | (MediaItem.id < last_id))
    return (key >= value) & ((key > value) | (MediaItem.id > last_id))


@functools.cache
def _compiled_after(database_kind: str, filters: tuple[str, ...], sort: str) -> str:
    """:func:`_after`'s rows with a sort value, compiled once per shape (as :func:`_compiled_page`):
    its parameters are the filters' values, the cursor's value twice, its last id, then LIMIT."""
    select = _narrowed(filters, (0,) * len(filters))  # stand-ins: only the SQL's text is kept
    key, descending, _ = _order(sort)
    past = _past(key, descending, 0, 0)
    return str(_keys(select, sort).where(past).limit(1).sql()[0])


def _items_by_id(ids: list[int]) -> list[dict[str, Any]]:
    """The items with these ids, in this order."""
    if not ids:
        return []
    cursor = database.execute_sql(_select_by_id(ITEM_FIELDS, len(ids)), ids)
    found = {row[0]: item_from_row(row) for row in cursor.fetchall()}
    return [found[item_id] for item_id in ids if item_id in found]


def _select_by_id(columns: tuple[str, ...], count: int) -> str:
    """SELECT ``columns`` of ``count`` items by id, for the open database: these run for every
    page and every range request a player makes, and compiling a SELECT of 34 columns costs more
    than running it."""
    return _compiled_select_by_id(_database_kind(), columns, count)


@functools.cache
def _compiled_select_by_id(database_kind: str, columns: tuple[str, ...], count: int) -> str:
    """:func:`_select_by_id`, compiled once per kind of database (their placeholders differ)."""
    fields = [MediaItem._meta.fields[name] for name in columns]
    sql, _ = MediaItem.select(*fields).where(MediaItem.id.in_(list(range(count)))).sql()
    return str(sql)


def _search(text: str, indexed: bool) -> Any:
    """Case-insensitive substring search over the searched columns.

    With SQLite's trigram index (``indexed``: three characters or more) a phrase query on it;
    else ``contains()``, which escapes wildcards and is LIKE on SQLite, ILIKE on PostgreSQL
    (where the trigram indexes serve it).
    """
    if indexed:
        return MediaItem.id.in_(
            SQL("(SELECT rowid FROM media_search WHERE media_search MATCH ?)", [_phrase(text)])
        )
    condition: Any = SEARCH_FIELDS[0].contains(text)
    for column in SEARCH_FIELDS[1:]:
        condition = condition | column.contains(text)
    return condition


def _phrase(text: str) -> str:
    """The text as one FTS5 phrase: matched as a substring, whatever characters it holds."""
    return '"' + text.replace('"', '""') + '"'


def _other_filters(query: ListQuery) -> bool:
    """Filters besides category, status and search."""
    return not set(_filters(query).columns) <= {"status", "category"}


def _only_search_and_status(query: ListQuery) -> bool:
    return query.category is None and not _other_filters(query)


def _only_category_and_status(query: ListQuery) -> bool:
    return not query.q and not _other_filters(query)


def _stored_count(query: ListQuery) -> int:
    """The total from ``media_counts``, which triggers keep in step with ``media_items``."""
    by_status, by_category = query.status != "all", query.category is not None
    sql = _compiled_stored_count(_database_kind(), by_status, by_category)
    parameters = [value for value, used in ((query.status, by_status), (query.category, by_category)) if used]
    return int(database.execute_sql(sql, parameters).fetchone()[0])


@functools.cache
def _compiled_stored_count(database_kind: str, by_status: bool, by_category: bool) -> str:
    """:func:`_stored_count`'s SQL, compiled once per shape: every page asks it."""
    select = MediaCount.select(fn.COALESCE(fn.SUM(MediaCount.n), SQL("0")))
    if by_status:
        select = select.where(MediaCount.status == "")
    if by_category:
        select = select.where(MediaCount.category == "")
    return str(select.sql()[0])


def get_item(item_id: int, *, include_deleted: bool = False) -> MediaItem:
    _check_id(item_id)
    sql = _select_by_id(ITEM_FIELDS, 1)
    item = next(iter(MediaItem.raw(sql, item_id)), None)
    if item is None or (item.status == "deleted" and not include_deleted):
        raise NotFound(f"media item {item_id} not found")
    return item


def _check_id(item_id: int) -> None:
    if not 0 <= item_id < 2**63:  # no row has it, and the databases cannot even compare it
        raise NotFound(f"media item {item_id} not found")


@dataclass(frozen=True)
class MediaFile:
    """What serving an item's file takes."""

    path: str  # the name on disk
    filename: str
    mime_type: str | None
    category: str

    @property
    def content_type(self) -> str:
        return self.mime_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


_FILE_COLUMNS = ("path", "status", "category", "filename", "mime_type")


def open_media_file(
    config: MediaConfig, item_id: int, file: MediaFile | None = None
) -> tuple[MediaFile, BinaryIO, os.stat_result]:
    """An item's file, which must exist and lie under its category's root, opened for reading:
    (the file, its handle, its ``fstat``). ``file`` is the item's row (:func:`file_of`) when the
    caller has read it already.

    The file is checked once open, at the place the kernel resolved its name to: a symlink
    swapped in after the check cannot have another file sent, and the check costs one system
    call where resolving a name costs one per folder."""
    file = file or file_of(item_id)
    try:
        # Unbuffered: servers send it with sendfile(), and a buffer costs two system calls more.
        handle = open(file.path, "rb", buffering=0)  # noqa: SIM115 - the caller owns it
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):  # a folder by that name now
        raise _file_missing(item_id) from None
    try:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _file_missing(item_id)
        if not _under_its_root(config, file.category, _opened_path(handle), resolved=True):
            raise _outside_its_root(item_id)
    except BaseException:
        handle.close()
        raise
    return file, handle, info


def file_of(item_id: int) -> MediaFile:
    """The row of an item that is neither deleted nor missing, as serving its file needs it."""
    _check_id(item_id)
    sql = _select_by_id(_FILE_COLUMNS, 1)
    row = database.execute_sql(sql, (item_id,)).fetchone()
    if row is None or row[1] == "deleted":
        raise NotFound(f"media item {item_id} not found")
    stored, status, category, filename, mime_type = row
    if status == "missing":
        raise _file_missing(item_id)
    return MediaFile(fs_path(stored), filename, mime_type, category)


def _file_missing(item_id: int) -> NotFound:
    return NotFound(f"the file of media item {item_id} is missing")


def _outside_its_root(item_id: int) -> NotFound:
    return NotFound(f"media item {item_id} is not under a configured root")


def _opened_path(handle: BinaryIO) -> str:
    """The resolved name of an open file: its link in /proc on Linux, else its name resolved."""
    try:
        return os.readlink(f"/proc/self/fd/{handle.fileno()}")
    except OSError:
        return os.path.realpath(handle.name)


def _under_its_root(config: MediaConfig, category_key: str, path: str, *, resolved: bool = False) -> bool:
    """Only files below their (still configured) category's root are served or removed."""
    category = config.categories.get(category_key)
    return category is not None and category.contains(path, resolved=resolved)


def check_database() -> None:
    """A round trip to the database (health checks)."""
    database.execute_sql("SELECT 1")


@dataclass(frozen=True)
class DeleteResult:
    id: int
    mode: str  # soft | hard
    file_deleted: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "deleted": self.mode, "file_deleted": self.file_deleted}


def delete_item(config: MediaConfig, item_id: int, *, soft: bool, delete_file: bool) -> DeleteResult:
    """Soft delete keeps row and file; hard delete removes the row and, if asked, the file.

    The file goes first: if it cannot be removed the row stays, so nothing is left half-deleted.
    Only a file under its category's root is ever removed.
    """
    if soft and delete_file:
        raise InvalidOption("delete_file", "only a hard delete can remove the file; drop soft=true")
    item = get_item(item_id, include_deleted=True)
    if soft:
        MediaItem.update(status="deleted", updated_at=utcnow()).where(MediaItem.id == item_id).execute()
        return DeleteResult(item_id, "soft", False)
    removed = False
    if delete_file:
        path = fs_path(item.path)
        if not _under_its_root(config, item.category, path):
            raise InvalidOption(
                "delete_file", "the file is not under its category's root; it was not touched"
            )
        if os.path.lexists(path):
            os.remove(path)
            removed = True
    MediaItem.delete().where(MediaItem.id == item_id).execute()
    return DeleteResult(item_id, "hard", removed)


def category_counts(config: MediaConfig) -> list[dict[str, Any]]:
    """Every configured category with its item counts by status and total size."""
    rows: Any = (
        MediaItem.select(
            MediaItem.category, MediaItem.status, fn.COUNT(MediaItem.id), fn.SUM(MediaItem.size_bytes)
        )
        .group_by(MediaItem.category, MediaItem.status)
        .tuples()
    )

    def empty() -> dict[str, Any]:
        return {"counts": dict.fromkeys(STATUSES, 0), "total_size_bytes": 0}

    counts: dict[str, dict[str, Any]] = {}
    for category, status, count, size in rows:
        entry = counts.setdefault(category, empty())
        entry["counts"][status] = count
        if status != "deleted":
            entry["total_size_bytes"] += int(size or 0)
    result = []
    for key, category in config.categories.items():
        entry = counts.get(key) or empty()
        result.append(
            {
                **category.to_dict(),
                "root_exists": os.path.isdir(category.root_path),
                "counts": entry["counts"],
                "total": sum(entry["counts"].values()),
                "total_size_bytes": entry["total_size_bytes"],
            }
        )
    return result


def library_stats() -> dict[str, Any]:
    """Counts by status, category and media type, sizes and durations, and the last scan."""

    def grouped(column: Any) -> dict[str, int]:
        query: Any = MediaItem.select(column, fn.COUNT(MediaItem.id)).group_by(column).tuples()
        return dict(query)

    sums: Any = MediaItem.select(fn.SUM(MediaItem.size_bytes), fn.SUM(MediaItem.duration_seconds))
    size, duration = sums.where(MediaItem.status == "available").tuples().get()
    last = get_setting("last_scan")
    return {
        "total_items": MediaItem.select().count(),
        "by_status": {**dict.fromkeys(STATUSES, 0), **grouped(MediaItem.status)},
        "by_category": grouped(MediaItem.category),
        "by_media_type": grouped(MediaItem.media_type),
        "available_size_bytes": int(size or 0),
        "available_duration_seconds": round(float(duration or 0), 3),
        "last_scan": {"scanned_at": last["scanned_at"], "dry_run": last["dry_run"], "totals": last["totals"]}
        if last
        else None,
        "media_scan_directories": get_setting("media_scan_directories") or {},
    }
