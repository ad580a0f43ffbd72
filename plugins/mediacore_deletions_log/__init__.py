"""Built-in plugin: append each newly missing item to ``media_deletions.log`` as one JSON line.

The folder is ``MEDIACORE_LOG_DIR`` (default ``logs/``). Lines are written with a single
``O_APPEND`` write so that several processes can log at once without interleaving.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

from mediacore import MediaCategory, hookimpl
from mediacore.settings import log_dir

LOG_NAME = "media_deletions.log"


@hookimpl(trylast=True)
def mediacore_handle_missing(item: dict[str, Any], category: MediaCategory, dry_run: bool) -> bool:
    if dry_run:
        return False
    record = {
        "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "event": "missing",
        "media_id": item["id"],
        "category": category.key,
        "path": item["path"],
        "title": item.get("title"),
        "size_bytes": item.get("size_bytes"),
    }
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    descriptor = os.open(log_dir() / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return True
