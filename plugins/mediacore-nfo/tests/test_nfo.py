"""The NFO plugin, tested the way any plugin author would: installed, found through its entry
point, exercised with the ``mediacore.testing`` fixtures."""

from __future__ import annotations

import textwrap

from mediacore.plugins import list_plugins
from mediacore.testing import png_bytes

MOVIE_NFO = """\
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<movie>
  <title>The Real Title</title>
  <originaltitle>Le Vrai Titre</originaltitle>
  <plot>A plot with &amp; an ampersand.</plot>
  <year>1999</year>
  <genre>Drama</genre>
  <genre>Crime</genre>
  <ratings><rating name="imdb" default="true"><value>7.9</value><votes>10</votes></rating></ratings>
  <thumb aspect="poster">folder-art.png</thumb>
  <thumb aspect="poster">https://example.invalid/poster.jpg</thumb>
</movie>
"""

BILLION_LAUGHS = """\
<?xml version="1.0"?>
<!DOCTYPE movie [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<movie><title>&b;</title></movie>
"""


def write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_plugin_is_found_through_its_entry_point():
    rows = {row.name: row for row in list_plugins(include_builtin=False)}
    assert rows["nfo"].distribution == "mediacore-nfo" and rows["nfo"].version == "0.1.0"
    assert rows["nfo"].hooks == ["mediacore_extract_metadata", "mediacore_resolve_poster"]


def test_movie_nfo_supplies_metadata_and_poster(media_library, mediacore_client):
    video = media_library.add_video("Some.Folder/movie-file.2003.mkv")
    write(video.parent / "movie.nfo", MOVIE_NFO)
    (video.parent / "folder-art.png").write_bytes(png_bytes((11, 17)))
    summary = media_library.scan(categories=["movies"])
    assert summary["categories"]["movies"]["errors"] == []
    item = media_library.items()[0]
    assert (item.title, item.year, item.description) == (
        "The Real Title",
        1999,
        "A plot with & an ampersand.",
    )
    assert item.width == 320  # the built-in video plugin still contributes
    assert item.metadata["genres"] == ["Drama", "Crime"] and item.metadata["rating"] == 7.9
    assert item.metadata["poster_url"] == "https://example.invalid/poster.jpg"
    detail = mediacore_client.get(f"/api/v1/media/{item.id}").get_json()
    assert detail["title"] == "The Real Title" and detail["metadata"]["original_title"] == "Le Vrai Titre"
    poster = mediacore_client.get(f"/api/v1/media/{item.id}/poster")
    assert poster.status_code == 200 and poster.headers["X-Poster-Source"] == "nfo"
    assert poster.data == (video.parent / "folder-art.png").read_bytes()


def test_named_nfo_wins_over_movie_nfo_and_tvshow_supplies_series(media_library):
    video = media_library.add_video("Film (2010).mp4")
    write(video.with_suffix(".nfo"), "<movie><title>Named</title><premiered>2011-02-03</premiered></movie>")
    write(video.parent / "movie.nfo", MOVIE_NFO)
    episode = media_library.add_video("Show/Season 01/Show - S01E02.mkv", category="tv_series")
    write(
        episode.parents[1] / "tvshow.nfo",
        "<tvshow><title>The Show</title><plot>Series plot</plot><genre>Comedy</genre></tvshow>",
    )
    write(
        episode.with_suffix(".nfo"),
        "<episodedetails><title>Pilot Part 2</title><season>1</season>"
        "<episode>2</episode><plot>Ep plot</plot></episodedetails>",
    )
    media_library.scan()
    movie = media_library.items(category="movies")[0]
    assert (movie.title, movie.year) == ("Named", 2011)
    show = media_library.items(category="tv_series")[0]
    assert (show.series, show.season, show.episode, show.title, show.description) == (
        "The Show",
        1,
        2,
        "Pilot Part 2",
        "Ep plot",
    )
    assert show.metadata["genres"] == ["Comedy"] and show.metadata["series_plot"] == "Series plot"


def test_malformed_and_hostile_nfo_are_file_errors_not_crashes(media_library):
    broken = media_library.add_video("Broken (2001).mp4")
    write(broken.with_suffix(".nfo"), "<movie><title>unclosed</movie>")
    hostile = media_library.add_video("Hostile (2002).mp4")
    write(hostile.with_suffix(".nfo"), BILLION_LAUGHS)
    wrong = media_library.add_video("Wrong (2003).mp4")
    write(wrong.with_suffix(".nfo"), "<album><title>x</title></album>")
    summary = media_library.scan(categories=["movies"])
    errors = {e["path"].rsplit("/", 1)[1]: e["error"] for e in summary["categories"]["movies"]["errors"]}
    assert "nfo: NfoError: malformed NFO Broken (2001).nfo" in errors["Broken (2001).mp4"]
    assert "EntitiesForbidden" in errors["Hostile (2002).mp4"]
    assert "root element <album>" in errors["Wrong (2003).mp4"]
    titles = {item.filename: (item.title, item.year) for item in media_library.items()}
    assert titles == {
        "Broken (2001).mp4": ("Broken", 2001),
        "Hostile (2002).mp4": ("Hostile", 2002),
        "Wrong (2003).mp4": ("Wrong", 2003),
    }


def test_an_edited_nfo_is_read_again_by_a_refresh_scan(media_library):
    """A scan watches the video's size and mtime, not its sidecars' (as Kodi's library update
    does): an edited .nfo is picked up by a refresh, which reads every file again."""
    video = media_library.add_video("Heat (1995)/Heat (1995).mkv")
    nfo = video.parent / "movie.nfo"
    write(nfo, MOVIE_NFO)
    media_library.scan(categories=["movies"])
    write(nfo, MOVIE_NFO.replace("The Real Title", "The Director's Cut"))
    plain = media_library.scan(categories=["movies"])["categories"]["movies"]
    assert (plain["updated"], plain["unchanged"]) == (0, 1)
    assert media_library.items()[0].title == "The Real Title"
    refreshed = media_library.scan(categories=["movies"], refresh=True)["categories"]["movies"]
    assert (refreshed["updated"], refreshed["unchanged"], refreshed["errors"]) == (1, 0, [])
    assert media_library.items()[0].title == "The Director's Cut"
