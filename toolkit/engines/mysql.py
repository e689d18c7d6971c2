"""MariaDB/MySQL: clones replay the template's saved DDL and copy its rows; markers (and the
saved DDL) live in a small metadata table in the ``<prefix>meta`` database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
from pymysql.constants import CLIENT
from sqlalchemy.dialects.mysql.base import MySQLDialect
from sqlalchemy.engine import URL

from toolkit import crash, urls
from toolkit.errors import LockTimeoutError, ServerUnreachableError, ToolkitError
from toolkit.marker import Marker
from toolkit.settings import Settings

quote = MySQLDialect().identifier_preparer.quote_identifier


def connect_kwargs(url: URL, database: str | None = None) -> dict[str, object]:
    socket = url.query.get("unix_socket")
    kwargs: dict[str, object] = {
        "host": url.host or "localhost",
        "port": url.port or 3306,
        "user": url.username or "root",
        "password": url.password or "",
        "database": database,
        "unix_socket": socket,
        "charset": "utf8mb4",
        "autocommit": True,
        "client_flag": CLIENT.MULTI_STATEMENTS,
    }
    if socket or kwargs["host"] in ("localhost", "127.0.0.1", "::1"):
        # TLS on a local connection buys nothing and costs tens of ms per connect
        kwargs["ssl_disabled"] = True
    return {k: v for k, v in kwargs.items() if v is not None}


def sessions_on(shown: Iterable[tuple[Any, ...]], database: str, own: int) -> list[int]:
    """The ids of the sessions ``SHOW PROCESSLIST`` (``shown``) has on ``database``, but the
    caller's own (``own``): a tenth of what information_schema.processlist costs (~0.5 ms, a
    temporary table of every thread's columns)."""
    return [int(row[0]) for row in shown if row[3] == database and row[0] != own]


