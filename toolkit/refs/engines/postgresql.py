"""PostgreSQL. Isolation: with a template, a clone per test on a connection of its own
(``CREATE DATABASE … TEMPLATE``). Without one, a schema per test (``CREATE SCHEMA`` costs ~1 ms
where ``CREATE DATABASE`` costs ~15 ms) inside a scratch database of the worker's own, which
toolkit creates, marks and drops: whatever a test does outside its schema (``SET search_path =
public; CREATE TABLE …``) lands in that scratch database, is detected after the test (which
fails, naming it), and the scratch database is made anew, so nothing reaches the next test or
the server's own databases. A test that ends its own session gets a new one for the next test,
and a timeout drops the scratch database ``WITH (FORCE)``, which ends its query.

Rendering, as ``psql -A -t`` prints: every value in PostgreSQL's own text output (booleans
``t``/``f``, numerics exact, timestamps in the session's DateStyle, bytea as ``\\x…``)."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from toolkit import urls
from toolkit.engines import Engine, get_engine, pg_reset
from toolkit.engines.postgresql import connect_kwargs
from toolkit.marker import Marker
from toolkit.refs.engines import BACKSLASH_ESCAPES, StatementFailed, client_wrapper, tsv
from toolkit.refs.random_settings import Draw
from toolkit.settings import Settings

if TYPE_CHECKING:
    from toolkit.core import Clone


def _condition(exc: psycopg.Error) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).upper()


class PostgreSQLBackend:
    engine = "postgresql"
    backslash_escapes = BACKSLASH_ESCAPES["postgresql"]

    def __init__(self, url: str, template_url: str | None, settings: Settings) -> None:
        self.url = urls.parse(url)
        self.settings = settings
        self.template = urls.parse(template_url).database if template_url else None
        self.scratch = None if self.template else scratch_name(settings, os.getpid())
        if self.scratch:
            self._make_scratch()
        self.admin = self._connect(self.scratch)
        self.conn = self.admin

    def _engine(self) -> Engine:
        return get_engine(self.settings, self.url)

    def _make_scratch(self) -> None:
        assert self.scratch is not None
        engine = self._engine()
        engine.drop(self.scratch)  # one a killed worker with this pid left
        engine.create(self.scratch, Marker.new("clone", "refs", "refs"))

    def _connect(self, database: str | None) -> psycopg.Connection:
        conn = psycopg.connect(**connect_kwargs(self.url, database))  # type: ignore[arg-type]
        # every value as the server's text, the way psql shows it
        for info in psycopg.postgres.types:
            conn.adapters.register_loader(info.oid, TextLoader)
            if info.array_oid:
                conn.adapters.register_loader(info.array_oid, TextLoader)
        return conn

    def normalize(self, code: str) -> str:
        if re.fullmatch(r"[0-9A-Z]{5}", code):
            return code
        try:
            return str(psycopg.errors.lookup(code).sqlstate)
        except KeyError:
            return code.upper()

    def create(self, name: str) -> str:
        if self.admin.closed or self.admin.broken:  # the last test ended its own session
            self.admin = self.conn = self._connect(self.scratch)
        if self.template:
            self.admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY")
                               .format(sql.Identifier(name), sql.Identifier(self.template)))
            self.conn = self._connect(name)
        else:
            self.admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            self.admin.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(name)))
        return name

    def escaped(self, name: str) -> str:
        """What the test made in its scratch database outside its own schema ('' if nothing)."""
        if self.template:
            return ""
        idle = psycopg.pq.TransactionStatus.IDLE
        if not (self.admin.closed or self.admin.broken) and \
                self.admin.info.transaction_status == idle:
            rows = self.admin.execute(ESCAPES, {"own": name}).fetchall()
        else:  # the test's session is gone, or inside a transaction of its own
            with self._connect(self.scratch) as conn:
                rows = conn.execute(ESCAPES, {"own": name}).fetchall()
        self.dirty = bool(rows)
        return ", ".join(r[0] for r in rows[:3]) + (" …" if len(rows) > 3 else "")

    def apply(self, settings: tuple[tuple[str, str], ...]) -> None:
        for name, value in settings:  # DISCARD ALL (or the next connection) ends them
            self.conn.execute("SELECT set_config(%s, %s, false)", (name, value))

    def execute(self, statement: str) -> str:
        try:
            cur = self.conn.execute(statement.encode())  # bytes: no client-side placeholders
            rows = cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            state = exc.sqlstate or "XX000"
            message = exc.diag.message_primary or str(exc)
            raise StatementFailed({state, _condition(exc)}, f"{state}: {message}") from exc
        return tsv(rows)

    def drop(self, name: str) -> None:
        if self.template:
            if self.conn is not self.admin:
                self.conn.close()
                self.conn = self.admin
            self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            return
        if self.admin.closed or self.admin.broken:
            self.admin = self.conn = self._connect(self.scratch)
        if self.admin.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.admin.rollback()
        self.admin.execute("DISCARD ALL")
        self.admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        if getattr(self, "dirty", False):  # the test reached outside its schema: start afresh
            self.admin.close()
            self._make_scratch()
            self.admin = self.conn = self._connect(self.scratch)
            self.dirty = False

    def client_env(self, name: str, tmp: Path, settings: Draw = ()) -> dict[str, str]:
        url = self.url.set(database=self.scratch or name)
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        env = {"TOOLKIT_DATABASE_URL": plain,
               "TOOLKIT_CLIENT": client_wrapper(tmp, ["psql", "-X", "-q", "-A", "-t", "-F", "\t",
                                                      plain])}
        options = [f"-c search_path={name}"] if self.scratch else []
        options += [f"-c {key}={value}" for key, value in settings]  # toolkit's own words
        if options:
            env["PGOPTIONS"] = " ".join(options)
        return env

    def keep(self, name: str) -> str:
        """Where a failed test's database is kept for inspection."""
        if self.scratch:
            self.kept = True  # the scratch database stays (db.gc removes it later)
            return f"schema {name} in database {self.scratch}"
        return f"database {name}"

    def close(self) -> None:
        if self.conn is not self.admin:
            self.conn.close()
        self.admin.close()
        if self.scratch and not getattr(self, "kept", False):
            self._engine().drop(self.scratch)


