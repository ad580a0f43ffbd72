"""3. GET /api/v1/media on a large library under 8 concurrent clients (a second process) against
the production server, on SQLite and on PostgreSQL when one is reachable."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from common import Figure, api_server, environment, median, percentile, write_config

from mediacore.testing import ensure_postgres_database

CONCURRENCY = 8
POSTGRES_URL = os.environ.get(
    "MEDIACORE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/mediacore_bench"
)


def fill(database_url: str, rows: int, config_path: Path) -> None:
    from mediacore.bootstrap import open_library
    from mediacore.db import is_sqlite
    from mediacore.models import MediaItem, SystemSetting, database, utcnow

    open_library(config_path, database_url)
    with database.connection_context():
        database.obj.drop_tables([MediaItem, SystemSetting])
    open_library(config_path, database_url)
    generator = random.Random(7)
    now = utcnow()
    categories = [("movies", "video"), ("tv_series", "video"), ("music", "audio")]
    with database.connection_context(), database.atomic():
        batch = []
        for index in range(rows):
            category, media_type = categories[index % 3]
            batch.append(
                {
                    "category": category,
                    "path": f"/library/{category}/{index}/Title {index}.mkv",
                    "relative_path": f"{index}/Title {index}.mkv",
                    "filename": f"Title {index}.mkv",
                    "extension": "mkv",
                    "media_type": media_type,
                    "title": f"Title {generator.randint(0, 10**6)}",
                    "size_bytes": generator.randint(10**6, 10**10),
                    "mtime": 1.0,
                    "duration_seconds": generator.uniform(60, 9000),
                    "year": generator.randint(1950, 2025),
                    "series": f"Show {index % 500}" if category == "tv_series" else None,
                    "status": "missing" if index % 20 == 0 else "available",
                    "source": "scan",
                    "created_at": now,
                    "updated_at": now,
                    "metadata": {"bench": True},
                }
            )
            if len(batch) == 1000:
                MediaItem.insert_many(batch).execute()
                batch = []
        if batch:
            MediaItem.insert_many(batch).execute()
    if not is_sqlite(database.obj):
        with database.connection_context():
            database.execute_sql("VACUUM ANALYZE media_items")  # what autovacuum does to a settled library


def postgres_url() -> str | None:
    """A database of its own on the PostgreSQL server, when one answers."""
    try:
        return ensure_postgres_database(POSTGRES_URL, "mediacore_bench")
    except Exception:  # no driver, no server: the figures are SQLite's only
        return None


def run(work: Path, rows: int) -> list[Figure]:
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(
        work,
        {
            key: {"root_path": f"/library/{key}", "media_type": kind}
            for key, kind in (("movies", "video"), ("tv_series", "video"), ("music", "audio"))
        },
    )
    deep = max(1, rows // 50 * 3 // 4)
    paths = {
        "first page": "/api/v1/media?per_page=50",
        "deep page": f"/api/v1/media?per_page=50&page={deep}",
        "filtered+sorted": "/api/v1/media?category=movies&sort=-year&per_page=50",
        "search q": "/api/v1/media?q=title%2012&per_page=50",
    }
    backends = [("sqlite", f"sqlite:///{work / 'listing.db'}")]
    postgres = postgres_url()
    if postgres:
        backends.append(("postgresql", postgres))
    figures = []
    for backend, url in backends:
        os.environ["MEDIACORE_DATA_DIR"] = str(work / "data")
        fill(url, rows, config)
        with api_server(environment(work, config, url), work / f"api-{backend}.log") as (base, _):
            output = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).parent / "load.py"),
                    base,
                    str(CONCURRENCY),
                    "25",
                    *paths.values(),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        measured = json.loads(output)
        for label, path in paths.items():
            latencies = measured[path]["latencies"]
            assert not measured[path]["errors"], measured[path]["errors"]
            p99 = percentile(latencies, 0.99)
            figures.append(
                Figure(
                    f"{backend} {label} p99 ({rows} rows, {CONCURRENCY} clients)",
                    p99,
                    "ms",
                    median(latencies),
                    "its own median",
                    "p99 < 50 ms" if backend == "sqlite" else "(reported)",
                    p99 < 50 if backend == "sqlite" else None,
                    {
                        "median_ms": median(latencies),
                        "requests_per_second": len(latencies) / measured[path]["seconds"],
                    },
                )
            )
    return figures