class MySQLEngine:
    kind = "mysql"

    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.meta = f"{settings.prefix}meta"
        self._conn: pymysql.connections.Connection | None = None
        self._mariadb: bool | None = None

    @property
    def conn(self) -> pymysql.connections.Connection:
        if self._conn is None or not self._conn.open:
            try:
                self._conn = pymysql.connect(**connect_kwargs(self.url))  # type: ignore[arg-type]
            except pymysql.err.OperationalError as exc:
                raise ServerUnreachableError(urls.where(self.url), str(exc.args[-1])) from exc
            self._run(f"CREATE DATABASE IF NOT EXISTS {quote(self.meta)}")
            self._run(f"CREATE TABLE IF NOT EXISTS {quote(self.meta)}.markers ("
                      "name VARCHAR(64) PRIMARY KEY, marker TEXT NOT NULL, ddl LONGTEXT)")
            self._run(f"CREATE TABLE IF NOT EXISTS {quote(self.meta)}.leases (template "
                      "VARCHAR(64) NOT NULL, owner VARCHAR(255) NOT NULL, marker TEXT NOT NULL, "
                      "PRIMARY KEY (template, owner))")
        return self._conn

    def _run(self, query: str, params: tuple[object, ...] | None = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            rows = list(cur.fetchall())
            while cur.nextset():
                pass
        return rows

    def server_version(self) -> str:
        version = self._run("SELECT VERSION()")[0][0]
        brand = "mariadb" if "mariadb" in version.lower() else "mysql"
        return f"{brand} {version.split('.')[0]}"

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        conn = pymysql.connect(**connect_kwargs(self.url))  # type: ignore[arg-type]
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, 0)", (key,))
                free = cur.fetchone()[0] == 1
                if not free:
                    cur.execute("SELECT GET_LOCK(%s, %s)", (key, int(timeout)))
                    if cur.fetchone()[0] != 1:
                        raise LockTimeoutError(f"building {key}", timeout)
            yield free
        finally:
            conn.close()  # the lock dies with the session

    @property
    def mariadb(self) -> bool:
        """MariaDB (10.5+) keeps a comment on the database itself, which ties a marker to the
        database it describes; MySQL has none, so there a marker goes by the name alone."""
        if self._mariadb is None:
            self._mariadb = self.server_version().startswith("mariadb")
        return self._mariadb

    @staticmethod
    def _token(marker: Marker) -> str:
        """What the database's own comment says: who created it, and when."""
        return f"toolkit {marker.host}:{marker.pid}:{marker.started}:{marker.created}"

    def _schemata(self, prefix: str) -> dict[str, str | None]:
        column = "schema_comment" if self.mariadb else "NULL"
        rows = self._run(f"SELECT schema_name, {column} FROM information_schema.schemata "
                         "WHERE LEFT(schema_name, %s) = %s", (len(prefix), prefix))
        return {name: comment for name, comment in rows if name != self.meta}

    def _rows(self, prefix: str) -> dict[str, Marker | None]:
        return {name: Marker.loads(text) for name, text in self._run(
            f"SELECT name, marker FROM {quote(self.meta)}.markers WHERE LEFT(name, %s) = %s",
            (len(prefix), prefix))}

    def markers(self, prefix: str) -> dict[str, Marker | None]:
        rows = self._rows(prefix)
        out: dict[str, Marker | None] = {}
        for name, comment in sorted(self._schemata(prefix).items()):
            marker = rows.get(name)
            # on MariaDB a row is this database's marker only if the database says so: one
            # dropped and re-created by hand under the same name is not toolkit's
            valid = marker is not None and (not self.mariadb or comment == self._token(marker))
            out[name] = marker if valid else None
        return out

    def marker(self, name: str) -> Marker | None:
        return self.markers(name).get(name)

    def intents(self, prefix: str) -> dict[str, Marker]:
        existing = self._schemata(prefix)
        return {n: m for n, m in self._rows(prefix).items() if n not in existing and m}

    def leftover(self, name: str) -> Marker | None:
        if self.mariadb:
            return None  # created with its comment in one statement: never left unmarked
        return self._rows(name).get(name)

    def forget(self, name: str) -> None:
        self._run(f"DELETE FROM {quote(self.meta)}.markers WHERE name = %s", (name,))

    def lease(self, template: str, marker: Marker) -> None:
        self._run(f"INSERT IGNORE INTO {quote(self.meta)}.leases VALUES (%s, %s, %s)",
                  (template, marker.owner_key, marker.dumps()))

    def leases(self, prefix: str) -> list[tuple[str, Marker]]:
        rows = self._run(f"SELECT template, marker FROM {quote(self.meta)}.leases "
                         "WHERE LEFT(template, %s) = %s", (len(prefix), prefix))
        return [(t, m) for t, text in rows if (m := Marker.loads(text)) is not None]

    def unlease(self, template: str, marker: Marker) -> None:
        self._run(f"DELETE FROM {quote(self.meta)}.leases WHERE template = %s AND owner = %s",
                  (template, marker.owner_key))

    def _set_marker(self, name: str, marker: Marker, ddl: str | None = None) -> None:
        self._run(f"REPLACE INTO {quote(self.meta)}.markers (name, marker, ddl) "
                  "VALUES (%s, %s, %s)", (name, marker.dumps(), ddl))

    def create(self, name: str, marker: Marker, charset: str | None = None,
               collation: str | None = None) -> None:
        self._set_marker(name, marker)  # the intent: written before the database exists
        crash.point("mysql.create.intent")
        options = f" CHARACTER SET {quote(charset)} COLLATE {quote(collation)}" \
            if charset and collation else ""
        if self.mariadb:
            self._run(f"CREATE DATABASE {quote(name)}{options} COMMENT %s",
                      (self._token(marker),))
        else:
            self._run(f"CREATE DATABASE {quote(name)}{options}")
        crash.point("mysql.create.created")

    def finish_template(self, building: str, name: str, marker: Marker) -> None:
        # MySQL cannot rename a database, so the template is built under its final name and
        # the completion marker (with the DDL to replay) is what makes it usable
        assert building == name, "MySQL templates are built in place"
        self._set_marker(name, marker, json.dumps(self._snapshot(name)))

    def _snapshot(self, db: str) -> dict[str, object]:
        """What recreates ``db`` exactly: its charset, table DDL, the columns to copy per table
        (generated ones are computed again; invisible ones are named, since SELECT * skips
        them; a system-versioned table's history comes too), sequences' next values, and what
        runs after the copy (routines, views in dependency order, triggers, events), each with
        the sql_mode it was created under (triggers must not fire on copied rows)."""
        q = quote(db)
        charset, collation = self._run(
            "SELECT default_character_set_name, default_collation_name FROM "
            "information_schema.schemata WHERE schema_name = %s", (db,))[0]
        tables: list[str] = []
        views: list[str] = []
        sequences: list[str] = []
        for table, kind in self._run(f"SHOW FULL TABLES FROM {q}"):
            {"VIEW": views, "SEQUENCE": sequences}.get(kind, tables).append(table)
        created = {t: self._run(f"SHOW CREATE TABLE {q}.{quote(t)}")[0][1]
                   for t in tables + sequences}
        ddl = list(created.values())
        system_versioned = {t for (t,) in self._run(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_type = 'SYSTEM VERSIONED'", (db,))}
        columns: dict[str, list[str]] = {}
        versioned: list[str] = []
        for table in tables:
            if not self._run(f"SELECT 1 FROM {q}.{quote(table)} LIMIT 1"):
                continue
            rows = self._run("SELECT column_name, is_generated FROM information_schema.columns "
                             "WHERE table_schema = %s AND table_name = %s "
                             "ORDER BY ordinal_position", (db, table))
            columns[table] = [c for c, generated in rows if generated == "NEVER"]
            if table in system_versioned:  # its history comes too, periods as they were
                columns[table] += _period(created[table])
                versioned.append(table)
        nextval: dict[str, int] = {}
        for seq in sequences:
            # the next value the template would give, whatever its cache holds (its table only
            # says where the cache ends); RESTART puts it back, which SETVAL cannot do downwards
            value = int(self._run(f"SELECT NEXTVAL({q}.{quote(seq)})")[0][0])
            self._run(f"ALTER SEQUENCE {q}.{quote(seq)} RESTART WITH {value:d}")
            nextval[seq] = value
        after: list[tuple[str, str]] = []  # (sql_mode, statement)
        for routine, rtype in self._run("SELECT routine_name, routine_type FROM "
                                        "information_schema.routines WHERE routine_schema = %s",
                                        (db,)):
            row = self._run(f"SHOW CREATE {rtype} {q}.{quote(routine)}")[0]
            after.append((row[1], row[2]))
        # views name their columns qualified by database: strip ours so they bind to the clone
        after += [("", self._run(f"SHOW CREATE VIEW {q}.{quote(v)}")[0][1].replace(f"{q}.", ""))
                  for v in _by_dependency(views, lambda v: self._run(
                      f"SHOW CREATE VIEW {q}.{quote(v)}")[0][1])]
        for (trigger,) in self._run("SELECT trigger_name FROM information_schema.triggers "
                                    "WHERE trigger_schema = %s ORDER BY action_order", (db,)):
            row = self._run(f"SHOW CREATE TRIGGER {q}.{quote(trigger)}")[0]
            after.append((row[1], row[2]))
        for (event,) in self._run("SELECT event_name FROM information_schema.events "
                                  "WHERE event_schema = %s", (db,)):
            row = self._run(f"SHOW CREATE EVENT {q}.{quote(event)}")[0]
            after.append((row[1], row[3]))
        # what names its own database inside a body would still point at the template from
        # a clone: refuse to clone rather than hand out a database that differs
        refuse = [f"{statement.split('(')[0].strip()[:80]!r} names its own database {db!r}, "
                  "which a clone cannot rewrite (refer to its objects without the database "
                  "name)" for _, statement in after if f"{q}." in statement]
        return {"charset": [charset, collation], "ddl": ddl, "columns": columns,
                "versioned": versioned, "nextval": nextval, "after": after, "refuse": refuse}

    def create_clone(self, template: str, name: str, marker: Marker) -> None:
        rows = self._run(f"SELECT ddl FROM {quote(self.meta)}.markers WHERE name = %s",
                         (template,))
        snapshot = json.loads(rows[0][0])
        if snapshot["refuse"]:
            raise ToolkitError(f"cannot clone template {template!r} exactly: "
                               f"{snapshot['refuse'][0]}")
        charset, collation = snapshot["charset"]
        self.create(name, marker, charset, collation)
        if not (snapshot["ddl"] or snapshot["after"]):  # a blank template: nothing to replay
            return
        src, dst = quote(template), quote(name)
        conn = pymysql.connect(**connect_kwargs(self.url, name))  # type: ignore[arg-type]
        try:
            with conn.cursor() as cur:
                cur.execute("SET FOREIGN_KEY_CHECKS = 0")
                # one statement per call: trigger and routine bodies contain ';'
                for statement in snapshot["ddl"]:
                    cur.execute(statement)
                crash.point("mysql.clone.tables")
                # rows exactly as they are: id 0 stays 0, history keeps its periods
                cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
                if snapshot["versioned"]:
                    cur.execute("SET SESSION system_versioning_insert_history = 1")
                for table, cols in snapshot["columns"].items():
                    names = ", ".join(quote(c) for c in cols)
                    history = " FOR SYSTEM_TIME ALL" if table in snapshot["versioned"] else ""
                    cur.execute(f"INSERT INTO {dst}.{quote(table)} ({names}) SELECT {names} "
                                f"FROM {src}.{quote(table)}{history}")
                for seq, value in snapshot["nextval"].items():
                    cur.execute(f"ALTER SEQUENCE {dst}.{quote(seq)} RESTART WITH {int(value):d}")
                for sql_mode, statement in snapshot["after"]:
                    if sql_mode:
                        cur.execute("SET SESSION sql_mode = %s", (sql_mode,))
                    cur.execute(statement)
        finally:
            conn.close()

    def drop(self, name: str) -> None:
        for pid in sessions_on(self._run("SHOW PROCESSLIST"), name, self.conn.thread_id()):
            try:
                self._run("KILL %s", (pid,))
            except pymysql.err.OperationalError:
                pass  # the session ended by itself in between
        self._run(f"DROP DATABASE IF EXISTS {quote(name)}")
        crash.point("mysql.drop.dropped")
        self.forget(name)

    def database_url(self, name: str) -> URL:
        return self.url.set(database=name)

    def close(self) -> None:
        if self._conn is not None and self._conn.open:
            self._conn.close()


def _by_dependency(views: list[str], definition: Callable[[str], str]) -> list[str]:
    """Views ordered so that each comes after the views it selects from."""
    texts = {v: definition(v) for v in views}
    ordered: list[str] = []
    pending = sorted(views)
    while pending:
        ready = [v for v in pending if not any(
            other != v and other not in ordered and f"`{other}`" in texts[v]
            for other in pending)]
        ready = ready or pending[:1]  # a cycle cannot be created; take one and go on
        ordered += ready
        pending = [v for v in pending if v not in ready]
    return ordered


def _period(create_table: str) -> list[str]:
    """The row start and end columns of a system-versioned table (implicit ones if unnamed)."""
    match = re.search(r"PERIOD FOR SYSTEM_TIME \(`((?:[^`]|``)+)`, `((?:[^`]|``)+)`\)",
                      create_table)
    if match is None:
        return ["row_start", "row_end"]
    return [match.group(1).replace("``", "`"), match.group(2).replace("``", "`")]