def scratch_name(settings: Settings, worker_pid: int) -> str:
    """The scratch database of the worker with this pid on this host (the parent drops it after
    a kill); another host's workers never share a name."""
    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
    return f"{settings.prefix}refs_{host}_{worker_pid}"


# anything in the scratch database that is not the empty database plus the test's own schema
ESCAPES = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', %(own)s)
   AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'
UNION ALL
SELECT format('schema %%I', nspname) FROM pg_namespace
 WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'public', %(own)s)
   AND nspname NOT LIKE 'pg\\_temp\\_%%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'
UNION ALL
SELECT format('%%I.%%I()', n.nspname, p.proname) FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
UNION ALL
SELECT format('type %%I.%%I', n.nspname, t.typname) FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typrelid = 0
UNION ALL
SELECT 'ALTER DATABASE … SET' FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
 WHERE d.datname = current_database()
"""


class PooledPostgreSQLBackend(PostgreSQLBackend):
    """A database of its own per test, from the worker's pool of clones of the template (the
    run's blank database when the project has no migrations). A released database is reset
    and handed out again when toolkit.engines.pg_reset proves it equal to a fresh clone;
    anything else is dropped."""

    def __init__(self, url: str, template_url: str, settings: Settings) -> None:
        from toolkit.refs.engines.pooled import PooledDatabases

        self.url = urls.parse(url)
        self.settings = settings
        self.template = urls.parse(template_url).database
        self.scratch = None
        self.resets = pg_reset.Resets()
        self.databases = PooledDatabases(
            settings, url, str(self.template), self._connect,
            lambda conn: not (conn.closed or conn.broken), self._reset, self.resets.ready)

    def _connect(self, database: str | None) -> psycopg.Connection:
        conn = super()._connect(database)
        # a connection outlives its test here: nothing is prepared on it behind the test
        conn.prepare_threshold = pg_reset.NEVER
        return conn

    def create(self, name: str) -> str:
        database, self.conn = self.databases.take()
        return str(database)

    def escaped(self, name: str) -> str:
        return ""  # a database of its own: nothing shared to escape into

    def drop(self, name: str) -> None:
        pg_reset.end_session(self.conn)
        self.databases.release()

    def keep(self, name: str) -> str:
        self.databases.release(keep=True)  # marked as the worker's: db.gc removes it later
        return f"database {name}"

    def close(self) -> None:
        self.databases.close()

    def _reset(self, db: Clone, conn: psycopg.Connection) -> bool:
        """On toolkit's own session when the clone has one, the test's (``conn``, kept for the
        next test) ignored; else on the test's."""
        own = self.resets.session(db)
        if own is None:
            return self.resets.reset(db, conn)
        return self.resets.reset(db, own, (conn.info.backend_pid,), ddl=conn)
