"""ClickHouse through chDB (in-process). chDB allows one session per process, so each worker
process owns one and reopens it per test (settings a test SETs must not leak); the test's
database is created inside it with CREATE DATABASE and USE. Output is chDB's own
TabSeparated, byte for byte what clickhouse-client prints. ``.sh`` tests get a client over a
per-test data directory, so state persists across its calls."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from toolkit.refs.engines import BACKSLASH_ESCAPES, StatementFailed, client_wrapper
from toolkit.refs.random_settings import Draw

_CODE = re.compile(r"Code: (\d+)[.,]")  # newer servers: "60.", older: "60,"
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*(?:\(version [^)]*\))?\s*$")


def failure(message: str) -> StatementFailed:
    codes = set(_CODE.findall(message)[:1]) | set(_NAME.findall(message.strip())[:1])
    first = message.strip().splitlines()[0] if message.strip() else "error"
    return StatementFailed(codes or {"UNKNOWN"}, first)


def literal(value: str) -> str:
    """A ClickHouse string literal (a setting takes one for any type)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ClickHouseBackend:
    engine = "clickhouse"
    backslash_escapes = BACKSLASH_ESCAPES["clickhouse"]

    def __init__(self, url: str, overrides: tuple[tuple[str, str], ...] = ()) -> None:
        from chdb import session  # imported here: only ClickHouse workers load the engine

        self._session_type = session.Session
        self.overrides = overrides
        self.path = url.removeprefix("chdb:").removeprefix("//") or None
        self.session: Any = None

    def normalize(self, code: str) -> str:
        return code.upper()

    def open(self) -> None:
        """A new session: nothing a previous test SET survives."""
        self.close()
        self.session = self._session_type(self.path) if self.path else self._session_type()
        for key, value in self.overrides:  # names are checked words; the value a literal
            self.execute(f"SET {key} = {literal(value)}")

    def create(self, name: str) -> str:
        self.open()
        self.execute(f"CREATE DATABASE `{name}`")
        self.execute(f"USE `{name}`")
        return name

    def apply(self, settings: tuple[tuple[str, str], ...]) -> None:
        for key, value in settings:  # the test's own session: they end with it
            self.execute(f"SET {key} = {literal(value)}")

    def execute(self, sql: str) -> str:
        assert self.session is not None
        from chdb._exceptions import ChdbError  # chdb.ChdbError is a different class

        try:
            result = self.session.query(sql, "TabSeparated")
        except ChdbError as exc:
            raise failure(str(exc)) from exc
        if result.has_error():
            raise failure(result.error_message())
        return result.bytes().decode("utf-8", "backslashreplace")

    def drop(self, name: str) -> None:
        if self.session is not None:
            self.execute(f"DROP DATABASE IF EXISTS `{name}` SYNC")

    def keep(self, name: str) -> str:
        return f"database {name}"

    def escaped(self, name: str) -> str:
        return ""  # a database of its own per test: nothing shared to escape into

    def client_env(self, name: str, tmp: Path, settings: Draw = ()) -> dict[str, str]:
        data = tmp / "chdb"
        client = [sys.executable, "-m", "toolkit.refs.chclient", "--path", str(data),
                  "--database", name,
                  *(f"--{key}={value}" for key, value in (*self.overrides, *settings))]
        return {"TOOLKIT_DATABASE_URL": f"chdb://{data}",
                "TOOLKIT_CLIENT": client_wrapper(tmp, client)}

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
