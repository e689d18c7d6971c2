"""One module per engine behind the ``Backend`` protocol: create the per-test database,
run one statement and render its rows as TabSeparated, drop the database."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from toolkit import urls
from toolkit.refs.random_settings import Draw
from toolkit.settings import Settings

# whether an engine's string literals take backslash escapes, which decides where they end
BACKSLASH_ESCAPES = {"sqlite": False, "postgresql": False, "mysql": True, "clickhouse": True}

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0",
                          "\b": "\\b", "\f": "\\f"})


CLIENT = "toolkit-client"  # the .sh test's client, in its own temporary directory


def client_wrapper(tmp: Path, argv: Sequence[str], body: str | None = None) -> str:
    """TOOLKIT_CLIENT for a .sh test: an executable of the test's own in ``tmp`` that runs
    ``argv`` with the arguments it is given (``body``: shell code instead). The variable is
    one word, so ``$TOOLKIT_CLIENT`` unquoted (how ClickHouse's tests call their client),
    ``"$TOOLKIT_CLIENT"`` and ``eval "$TOOLKIT_CLIENT"`` all run it, whatever the arguments
    hold: spaces, quotes, a tab, a path with a space (word splitting would cut them)."""
    path = tmp / CLIENT
    script = body if body is not None else f'exec {shlex.join(argv)} "$@"'
    # mode 0700 from the start: a URL's password may be in it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with os.fdopen(fd, "w") as out:
        out.write(f"#!/bin/sh\n{script}\n")
    return shlex.quote(str(path))


class StatementFailed(Exception):
    """A statement's error, with every name the engine knows it by (upper case)."""

    def __init__(self, codes: set[str], message: str) -> None:
        self.codes = codes
        self.message = message
        super().__init__(message)

    @property
    def code(self) -> str:
        return sorted(self.codes, key=lambda c: (c.isdigit(), len(c)))[0]


def tsv(rows: list[tuple[str | None, ...]]) -> str:
    """Rows as ClickHouse TabSeparated: \\t \\n \\\\ escaped, NULL as \\N, no header."""
    return "".join("\t".join("\\N" if v is None else v.translate(_ESCAPES) for v in row) + "\n"
                   for row in rows)


class Backend(Protocol):
    engine: str
    backslash_escapes: bool  # whether string literals take backslash escapes (for splitting)

    def normalize(self, code: str) -> str:
        """An expected error code as the engine's canonical name (upper case)."""

    def create(self, name: str) -> str:
        """A fresh database for a test (cloned from the template when there is one), made
        current; its name on the server: ``name``, unless a pool supplied another."""

    def execute(self, sql: str) -> str:
        """Run one statement; its rows as TabSeparated, or '' when it returns none."""

    def apply(self, settings: tuple[tuple[str, str], ...]) -> None:
        """Settings for the rest of this test only (random settings, after create)."""

    def drop(self, name: str) -> None: ...

    def client_env(self, name: str, tmp: Path, settings: Draw = ()) -> dict[str, str]:
        """TOOLKIT_DATABASE_URL and TOOLKIT_CLIENT (and what the client needs) for .sh tests;
        the client starts each session with ``settings`` (the test's random settings)."""

    def escaped(self, name: str) -> str:
        """What the test made outside its own slot, where it shares a database ('' if none)."""

    def keep(self, name: str) -> str:
        """Keep a failed test's database for inspection; where it is, in words."""

    def close(self) -> None: ...


def engine_of(url: str) -> str:
    if url.startswith(("chdb:", "clickhouse:")):
        return "clickhouse"
    return urls.kind(urls.parse(url))


def make_backend(settings: Settings, url: str, template_url: str | None, workdir: Path,
                 overrides: tuple[tuple[str, str], ...] = (), client: list[str] | None = None,
                 pool: bool = False) -> Backend:
    """The backend for ``url``; files it needs (SQLite databases) go under ``workdir``;
    ``overrides`` are ClickHouse settings for every test, ``client`` the clickhouse-client of
    a server under test; ``pool``: PostgreSQL and MariaDB take each test's database from a
    pool of clones of ``template_url``."""
    engine = engine_of(url)
    if url.startswith("clickhouse:"):
        from toolkit.refs.engines.clickhouse_server import ClickHouseServerBackend
        return ClickHouseServerBackend(url, overrides, client)
    if engine == "clickhouse":
        from toolkit.refs.engines.clickhouse import ClickHouseBackend
        return ClickHouseBackend(url, overrides)
    if engine == "sqlite":
        from toolkit.refs.engines.sqlite import SQLiteBackend
        return SQLiteBackend(workdir, template_url)
    if engine == "postgresql":
        from toolkit.refs.engines.postgresql import PooledPostgreSQLBackend, PostgreSQLBackend
        if pool and template_url:
            return PooledPostgreSQLBackend(url, template_url, settings)
        return PostgreSQLBackend(url, template_url, settings)
    from toolkit.refs.engines.mysql import MySQLBackend, PooledMySQLBackend
    if pool and template_url:
        return PooledMySQLBackend(url, template_url, settings)
    return MySQLBackend(url, template_url, settings)
