"""1. Incremental rescan of an unchanged library vs a bare scandir+stat walk of the same tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common import Figure, best_of, environment, timed, write_config
from library import build

#: (watched folder, file descriptor of the opens log): the scan's walkers are forked processes,
#: which inherit the audit hook and this, so their opens land in the same log.
_watched: list[tuple[str, int]] = []


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _watched and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if path.startswith(_watched[0][0]):
            os.write(_watched[0][1], os.fsencode(path) + b"\n")


def bare_walk(root: str) -> int:
    count = 0
    pending = [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    entry.stat()
                    count += 1
    return count


def prime(config_path: Path) -> None:
    """Rows as a scan leaves them, written without reading metadata (that is the cold-scan bench)."""
    from mediacore.bootstrap import open_library
    from mediacore.extract import row_fields
    from mediacore.models import METADATA_COLUMNS, MediaItem, database, utcnow
    from mediacore.scanner import EnhancedMediaScanner

    config, _ = open_library(config_path)
    now = utcnow()
    with database.connection_context():
        for category in config.categories.values():
            rows = []
            for entry in EnhancedMediaScanner(category.root_path, category.extensions).walk():
                row = dict.fromkeys(METADATA_COLUMNS) | row_fields(entry, category, None)
                rows.append({**row, "created_at": now, "updated_at": now})
            with database.atomic():
                for start in range(0, len(rows), 500):
                    MediaItem.insert_many(rows[start : start + 500]).on_conflict_ignore().execute()


def run(work: Path, files: int) -> list[Figure]:
    tree, config = build(work, files, video_share=0.7)
    env = environment(work, config)
    os.environ.update(
        {key: env[key] for key in ("MEDIACORE_CONFIG", "MEDIACORE_DATA_DIR", "MEDIACORE_LOG_DIR")}
    )
    prime(config)

    walk = best_of(3, lambda: bare_walk(str(tree)))
    command = [sys.executable, "-m", "mediacore", "scan", "--json"]
    cli = best_of(3, lambda: subprocess.run(command, env=env, check=True, capture_output=True))
    empty = start_up_env(work / "empty")
    start_up = best_of(3, lambda: subprocess.run(command, env=empty, check=True, capture_output=True))

    from mediacore.config import load_media_config
    from mediacore.maintenance import ScanOptions, run_maintenance_scan

    loaded = load_media_config(config)
    log = work / "opened.log"
    sys.addaudithook(_audit)
    _watched.append((str(tree), os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC)))
    in_process, summary = timed(lambda: run_maintenance_scan(loaded, ScanOptions()))
    os.close(_watched.pop()[1])
    opened = log.read_text().splitlines()
    unchanged = summary.totals["unchanged"]
    assert unchanged == files, f"expected {files} unchanged, got {summary.totals}"
    return [
        Figure(
            f"rescan {files} unchanged files (mediacore scan)",
            cli,
            "s",
            walk,
            "bare scandir+stat walk",
            "<= 2x the bare walk",
            cli <= 2 * walk,
            {"in_process_s": in_process, "files": files},
        ),
        Figure(
            "files opened during the rescan (every process)",
            len(opened),
            "opens",
            target="0",
            holds=not opened,
            details={"first": opened[:5]},
        ),
        Figure(
            f"rescan {files} unchanged files (in process)",
            in_process,
            "s",
            walk,
            "bare scandir+stat walk",
            "(context: without interpreter start-up)",
        ),
        Figure(
            "start-up: mediacore scan of an empty folder",
            start_up,
            "s",
            walk,
            "bare scandir+stat walk",
            "(context: the command's fixed cost)",
        ),
    ]


def start_up_env(work: Path) -> dict[str, str]:
    """A library of one empty folder: scanning it is the command's fixed cost (the interpreter,
    the imports, the config, the plugins, the database), which every rescan pays once."""
    (work / "media").mkdir(parents=True)
    return environment(
        work, write_config(work, {"video": {"root_path": str(work / "media"), "media_type": "video"}})
    )
