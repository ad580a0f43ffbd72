"""Test helpers for mediacore and its plugins, registered as a pytest plugin (``pytest11``).

Fixtures (all real: real files, a real database, a real Flask app):

``media_factory``
    Writes real media files (video, audio, image) encoded with PyAV and Pillow and tagged
    with mutagen; each kind is encoded once per session and copied.
``media_library``
    A temporary library: media folders, a config file, a fresh database (SQLite in the test's
    temporary folder, or the PostgreSQL URL in ``MEDIACORE_TEST_DATABASE_URL``), and helpers
    ``add_video``, ``add_audio``, ``add_image``, ``write_config`` and ``scan``.
``mediacore_app`` / ``mediacore_client``
    The Flask app for that library (auth token ``test-token``) and its test client.
``register_plugin``
    ``register_plugin(obj, name=None)`` registers a plugin object for the current test only.

Install with ``pip install 'mediacore[test]'``; the fixtures are there in every pytest run.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

TEST_TOKEN = "test-token"
_generate_lock = threading.Lock()


def ffmpeg_binary() -> str:
    """The ffmpeg program shipped in the ``imageio-ffmpeg`` wheel: a real client for stream tests."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _samples() -> Any:
    """The encoders, imported on first use: this module loads in every pytest run (pytest11)."""
    from . import samples

    return samples


class MediaFactory:
    """Writes small real media files; each distinct kind is encoded once, then copied."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.cache.mkdir(parents=True, exist_ok=True)

    def video(
        self,
        target: str | os.PathLike[str],
        *,
        seconds: float = 2.0,
        size: tuple[int, int] = (320, 240),
        audio: bool = True,
    ) -> Path:
        """A video (container from the suffix) with a moving picture and, by default, a tone."""
        target = Path(target)
        key = f"video-{seconds}-{size[0]}x{size[1]}-{int(audio)}{target.suffix.lower()}"
        return self._copy(
            key, target, lambda out: _samples().write_video(out, seconds=seconds, size=size, audio=audio)
        )

    def audio(
        self,
        target: str | os.PathLike[str],
        *,
        seconds: float = 1.0,
        tags: dict[str, str] | None = None,
        cover: bytes | None = None,
    ) -> Path:
        """An audio file (format from the suffix: mp3, flac, m4a, ogg, opus, wav) tagged by mutagen."""
        target = Path(target)
        path = self._copy(
            f"audio-{seconds}{target.suffix.lower()}",
            target,
            lambda out: _samples().write_audio(out, seconds=seconds),
        )
        if tags or cover:
            _samples().tag_audio(path, tags or {}, cover)
        return path

    def image(
        self, target: str | os.PathLike[str], *, size: tuple[int, int] = (64, 48), colour: str = "navy"
    ) -> Path:
        return _samples().write_image(target, size=size, colour=colour)

    def _copy(self, key: str, target: Path, encode: Callable[[Path], object]) -> Path:
        cached = self.cache / key
        with _generate_lock:
            if not cached.exists():
                partial = cached.with_name(f"partial-{os.getpid()}-{key}")
                encode(partial)
                os.replace(partial, cached)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)
        return target


def _muxer(extension: str) -> str:
    return {"mkv": "matroska", "m4a": "ipod", "m4v": "mp4", "mov": "mov", "opus": "ogg"}.get(
        extension, extension
    )


def png_bytes(size: tuple[int, int] = (30, 40), colour: str = "red") -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


DEFAULT_CATEGORIES: dict[str, dict[str, Any]] = {
    "movies": {
        "label": "Movies",
        "root_path": "media/Movies",
        "media_type": "video",
        "extensions": ["mp4", "mkv", "mov", "avi", "m4v", "webm"],
    },
    "tv_series": {
        "label": "TV Series",
        "root_path": "media/TV",
        "media_type": "video",
        "extensions": ["mp4", "mkv", "avi"],
        "naming": "tv",
    },
    "music": {
        "label": "Music",
        "root_path": "media/Music",
        "media_type": "audio",
        "extensions": ["mp3", "flac", "m4a", "ogg", "opus", "wav"],
    },
    "images": {
        "label": "Images",
        "root_path": "media/Images",
        "media_type": "image",
        "extensions": ["jpg", "jpeg", "png", "webp"],
    },
}


@dataclass
class MediaLibrary:
    """A library in a temporary folder, bound to a fresh database."""

    base: Path
    factory: MediaFactory
    database_url: str
    categories: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    default_category: str = "movies"

    @property
    def config_path(self) -> Path:
        return self.base / "config" / "watch_media_dirs.yml"

    def root(self, category: str) -> Path:
        return self.base / "config" / self.categories[category]["root_path"]

    def write_config(self, **changes: Any) -> Path:
        """(Re)write the config; keyword arguments replace top-level keys (e.g. ``categories=``)."""
        document = {"version": 2, "default_category": self.default_category, "categories": self.categories}
        document.update(changes)
        if "categories" in changes:
            self.categories = changes["categories"]
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        for key in self.categories:
            self.root(key).mkdir(parents=True, exist_ok=True)
        return self.config_path

    def config(self) -> Any:
        from .config import load_media_config

        return load_media_config(self.config_path)

    def add_video(self, relative: str, category: str = "movies", **options: Any) -> Path:
        return self.factory.video(self.root(category) / relative, **options)

    def add_audio(self, relative: str, category: str = "music", **options: Any) -> Path:
        return self.factory.audio(self.root(category) / relative, **options)

    def add_image(self, relative: str, category: str = "images", **options: Any) -> Path:
        return self.factory.image(self.root(category) / relative, **options)

    def scan(self, **options: Any) -> dict[str, Any]:
        """Run a maintenance scan with ``ScanOptions(**options)``; returns the summary dict."""
        from .maintenance import ScanOptions, run_maintenance_scan

        return run_maintenance_scan(self.config(), ScanOptions(**options)).to_dict()

    def items(self, **filters: Any) -> list[Any]:
        from .models import MediaItem, database

        with database.connection_context():
            query = MediaItem.select().order_by(MediaItem.path)
            for name, value in filters.items():
                query = query.where(getattr(MediaItem, name) == value)
            return list(query)


#: How the test databases compare text: linguistically, as most servers do (en_US and the like),
#: not in byte order, so that code which needs byte order must say so (``COLLATE "C"``) to pass.
#: ICU's en-US where the server has it (PostgreSQL 15 or later, built with ICU).
LINGUISTIC_COLLATION = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"


def ensure_postgres_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` (connecting to ``url`` itself) unless it
    exists, with :data:`LINGUISTIC_COLLATION` where the server allows; returns its URL."""
    import psycopg2

    connection = psycopg2.connect(url, connect_timeout=5)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            try:
                cursor.execute(f'CREATE DATABASE "{name}" {LINGUISTIC_COLLATION}')
            except psycopg2.Error:  # an older server, or one without ICU: its default
                cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _worker_database(url: str, worker: str) -> str:
    """One PostgreSQL database per xdist worker, so workers never collide."""
    return ensure_postgres_database(url, f"{urlsplit(url).path.lstrip('/') or 'test'}_en_{worker}")


