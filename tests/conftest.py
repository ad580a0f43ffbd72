"""Fixtures come from ``mediacore.testing`` (the pytest11 plugin plugin authors use too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(
    *arguments: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the installed ``mediacore`` command in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mediacore", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def cli():
    return run_cli
