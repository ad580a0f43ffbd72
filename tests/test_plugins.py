from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mediacore import MediaType, PosterImage, hookimpl
from mediacore.extract import extract_metadata
from mediacore.hooks import media_types, resolve_poster
from mediacore.plugins import list_plugins

BUILTINS = {"video", "audio", "image", "names", "posters", "deletions_log"}


def fake_distribution(site: Path, name: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """An installed distribution as pip would leave it: dist-info with entry points, plus modules."""
    info = site / f"{name}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[mediacore]\n{lines}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


def test_builtins_are_loaded_through_entry_points_and_listed():
    rows = {row.name: row for row in list_plugins()}
    assert set(rows) >= BUILTINS
    assert rows["video"].hooks == ["mediacore_extract_metadata", "mediacore_media_types"]
    assert rows["posters"].hooks == ["mediacore_resolve_poster"]
    assert rows["deletions_log"].hooks == ["mediacore_handle_missing"]
    assert all(
        rows[name].builtin and rows[name].status == "loaded" and rows[name].version for name in BUILTINS
    )
    assert {"video", "audio", "image"} <= set(media_types())


def test_cli_lists_plugins_as_json_and_hides_builtins_by_default(cli, tmp_path):
    result = cli("plugins", "--all", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) >= BUILTINS and rows["audio"]["hooks"] == [
        "mediacore_extract_metadata",
        "mediacore_media_types",
    ]
    plain = cli("plugins", cwd=tmp_path)
    assert "video" not in plain.stdout.split()


def test_broken_and_unknown_hook_plugins_are_reported_and_the_host_keeps_working(
    cli, tmp_path, media_library
):
    site = tmp_path / "site"
    fake_distribution(
        site, "brokenplug", {"brokenplug": "import does_not_exist_anywhere\n"}, {"broken": "brokenplug"}
    )
    fake_distribution(
        site,
        "futureplug",
        {
            "futureplug": """
            from mediacore import hookimpl

            @hookimpl
            def mediacore_hook_from_the_future(item):
                return 1

            @hookimpl
            def mediacore_extract_metadata(path):
                return {"future_seen": True}
        """
        },
        {"future": "futureplug"},
    )
    fake_distribution(
        site,
        "badargs",
        {
            "badargs": """
            from mediacore import hookimpl

            @hookimpl
            def mediacore_extract_metadata(path, no_such_argument):
                return {}
        """
        },
        {"badargs": "badargs"},
    )
    media_library.add_video("Film (2001).mp4")
    env = {"PYTHONPATH": str(site)}
    result = cli("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["broken"]["status"] == "failed" and rows["broken"]["version"] == "1.2.3"
    assert "ModuleNotFoundError" in rows["broken"]["problems"][0]
    assert rows["future"]["status"] == "loaded" and rows["future"]["hooks"] == ["mediacore_extract_metadata"]
    assert "unknown hook 'mediacore_hook_from_the_future'" in rows["future"]["problems"][0]
    assert rows["badargs"]["status"] == "failed" and "no_such_argument" in rows["badargs"]["problems"][0]
    assert "plugin broken failed to load" in result.stderr

    scan = cli("scan", "--json", env=env)
    assert scan.returncode == 0, scan.stderr
    assert json.loads(scan.stdout)["totals"]["added"] == 1
    item = media_library.items()[0]
    assert item.metadata["future_seen"] is True and item.width == 320


def test_disable_plugins_by_environment(cli, media_library):
    media_library.add_video("Show.S01E02.mkv", category="tv_series")
    result = cli("scan", "--json", env={"MEDIACORE_DISABLE_PLUGINS": "names, posters"})
    assert result.returncode == 0, result.stderr
    item = media_library.items()[0]
    assert item.series is None and item.width == 320
    listed = json.loads(cli("plugins", "--all", "--json", env={"MEDIACORE_DISABLE_PLUGINS": "names"}).stdout)
    assert {row["name"]: row["status"] for row in listed}["names"] == "disabled"


def test_disable_plugins_in_config(cli, media_library):
    media_library.write_config(disabled_plugins=["names"])
    media_library.add_video("Show.S01E02.mkv", category="tv_series")
    assert cli("scan").returncode == 0
    assert media_library.items()[0].series is None and media_library.items()[0].title == "Show.S01E02"
    listed = json.loads(cli("plugins", "--all", "--json").stdout)
    assert {row["name"]: row["status"] for row in listed}["names"] == "disabled"
    # Disabling the plugin that registers a media type in use is a config error, said clearly.
    media_library.write_config(disabled_plugins=["audio"])
    result = cli("scan")
    assert result.returncode == 2
    assert "categories.music.media_type: unknown media type 'audio'" in result.stderr


class Override:
    @hookimpl
    def mediacore_extract_metadata(self, path, category):
        if category.media_type == "video":
            return {"title": "From the third party", "width": None, "rating": 8.5}
        return None


class Builtinish:
    @hookimpl(trylast=True)
    def mediacore_extract_metadata(self, path):
        return {"title": "Late default", "lateness": "last"}


class First:
    @hookimpl(tryfirst=True)
    def mediacore_extract_metadata(self):  # takes no argument at all: still called
        return {"title": "tryfirst wins"}


def test_merge_precedence_third_party_over_builtin_and_tryfirst_over_all(media_library, register_plugin):
    path = str(media_library.add_video("Real Title (1999).mp4"))
    category = media_library.config().category("movies")
    assert extract_metadata(path, category).metadata["title"] == "Real Title"
    register_plugin(Override(), name="override")
    register_plugin(Builtinish(), name="builtinish")
    merged = extract_metadata(path, category).metadata
    assert merged["title"] == "From the third party"
    assert merged["width"] == 320  # None never overrides
    assert merged["rating"] == 8.5 and merged["year"] == 1999 and merged["lateness"] == "last"
    register_plugin(First(), name="first")
    assert extract_metadata(path, category).metadata["title"] == "tryfirst wins"


class Ebooks:
    @hookimpl
    def mediacore_media_types(self):
        return [MediaType("ebook", ("epub", "PDF"))]

    @hookimpl
    def mediacore_extract_metadata(self, path, category):
        if category.media_type == "ebook":
            return {"title": Path(path).stem.replace("_", " ").title(), "pages": 3}
        return None


def test_plugin_media_type_serves_a_category(media_library, register_plugin):
    register_plugin(Ebooks(), name="ebooks")
    categories = dict(media_library.categories)
    categories["books"] = {"label": "Books", "root_path": "media/Books", "media_type": "ebook"}
    media_library.write_config(categories=categories)
    (media_library.root("books") / "war_and_peace.EPUB").write_bytes(b"PK\x03\x04 not really")
    config = media_library.config()
    assert config.category("books").extensions == ("epub", "pdf")
    summary = media_library.scan(categories=["books"])
    assert summary["categories"]["books"]["added"] == 1
    book = media_library.items(category="books")[0]
    assert (book.media_type, book.title, book.metadata["pages"]) == ("ebook", "War And Peace", 3)


class StickerPoster:
    @hookimpl
    def mediacore_resolve_poster(self, item):
        return PosterImage("sticker", data=b"\x89PNG fake", content_type="image/png")


def test_first_poster_answer_wins_over_the_builtin(media_library, register_plugin, tmp_path):
    path = media_library.add_video("Film.mp4")
    category = media_library.config().category("movies")
    item = {"path": str(path), "media_type": "video", "title": "Film"}
    assert resolve_poster(item, category, str(tmp_path)).source == "frame"
    register_plugin(StickerPoster(), name="sticker")
    assert resolve_poster(item, category, str(tmp_path)).source == "sticker"


def test_poster_image_needs_exactly_one_source():
    with pytest.raises(ValueError):
        PosterImage("x")
    with pytest.raises(ValueError):
        PosterImage("x", path="a", data=b"b")
