"""Where mediacore keeps its own files, from the environment.

Nothing is ever written into the installed package: the data folder (SQLite file, generated API
token, poster cache) defaults to ``data/`` in the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``MEDIACORE_DATA_DIR``, default ``./data``; created on first use."""
    path = Path(os.environ.get("MEDIACORE_DATA_DIR") or "data").absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """``MEDIACORE_LOG_DIR``, default ``./logs``: where ``media_deletions.log`` goes."""
    path = Path(os.environ.get("MEDIACORE_LOG_DIR") or "logs").absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(name: str) -> Path:
    path = data_dir() / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(explicit: str | None = None) -> str:
    """``--database-url``, else ``MEDIACORE_DATABASE_URL``, else a SQLite file in the data folder."""
    return explicit or os.environ.get("MEDIACORE_DATABASE_URL") or f"sqlite:///{data_dir() / 'mediacore.db'}"
