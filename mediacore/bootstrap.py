"""Start-up shared by the CLI and the web app: load the config, open the database."""

from __future__ import annotations

import os

from peewee import Database

from .config import MediaConfig, load_media_config
from .db import open_database


def open_library(
    config_path: str | os.PathLike[str] | None = None, database_url: str | None = None
) -> tuple[MediaConfig, Database]:
    """Validate the config (applying its ``disabled_plugins``), then open and migrate the database."""
    config = load_media_config(config_path)
    return config, open_database(database_url)
