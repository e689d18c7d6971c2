"""MariaDB/MySQL: a database per test (``CREATE DATABASE`` is cheap here), or a clone of the
template (toolkit's DDL replay), marked as the worker's like any clone (a killed run's are
dropped by db.gc); a new connection per test so no session state leaks.

Rendering, as ``mariadb --batch`` prints (but NULL as ``\\N``): every value in the server's
text protocol form (decimals exact, floats as the server formats them, dates ISO), binary
strings decoded as UTF-8 (undecodable bytes as ``\\xNN``)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pymysql
from pymysql.constants import ER

from toolkit import urls
from toolkit.engines.mysql import MySQLEngine, connect_kwargs
from toolkit.marker import Marker
from toolkit.refs.engines import BACKSLASH_ESCAPES, StatementFailed, client_wrapper, tsv
from toolkit.refs.random_settings import Draw, assignments, statement
from toolkit.settings import Settings

_SYMBOLS = {v: k for k, v in vars(ER).items() if isinstance(v, int)}


class MySQLBackend:
    engine = "mysql"
    backslash_escapes = BACKSLASH_ESCAPES["mysql"]

    def __init__(self, url: str, template_url: str | None, settings: Settings) -> None:
        self.url = urls.parse(url)
        self.template = urls.parse(template_url).database if template_url else None
        self.prefix = settings.prefix
        self.conn: pymysql.connections.Connection | None = None
        self.cloner = MySQLEngine(self.url, settings)

    def normalize(self, code: str) -> str:
        if code.isdigit():
            return code
        number = getattr(ER, code.upper().removeprefix("ER_"), None)
        return str(number) if number is not None else code.upper()

    def create(self, name: str) -> str:
        """A database of the test's own, named and marked as toolkit's (the test's output
        shows ``name`` in its place)."""
        database = f"{self.prefix}cl_{secrets.token_hex(5)}"
        marker = Marker.new("clone", "refs", "refs")
        if self.template:
            self.cloner.create_clone(self.template, database, marker)
        else:
            self.cloner.create(database, marker)
        self.conn = self._connect(database)
        return database

    def _connect(self, name: str) -> pymysql.connections.Connection:
        """The test's connection: every value as the server's text (no converters)."""
        return pymysql.connect(**{**connect_kwargs(self.url, name), "conv": {}})  # type: ignore[arg-type]

    def apply(self, settings: tuple[tuple[str, str], ...]) -> None:
        assert self.conn is not None
        with self.conn.cursor() as cur:  # a connection per test: they end with it
            for name, value in settings:
                cur.execute(statement("mysql", name, value))

    def execute(self, sql: str) -> str:
        assert self.conn is not None
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                rows = cur.fetchall() if cur.description else ()
        except pymysql.MySQLError as exc:
            number = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
            symbol = _SYMBOLS.get(number, "")
            raise StatementFailed({str(number), f"ER_{symbol}" if symbol else ""} - {""},
                                  f"{number}: {exc.args[-1]}") from exc
        return tsv([tuple(v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else v
                          for v in row) for row in rows])

    def drop(self, name: str) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.cloner.drop(name)

    def keep(self, name: str) -> str:
        return f"database {name}"

    def escaped(self, name: str) -> str:
        return ""  # a database of its own per test: nothing shared to escape into

    def client_env(self, name: str, tmp: Path, settings: Draw = ()) -> dict[str, str]:
        u = self.url
        args = ["mariadb", "--batch", "--skip-column-names", f"--user={u.username or 'root'}"]
        if u.query.get("unix_socket"):
            args.append(f"--socket={u.query['unix_socket']}")
        else:
            args += [f"--host={u.host or 'localhost'}", f"--port={u.port or 3306}"]
        if settings:
            args.append(f"--init-command=SET SESSION {assignments(settings)}")
        env = {"TOOLKIT_DATABASE_URL": u.set(database=name).render_as_string(hide_password=False),
               "TOOLKIT_CLIENT": client_wrapper(tmp, [*args, name])}
        if u.password:
            env["MYSQL_PWD"] = u.password  # never on the command line, where ps shows it
        return env

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.cloner.close()


class PooledMySQLBackend(MySQLBackend):
    """A database of its own per test, from the worker's pool of clones of the template (a
    project with migrations: without, MySQLBackend makes each test's database), each with the
    test's connection already open; released ones are dropped in the background."""

    def __init__(self, url: str, template_url: str, settings: Settings) -> None:
        from toolkit.refs.engines.pooled import PooledDatabases

        self.url = urls.parse(url)
        self.template = urls.parse(template_url).database
        self.databases = PooledDatabases(
            settings, url, str(self.template), self._connect, lambda conn: conn.open)
        self.conn = None

    def create(self, name: str) -> str:
        database, self.conn = self.databases.take()
        return str(database)

    def drop(self, name: str) -> None:
        self.conn = None
        self.databases.release()

    def keep(self, name: str) -> str:
        self.conn = None
        self.databases.release(keep=True)  # marked as the worker's: db.gc removes it later
        return f"database {name}"

    def close(self) -> None:
        self.databases.close()
