"""Listing the library: filters, sorting, search, and pages by number or by cursor.

A page is found in two steps: the ids of its items, by the plan that suits the query (a plain
page, a cursor's, a search's), with the total (kept by triggers when only the category and the
status filter, else counted); then those items' rows, by id. The SQL of each shape of query is
compiled once where compiling took longer than running it.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from peewee import SQL, Field, fn

from .config import MediaConfig
from .db import has_search_index, is_sqlite
from .errors import InvalidOption, refuse_nul
from .models import (
    ITEM_FIELDS,
    STATUSES,
    MediaCount,
    MediaItem,
    database,
    database_kind,
    item_from_row,
    select_by_id,
)

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
        sql = _compiled_page(database_kind(), filters.columns, query.sort)
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


@functools.cache
def _compiled_page(kind: str, filters: tuple[str, ...], sort: str) -> str:
    """A page's (id, sort value) rows when it is neither a search nor a cursor's page, compiled
    once per shape: its parameters are the filters' values, then LIMIT and OFFSET. Compiling it
    took four times as long as running it (0.13 ms against 0.03 ms)."""
    select = _narrowed(filters, (0,) * len(filters))  # stand-ins: only the SQL's text is kept
    return str(_keys(select, sort).limit(1).offset(1).sql()[0])


#: The ids of the items SQLite's search index matches with a phrase (:func:`_phrase`).
_MATCHING = "SELECT rowid FROM media_search WHERE media_search MATCH ?"


@contextmanager
def _matched(text: str) -> Iterator[int]:
    """Put the available items a search matches in the temporary table ``search_matches`` for
    the statements the block runs; yields how many there are.

    SQLite's search index is read once for the count and the page (it was read twice: 0.6 ms
    each for a word in 2.7 % of 100,000 titles), and the page's walk looks the matches up by
    the table's key instead of first building an index of them (bench/RESULTS.md)."""
    database.execute_sql("CREATE TEMP TABLE IF NOT EXISTS search_matches (id INTEGER PRIMARY KEY)")
    try:
        yield database.execute_sql(f"INSERT INTO temp.search_matches {_MATCHING}", (_phrase(text),)).rowcount
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
        sql = _compiled_after(database_kind(), filters.columns, query.sort)
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
def _compiled_after(kind: str, filters: tuple[str, ...], sort: str) -> str:
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
    cursor = database.execute_sql(select_by_id(ITEM_FIELDS, len(ids)), ids)
    found = {row[0]: item_from_row(row) for row in cursor.fetchall()}
    return [found[item_id] for item_id in ids if item_id in found]


def _search(text: str, indexed: bool) -> Any:
    """Case-insensitive substring search over the searched columns.

    With SQLite's trigram index (``indexed``: three characters or more) a phrase query on it;
    else ``contains()``, which escapes wildcards and is LIKE on SQLite, ILIKE on PostgreSQL
    (where the trigram indexes serve it).
    """
    if indexed:
        return MediaItem.id.in_(SQL(f"({_MATCHING})", [_phrase(text)]))
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
    sql = _compiled_stored_count(database_kind(), by_status, by_category)
    parameters = [value for value, used in ((query.status, by_status), (query.category, by_category)) if used]
    return int(database.execute_sql(sql, parameters).fetchone()[0])


@functools.cache
def _compiled_stored_count(kind: str, by_status: bool, by_category: bool) -> str:
    """:func:`_stored_count`'s SQL, compiled once per shape: every page asks it."""
    select = MediaCount.select(fn.COALESCE(fn.SUM(MediaCount.n), SQL("0")))
    if by_status:
        select = select.where(MediaCount.status == "")
    if by_category:
        select = select.where(MediaCount.category == "")
    return str(select.sql()[0])
