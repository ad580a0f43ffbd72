from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mediacore import load_media_config
from mediacore.errors import ConfigError, UnknownCategory

SAMPLE = Path(__file__).parent.parent / "config" / "watch_media_dirs.yml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watch.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_sample_config_loads_with_roots_relative_to_its_folder():
    config = load_media_config(SAMPLE)
    assert config.version == 2
    assert config.default_category == "movies"
    assert set(config.categories) >= {"movies", "tv_series", "music"}
    movies = config.category("movies")
    assert movies.root_path == SAMPLE.parent.parent.resolve() / "media" / "Movies"
    assert movies.media_type == "video"
    assert movies.accepts("Old.MOV") and not movies.accepts("notes.txt")


def test_home_and_environment_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIA_BASE", str(tmp_path / "nas"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(
        tmp_path,
        """
        version: 2
        categories:
          movies: {root_path: "${MEDIA_BASE}/Movies", media_type: video}
          music: {root_path: ~/Music, media_type: audio, extensions: [MP3]}
    """,
    )
    config = load_media_config(path)
    assert config.category("movies").root_path == tmp_path / "nas" / "Movies"
    assert config.category("music").root_path == tmp_path / "home" / "Music"
    assert config.category("music").extensions == ("mp3",)
    assert "mkv" in config.category("movies").extensions  # the media type's defaults
    assert config.default_category == "movies"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "version: 1\ncategories: {m: {root_path: a, media_type: video}}",
            "version: unsupported config version 1",
        ),
        ("categories: {m: {root_path: a, media_type: video}}", "version: missing key"),
        ("version: 2\ncategories: {m: {media_type: video}}", "categories.m.root_path: missing key"),
        (
            "version: 2\ncategories: {m: {root_path: a, media_type: hologram}}",
            "categories.m.media_type: unknown media type 'hologram'",
        ),
        (
            "version: 2\ncategories: {m: {root_path: a, media_type: video, extensions: mp4}}",
            "categories.m.extensions",
        ),
        (
            "version: 2\ncategories: {m: {root_path: a, media_type: video, naming: anime}}",
            "categories.m.naming",
        ),
        (
            "version: 2\ncategories: {m: {root_path: a, media_type: video, colour: red}}",
            "categories.m.colour: unknown key",
        ),
        (
            "version: 2\ncategories:\n  a: {root_path: x, media_type: video}\n"
            "  b: {root_path: x, media_type: audio}",
            "categories.b.root_path: duplicate root",
        ),
        (
            "version: 2\ncategories:\n  a: {root_path: x, media_type: video}\n"
            "  b: {root_path: x/y, media_type: video}",
            "categories.b.root_path: lies inside the root of 'a'",
        ),
        (
            "version: 2\ndefault_category: nope\ncategories: {m: {root_path: a, media_type: video}}",
            "default_category: 'nope' is not a category",
        ),
        ("version: 2\ncategories: {}", "categories: missing key or empty"),
        ("version: 2\ncategories: [unclosed", "YAML syntax error at line 2"),
        (
            "version: 2\ncategories: {m: {root_path: '${NOT_SET_ANYWHERE_X}/a', media_type: video}}",
            "environment variable",
        ),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_media_config(path)
    message = str(error.value)
    assert message.startswith(str(path)), message
    assert expected in message


def test_nested_roots_with_distinct_extensions_are_fine(tmp_path):
    path = write(
        tmp_path,
        """
        version: 2
        categories:
          videos: {root_path: media, media_type: video, extensions: [mp4]}
          pictures: {root_path: media/pics, media_type: image, extensions: [jpg]}
    """,
    )
    assert set(load_media_config(path).categories) == {"videos", "pictures"}


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_media_config(tmp_path / "absent.yml")


def test_unknown_category_lists_the_known_ones():
    config = load_media_config(SAMPLE)
    with pytest.raises(UnknownCategory) as error:
        config.select(["movies", "films"])
    assert "'films'" in str(error.value) and "movies" in str(error.value) and "music" in str(error.value)


def test_cli_reports_bad_config_in_one_line(tmp_path, cli):
    path = write(tmp_path, "version: 2\ncategories: {m: {root_path: a, media_type: hologram}}")
    result = cli("--config", str(path), "scan", env={"MEDIACORE_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "categories.m.media_type" in result.stderr and str(path) in result.stderr
