"""Where mediacore keeps its own files, from the environment.

Nothing is ever written into the installed package: the data folder (SQLite file, generated API
token, poster cache) defaults to ``data/`` in the current directory.
"""

from __future__ import annotations

import os
import secrets
import sys
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


def read_secret(name: str) -> str | None:
    """A secret kept in the data folder, or None when it has not been created yet."""
    try:
        return (data_dir() / name).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def ensure_secret(name: str, purpose: str) -> str:
    """Read a secret from the data folder, creating it (mode 600) on first use and saying where."""
    existing = read_secret(name)
    if existing:
        return existing
    path = data_dir() / name
    value = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    print(f"mediacore: generated {purpose} in {path} (mode 600)", file=sys.stderr)
    return value
