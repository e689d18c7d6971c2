"""PostgreSQL: clones by CREATE DATABASE … TEMPLATE, markers in COMMENT ON DATABASE."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from toolkit import urls
from toolkit.errors import LockTimeoutError, ServerUnreachableError, TemplateInUseError
from toolkit.marker import Marker
from toolkit.settings import Settings

MAINTENANCE_DB = "postgres"


def connect_kwargs(url: URL, database: str | None = None) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "host": url.query.get("host") or url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": database or url.database or MAINTENANCE_DB,
        "autocommit": True,
        "application_name": "toolkit",
    }
    return {k: v for k, v in kwargs.items() if v is not None}


class PostgreSQLEngine:
    kind = "postgresql"

    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.clone_wait_s = settings.clone_wait_s
        self.strategy = settings.pg_clone_strategy
        self._conn: psycopg.Connection | None = None

    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(**connect_kwargs(self.url, MAINTENANCE_DB))  # type: ignore[arg-type]
            except psycopg.OperationalError as exc:
                reason = str(exc).strip().splitlines()[-1]
                raise ServerUnreachableError(urls.where(self.url), reason) from exc
        return self._conn

    def _run(self, query: sql.Composable | str, params: tuple[object, ...] = ()) -> list[tuple]:
        # no parameters: None, so that a literal % in the query (a marker's text) stays literal
        cur = self.conn.execute(query, params or None)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []

    def server_version(self) -> str:
        return f"postgresql {self.conn.info.server_version // 10000}"

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        lock_id = zlib.crc32(key.encode())
        conn = psycopg.connect(**connect_kwargs(self.url, MAINTENANCE_DB))  # type: ignore[arg-type]
        try:
            free = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()
            if not (free and free[0]):
                conn.execute(sql.SQL("SET lock_timeout = {}").format(
                    sql.Literal(f"{int(timeout * 1000)}ms")))
                try:
                    conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
                except psycopg.errors.LockNotAvailable as exc:
                    raise LockTimeoutError(f"building {key}", timeout) from exc
            yield bool(free and free[0])
        finally:
            conn.close()  # closing the session releases the advisory lock

    def markers(self, prefix: str) -> dict[str, Marker | None]:
        rows = self._run(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE starts_with(datname, %s) ORDER BY datname", (prefix,))
        return {name: Marker.loads(comment) for name, comment in rows}

    def marker(self, name: str) -> Marker | None:
        rows = self._run("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                         "WHERE datname = %s", (name,))
        return Marker.loads(rows[0][0]) if rows else None

    def _comment(self, name: str, marker: Marker) -> None:
        self._run(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(marker.dumps())))

    def create(self, name: str, marker: Marker) -> None:
        self._run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._comment(name, marker)

    def finish_template(self, building: str, name: str, marker: Marker) -> None:
        self._run(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(building), sql.Identifier(name)))
        self._run(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
        # the comment is the completion mark: written last, so a crash leaves a "building" marker
        self._comment(name, marker)

    def create_clone(self, template: str, name: str, marker: Marker) -> None:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.SQL(self.strategy.upper()))
        deadline = time.monotonic() + self.clone_wait_s
        while True:
            try:
                self._run(statement)
                break
            except psycopg.errors.ObjectInUse as exc:
                # another session sits on the template; PostgreSQL itself waits up to 5 s per
                # attempt for it to leave, so retrying is the polite wait
                if time.monotonic() >= deadline:
                    raise TemplateInUseError(template, self._sessions(template),
                                             self.clone_wait_s) from exc
        self._comment(name, marker)

    def _sessions(self, database: str) -> list[tuple[int, str]]:
        return [(pid, app) for pid, app in self._run(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s", (database,))]

    def drop(self, name: str) -> None:
        if not self._run("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
            return
        self._run(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name)))
        # WITH (FORCE) terminates the database's sessions first (PostgreSQL 13+)
        self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def database_url(self, name: str) -> URL:
        return self.url.set(database=name)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