def _reset_database(url: str) -> None:
    from .db import open_database
    from .models import MediaCount, MediaItem, SystemSetting, database

    open_database(url, migrate=False)  # whatever state the last test left, even a future schema
    with database.connection_context():
        database.obj.drop_tables([MediaItem, MediaCount, SystemSetting], safe=True)
    open_database(url)


@pytest.fixture(scope="session")
def media_factory(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    return MediaFactory(tmp_path_factory.mktemp("media-cache"))


@pytest.fixture(scope="session")
def _mediacore_database_url(request: pytest.FixtureRequest) -> str | None:
    url = os.environ.get("MEDIACORE_TEST_DATABASE_URL")
    if not url or url.startswith("sqlite"):
        return None
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return _worker_database(url, worker)


@pytest.fixture
def media_library(
    tmp_path: Path,
    media_factory: MediaFactory,
    _mediacore_database_url: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MediaLibrary]:
    monkeypatch.setenv("MEDIACORE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEDIACORE_LOG_DIR", str(tmp_path / "logs"))
    url = _mediacore_database_url or f"sqlite:///{tmp_path / 'data' / 'mediacore.db'}"
    monkeypatch.setenv("MEDIACORE_DATABASE_URL", url)
    (tmp_path / "data").mkdir(exist_ok=True)
    library = MediaLibrary(tmp_path, media_factory, url)
    monkeypatch.setenv("MEDIACORE_CONFIG", str(library.config_path))
    library.write_config()
    _reset_database(url)
    yield library
    from .db import release_connections
    from .models import database

    if not database.is_closed():
        database.close()
    release_connections(database.obj)


@pytest.fixture
def mediacore_app(media_library: MediaLibrary, monkeypatch: pytest.MonkeyPatch) -> Any:
    from .web import create_app

    monkeypatch.setenv("MEDIACORE_API_TOKEN", TEST_TOKEN)
    app = create_app({"TESTING": True, "MEDIACORE_CONFIG": str(media_library.config_path)})
    client_for(app)
    return app


@pytest.fixture
def mediacore_client(mediacore_app: Any) -> Any:
    return mediacore_app.test_client()


def client_for(app: Any) -> Any:
    """Flask's test client for ``app``, from now on reading every answer whole as it comes back:
    a streamed file is then closed, as a server closes it, without each test closing its
    responses."""
    app.test_client_class = _whole_answers_client()
    return app.test_client()


@functools.cache
def _whole_answers_client() -> type:
    from flask.testing import FlaskClient

    class WholeAnswersClient(FlaskClient):
        def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
            return super().open(*args, buffered=buffered, **kwargs)

    return WholeAnswersClient


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., str]]:
    from .plugins import get_plugin_manager

    manager = get_plugin_manager()
    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = manager.register(plugin, name=name)
        assert registered is not None, f"plugin {name or plugin!r} is blocked"
        names.append(registered)
        return registered

    yield register
    for name in names:
        manager.unregister(name=name)
