"""SQLite: a fresh in-memory database per test, written to a file only for a .sh test's
client; with a template, a copy of the template's file.

Rendering, as the sqlite3 shell prints in list mode: integers as is, reals with 15 significant
digits and always a decimal point (``1.0``, ``1.0e+20``), text as is, blobs as their bytes
decoded as UTF-8 (undecodable bytes as ``\\xNN``)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from toolkit import urls
from toolkit.refs.engines import BACKSLASH_ESCAPES, StatementFailed, client_wrapper, tsv
from toolkit.refs.random_settings import Draw, statement


def render(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        text = f"{value:.15g}"
        if text in ("inf", "-inf", "nan"):
            return {"inf": "Inf", "-inf": "-Inf", "nan": "NaN"}[text]
        mantissa, e, exponent = text.partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        return mantissa + (f"e{exponent}" if e else "")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


class SQLiteBackend:
    engine = "sqlite"
    backslash_escapes = BACKSLASH_ESCAPES["sqlite"]

    def __init__(self, directory: Path, template_url: str | None) -> None:
        self.directory = directory
        self.template = urls.parse(template_url).database if template_url else None
        self.conn: sqlite3.Connection | None = None
        self.path = directory / "none.sqlite"

    def normalize(self, code: str) -> str:
        return code.upper()

    def create(self, name: str) -> str:
        self.path = self.directory / f"{name}.sqlite"
        if self.template:
            shutil.copyfile(self.template, self.path)
            self.conn = sqlite3.connect(self.path, isolation_level=None)
        else:  # in memory until a .sh test's client needs a file (see client_env)
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
        return name

    def apply(self, settings: tuple[tuple[str, str], ...]) -> None:
        assert self.conn is not None
        for name, value in settings:
            self.conn.execute(statement("sqlite", name, value))

    def execute(self, sql: str) -> str:
        assert self.conn is not None
        try:
            cur = self.conn.execute(sql)
            rows = cur.fetchall() if cur.description else []
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "SQLITE_ERROR")
            codes = {name, "_".join(name.split("_")[:2]), str(getattr(exc, "sqlite_errorcode", ""))}
            raise StatementFailed(codes - {""}, f"{name}: {exc}") from exc
        return tsv([tuple(render(v) for v in row) for row in rows])

    def drop(self, name: str) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        path = self.directory / f"{name}.sqlite"
        if path.exists():  # only .sh tests and template clones are on disk
            for suffix in ("", "-wal", "-shm", "-journal"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

    def keep(self, name: str) -> str:
        return f"database {name}"

    def escaped(self, name: str) -> str:
        return ""  # a database of its own per test: nothing shared to escape into

    def client_env(self, name: str, tmp: Path, settings: Draw = ()) -> dict[str, str]:
        assert self.conn is not None
        if not self.path.exists():
            on_disk = sqlite3.connect(self.path, isolation_level=None)
            self.conn.backup(on_disk)
            self.conn.close()
            self.conn = on_disk
        pragmas = [arg for name, value in settings
                   for arg in ("-cmd", statement("sqlite", name, value))]
        return {"TOOLKIT_DATABASE_URL": f"sqlite:///{self.path}",
                # a second client waits for a writer's lock, as a server's clients would
                "TOOLKIT_CLIENT": client_wrapper(tmp, ["sqlite3", "-batch", "-cmd",
                                                       ".timeout 10000", *pragmas,
                                                       str(self.path)])}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
