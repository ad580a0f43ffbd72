from __future__ import annotations

import pytest

from mediacore import db as dbmodule
from mediacore.db import is_sqlite
from mediacore.errors import DatabaseUnavailable
from mediacore.models import database, get_setting, set_setting


def index_names() -> set[str]:
    return {index.name for index in database.obj.get_indexes("media_items")}


def test_fresh_database_is_at_the_latest_schema(media_library):
    with database.connection_context():
        assert get_setting("schema_version") == dbmodule.SCHEMA_VERSION
        title_index = "media_items_status_title" + ("" if is_sqlite(database.obj) else "_covering")
        assert {title_index, "media_items_category_counts"} <= index_names()


def test_older_schema_is_migrated_in_order(media_library, monkeypatch):
    with database.connection_context():
        for name in (
            "media_items_status_title",
            "media_items_category_status_title",
            "media_items_status_created",
            "media_items_category_counts",
        ):
            database.execute_sql(f"DROP INDEX IF EXISTS {name}")
        set_setting("schema_version", 1)
    applied = []
    original = list(dbmodule.MIGRATIONS)
    monkeypatch.setattr(
        dbmodule,
        "MIGRATIONS",
        [(version, lambda d, m, f=fn, v=version: (applied.append(v), f(d, m))) for version, fn in original],
    )
    dbmodule.open_database(media_library.database_url)
    assert applied == [version for version, _ in original if version > 1]
    with database.connection_context():
        title_index = "media_items_status_title" + ("" if is_sqlite(database.obj) else "_covering")
        assert get_setting("schema_version") == dbmodule.SCHEMA_VERSION and title_index in index_names()


def test_a_newer_schema_is_refused_clearly(media_library):
    with database.connection_context():
        set_setting("schema_version", dbmodule.SCHEMA_VERSION + 1)
    with pytest.raises(DatabaseUnavailable, match="newer than this mediacore"):
        dbmodule.open_database(media_library.database_url)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://nobody@127.0.0.1:1/x",
        "nosuchscheme://x",
        "postgresql://nobody@127.0.0.1:1/x",
        "sqlite:////nonexistent-dir/x/y.db",
    ],
)
def test_unusable_urls_are_clear_errors(url):
    with pytest.raises(DatabaseUnavailable, match=r"cannot (open|use) database"):
        dbmodule.open_database(url)


def stored_counts() -> dict[tuple[str, str], int]:
    from mediacore.models import MediaCount

    return {(row.category, row.status): row.n for row in MediaCount.select() if row.n}


def real_counts() -> dict[tuple[str, str], int]:
    from peewee import fn

    from mediacore.models import MediaItem

    query = MediaItem.select(MediaItem.category, MediaItem.status, fn.COUNT(MediaItem.id))
    return {
        (category, status): n
        for category, status, n in query.group_by(MediaItem.category, MediaItem.status).tuples()
    }


def test_stored_counts_follow_every_write(media_library):
    from mediacore.models import MediaItem

    for index in range(3):
        media_library.add_video(f"Film {index}.mp4")
    media_library.add_audio("song.mp3")
    media_library.scan()
    with database.connection_context():
        assert stored_counts() == real_counts() == {("movies", "available"): 3, ("music", "available"): 1}
    (media_library.root("movies") / "Film 0.mp4").unlink()
    media_library.scan()
    with database.connection_context():
        MediaItem.update(status="deleted").where(MediaItem.filename == "Film 1.mp4").execute()
        MediaItem.update(category="music").where(MediaItem.filename == "Film 2.mp4").execute()
        MediaItem.update(title="unchanged counts").execute()
        MediaItem.delete().where(MediaItem.filename == "song.mp3").execute()
        assert (
            stored_counts()
            == real_counts()
            == {("movies", "missing"): 1, ("movies", "deleted"): 1, ("music", "available"): 1}
        )


def test_a_large_scan_refreshes_the_planner_statistics(media_library, monkeypatch):
    monkeypatch.setattr("mediacore.maintenance.STATISTICS_AFTER", 2)
    media_library.add_video("One.mp4")
    media_library.add_video("Two.mp4")
    media_library.scan()
    with database.connection_context():
        if is_sqlite(database.obj):
            query = "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'media_items'"
        else:
            query = (
                "SELECT COUNT(*) FROM pg_stat_user_tables "
                "WHERE relname = 'media_items' AND last_analyze IS NOT NULL"
            )
        assert database.execute_sql(query).fetchone()[0] > 0


def test_an_older_search_index_is_rebuilt_for_the_available_items(media_library):
    """A library made before migration 8 has a search index of every item; once upgraded, a
    search lists the available items from the index and finds the others by status."""
    from mediacore.listing import ListQuery, list_items
    from mediacore.models import MediaItem

    for title in ("Harbor Lights", "Harbor Mist", "Lost Harbor"):
        media_library.add_video(f"{title}.mp4", seconds=1)
    media_library.scan()
    with database.connection_context():
        if is_sqlite(database.obj):  # the index as migration 5 made it: every item, no view
            database.execute_sql("DROP TABLE media_search")
            database.execute_sql("DROP VIEW media_search_source")
            for name in ("media_search_insert", "media_search_delete", "media_search_update"):
                database.execute_sql(f"DROP TRIGGER {name}")
            dbmodule._search_index(database.obj, None)
        MediaItem.update(status="missing").where(MediaItem.title == "Harbor Mist").execute()
        set_setting("schema_version", 7)
    dbmodule.open_database(media_library.database_url)
    config = media_library.config()
    with database.connection_context():
        assert get_setting("schema_version") == dbmodule.SCHEMA_VERSION

        def titles(**query):
            page = list_items(config, ListQuery(**query))
            assert page.total == len(page.items)
            return [item["title"] for item in page.items]

        assert titles(q="harbor") == ["Harbor Lights", "Lost Harbor"]
        assert titles(q="harbor", status="missing") == ["Harbor Mist"]
        MediaItem.update(status="available").where(MediaItem.title == "Harbor Mist").execute()
        assert titles(q="harbor") == ["Harbor Lights", "Harbor Mist", "Lost Harbor"]
        if is_sqlite(database.obj):  # FTS5's own check: the index agrees with its content
            database.execute_sql(
                "INSERT INTO media_search (media_search, rank) VALUES ('integrity-check', 1)"
            )
