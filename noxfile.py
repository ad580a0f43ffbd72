"""Sessions: ``nox -s tests`` (SQLite, then PostgreSQL), ``lint``, ``types``, ``docs``, ``bench``."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "types"]
nox.options.reuse_existing_virtualenvs = True

POSTGRES_URL = os.environ.get("MEDIACORE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PLUGIN_PACKAGES = ["./plugins/mediacore-nfo", "./plugins/mediacore-ebook"]


def install(session: nox.Session) -> None:
    session.install("-e", ".[test]", *PLUGIN_PACKAGES)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite on SQLite, then on PostgreSQL (a server on 127.0.0.1:5432 is required)."""
    install(session)
    arguments = session.posargs or [
        "-n",
        "auto",
        "tests",
        *(f"{package}/tests" for package in PLUGIN_PACKAGES),
    ]
    session.run("pytest", *arguments, env={"MEDIACORE_TEST_DATABASE_URL": "sqlite"})
    session.run("pytest", *arguments, env={"MEDIACORE_TEST_DATABASE_URL": POSTGRES_URL})


@nox.session
def docs(session: nox.Session) -> None:
    """Regenerate the hook reference in docs/plugins.md from mediacore/hookspecs.py."""
    session.install("-e", ".")
    session.run("python", "-m", "mediacore.hookdocs", "docs/plugins.md")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks with ratios against same-run baselines (`nox -s bench -- --quick` for a smoke run).

    Streaming is compared with nginx (`apt-get install nginx-light`); listing and streaming ranges
    are driven by wrk when installed; listing also runs on PostgreSQL when 127.0.0.1:5432 answers.
    """
    # Installed as users install it (not editable: compiled, no import hook), since the rescan
    # figure includes the command's start-up.
    session.install(".[test]", *PLUGIN_PACKAGES)
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", "mediacore", "plugins", "tests", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "mediacore", "plugins", "tests", "bench", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    install(session)
    session.install("mypy>=1.10", "types-PyYAML", "types-requests")
    session.run("mypy")
