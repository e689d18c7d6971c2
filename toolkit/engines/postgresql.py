"""PostgreSQL: clones by CREATE DATABASE … TEMPLATE. Markers live in toolkit's own
``<prefix>meta`` database, keyed by the database's oid, so a marker belongs to the database it
describes (not to its name, and not in COMMENT ON DATABASE, which stays the migrations'). A
marker row is written before the database is created (an intent, with no oid yet), so a
database left unmarked by a killed process is still known to be toolkit's."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from toolkit import crash, urls
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
        self.meta = f"{settings.prefix}meta"
        self._conn: psycopg.Connection | None = None
        self._meta: psycopg.Connection | None = None
        self._state: dict[str, tuple] = {}

    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(**connect_kwargs(self.url, MAINTENANCE_DB))  # type: ignore[arg-type]
            except psycopg.OperationalError as exc:
                # the first line holds the cause ("Connection refused"), the last only a hint
                reason = str(exc).strip().splitlines()[0].removeprefix("connection failed: ")
                raise ServerUnreachableError(urls.where(self.url), reason) from exc
        return self._conn

    def _run(self, query: sql.Composable | str, params: tuple[object, ...] = ()) -> list[tuple]:
        # no parameters: None, so that a literal % in the query (a marker's text) stays literal
        cur = self.conn.execute(query, params or None)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []

    def _m(self, query: str, params: tuple[object, ...] = ()) -> list[tuple]:
        """A query on the markers table in the meta database (created on first use)."""
        if self._meta is None or self._meta.closed:
            self._meta = self._connect_meta()
        cur = self._meta.execute(query, params or None)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []

    def _connect_meta(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(**connect_kwargs(self.url, self.meta))  # type: ignore[arg-type]
            if conn.execute("SELECT to_regclass('leases')").fetchone() != (None,):
                return conn
            conn.close()
        except psycopg.OperationalError:
            if self._run("SELECT 1 FROM pg_database WHERE datname = %s", (self.meta,)):
                raise
        # first use on this server: one process creates it, the others wait for it
        with self.lock(self.meta, 60.0):
            if not self._run("SELECT 1 FROM pg_database WHERE datname = %s", (self.meta,)):
                self._run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.meta)))
            conn = psycopg.connect(**connect_kwargs(self.url, self.meta))  # type: ignore[arg-type]
            conn.execute("CREATE TABLE IF NOT EXISTS markers (name text NOT NULL, "
                         "db_oid oid UNIQUE, marker text NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS leases (template text NOT NULL, owner text "
                         "NOT NULL, marker text NOT NULL, PRIMARY KEY (template, owner))")
        return conn

    def _databases(self, prefix: str) -> dict[str, tuple[int, str | None]]:
        rows = self._run("SELECT datname, oid, shobj_description(oid, 'pg_database') "
                         "FROM pg_database WHERE starts_with(datname, %s)", (prefix,))
        return {name: (oid, comment) for name, oid, comment in rows if name != self.meta}

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
        databases = self._databases(prefix)
        if not databases:
            return {}
        by_oid = {oid: text for oid, text in self._m(
            "SELECT db_oid, marker FROM markers WHERE db_oid IS NOT NULL")}
        # a COMMENT marker is how toolkit marked databases before the meta database
        return {name: Marker.loads(by_oid.get(oid) or comment)
                for name, (oid, comment) in sorted(databases.items())}

    def marker(self, name: str) -> Marker | None:
        return self.markers(name).get(name)

    def intents(self, prefix: str) -> dict[str, Marker]:
        # pg_database is a shared catalog: the meta connection sees every database
        rows = self._m("SELECT name, marker FROM markers WHERE starts_with(name, %s) AND "
                       "(db_oid IS NULL OR db_oid NOT IN (SELECT oid FROM pg_database)) AND "
                       "name NOT IN (SELECT datname FROM pg_database)", (prefix,))
        return {name: m for name, text in rows if (m := Marker.loads(text)) is not None}

    def leftover(self, name: str) -> Marker | None:
        rows = self._m("SELECT marker FROM markers WHERE db_oid IS NULL AND name = %s", (name,))
        return Marker.loads(rows[0][0]) if rows else None

    def forget(self, name: str) -> None:
        self._m("DELETE FROM markers WHERE name = %s AND (db_oid IS NULL OR db_oid NOT IN "
                "(SELECT oid FROM pg_database))", (name,))

    def lease(self, template: str, marker: Marker) -> None:
        self._m("INSERT INTO leases VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (template, marker.owner_key, marker.dumps()))

    def leases(self, prefix: str) -> list[tuple[str, Marker]]:
        rows = self._m("SELECT template, marker FROM leases WHERE starts_with(template, %s)",
                       (prefix,))
        return [(t, m) for t, text in rows if (m := Marker.loads(text)) is not None]

    def unlease(self, template: str, marker: Marker) -> None:
        self._m("DELETE FROM leases WHERE template = %s AND owner = %s",
                (template, marker.owner_key))

    def _create(self, name: str, marker: Marker, statement: sql.Composable,
                point: str) -> None:
        """Intent, database, then the intent bound to the database's oid: killed anywhere in
        between, what is left is recognisably toolkit's."""
        # one statement each side of CREATE DATABASE, on the clone's hot path
        self._m("WITH stale AS (DELETE FROM markers WHERE db_oid IS NULL AND name = %s) "
                "INSERT INTO markers (name, marker) VALUES (%s, %s)",
                (name, name, marker.dumps()))
        crash.point(f"{point}.intent")
        self._run(statement)
        crash.point(f"{point}.created")
        # pg_database is a shared catalog, seen from the meta database too. A row left under a
        # reused oid (a database dropped by hand) goes first, in a statement of its own: the
        # unique oid is checked before a same-statement delete counts
        oid = "(SELECT oid FROM pg_database WHERE datname = %s)"
        self._m(f"DELETE FROM markers WHERE db_oid = {oid}", (name,))
        self._m(f"UPDATE markers SET db_oid = {oid} WHERE db_oid IS NULL AND name = %s",
                (name, name))

    def _set_marker(self, name: str, marker: Marker) -> None:
        self._m("UPDATE markers SET marker = %s, name = %s WHERE db_oid = "
                "(SELECT oid FROM pg_database WHERE datname = %s)", (marker.dumps(), name, name))

    def create(self, name: str, marker: Marker) -> None:
        self._create(name, marker, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)),
                     "pg.create")

    def finish_template(self, building: str, name: str, marker: Marker) -> None:
        self._run(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(building), sql.Identifier(name)))
        crash.point("pg.finish.renamed")
        self._run(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
        crash.point("pg.finish.is-template")
        # the template marker is the completion mark: written last, so a crash before it leaves
        # the database marked "building" (the marker follows the oid through the rename)
        self._set_marker(name, marker)

    def create_clone(self, template: str, name: str, marker: Marker) -> None:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.SQL(self.strategy.upper()))
        deadline = time.monotonic() + self.clone_wait_s
        while True:
            try:
                self._create(name, marker, statement, "pg.clone")
                break
            except psycopg.errors.ObjectInUse as exc:
                # another session sits on the template; PostgreSQL itself waits up to 5 s per
                # attempt for it to leave, so retrying is the polite wait
                if time.monotonic() >= deadline:
                    self.forget(name)
                    raise TemplateInUseError(template, self._sessions(template),
                                             self.clone_wait_s) from exc
        settings, alters = self._database_state(template, name)
        if settings:
            # each value through set_config() and SET … FROM CURRENT: the server parses it
            # (list settings like search_path included), nothing is pasted into SQL
            with self.conn.transaction():
                for setting_sql, key, value in settings:
                    self._run("SELECT set_config(%s, %s, true)", (key, value))
                    self._run(setting_sql)
        for alter in alters:
            self._run(alter)
        crash.point("pg.clone.state")

    def _database_state(self, template: str, clone: str
                        ) -> tuple[list[tuple[sql.Composable, str, str]], list[sql.Composable]]:
        """What CREATE DATABASE … TEMPLATE does not copy and migrations may set: ALTER DATABASE
        … SET (and per role), CONNECTION LIMIT, grants, the comment. Read once per template."""
        if template not in self._state:
            self._state[template] = self._run(STATE_QUERY, (template,))[0]
        limit, explicit, acl, comment, config = self._state[template]
        db = sql.Identifier(clone)
        settings: list[tuple[sql.Composable, str, str]] = []
        out: list[sql.Composable] = []
        for role, setting in config or []:
            key, _, value = setting.partition("=")
            target: sql.Composable = sql.SQL("ALTER DATABASE {}").format(db) if role is None \
                else sql.SQL("ALTER ROLE {} IN DATABASE {}").format(sql.Identifier(role), db)
            if key.lower() in LIST_SETTINGS:  # stored flattened: only the server can re-parse it
                settings.append((sql.SQL("{} SET {} FROM CURRENT").format(
                    target, sql.Identifier(key)), key, value))
            else:  # stored as given: given again, as a literal
                out.append(sql.SQL("{} SET {} TO {}").format(target, sql.Identifier(key),
                                                            sql.Literal(value)))
        if limit != -1:
            out.append(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
                db, sql.Literal(limit)))
        if explicit:  # explicit grants replace the defaults
            out.append(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
            for grantee, privilege, grantable in acl or []:
                who: sql.Composable = sql.SQL("PUBLIC") if grantee is None else \
                    sql.Identifier(grantee)
                out.append(sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                    sql.SQL(privilege), db, who,
                    sql.SQL(" WITH GRANT OPTION" if grantable == "true" else "")))
        if comment is not None and Marker.loads(comment) is None:  # not an old toolkit marker
            out.append(sql.SQL("COMMENT ON DATABASE {} IS {}").format(db, sql.Literal(comment)))
        return settings, out

    def _end_sessions(self, database: str, wait_s: float = 1.0) -> None:
        """Sessions on a database about to be dropped end now, and are waited for (polled,
        bounded): DROP … WITH (FORCE) sleeps 100 ms when it finds one, even one whose client
        has just closed it."""
        query = "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
        deadline = time.monotonic() + wait_s
        while self._run(query, (database,)) and time.monotonic() < deadline:
            time.sleep(0.002)

    def _sessions(self, database: str) -> list[tuple[int, str]]:
        return [(pid, app) for pid, app in self._run(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s", (database,))]

    def drop(self, name: str) -> None:
        oid = self._run("SELECT oid, EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = "
                        "%s) FROM pg_database WHERE datname = %s", (name, name))
        if not oid:
            self.forget(name)
            return
        self._run(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name)))
        if oid[0][1]:  # a test's PREPARE TRANSACTION: the database cannot go while it stays
            self._rollback_prepared(name)
        self._end_sessions(name)
        # WITH (FORCE) terminates the database's sessions first (PostgreSQL 13+)
        self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        crash.point("pg.drop.dropped")
        self._m("DELETE FROM markers WHERE db_oid = %s OR (db_oid IS NULL AND name = %s)",
                (oid[0][0], name))

    def _rollback_prepared(self, name: str) -> None:
        """The transactions a test prepared in database ``name`` (toolkit's) rolled back, on a
        session of that database (ROLLBACK PREPARED must run there)."""
        self._run(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(
            sql.Identifier(name)))
        with psycopg.connect(**connect_kwargs(self.url, name)) as conn:  # type: ignore[arg-type]
            for (gid,) in conn.execute("SELECT gid FROM pg_prepared_xacts WHERE database = "
                                       "current_database()").fetchall():
                conn.execute(sql.SQL("ROLLBACK PREPARED {}").format(sql.Literal(gid)))

    def database_url(self, name: str) -> URL:
        return self.url.set(database=name)

    def close(self) -> None:
        for conn in (self._conn, self._meta):
            if conn is not None:
                conn.close()


# settings a database may carry whose value is a list (GUC_LIST_INPUT)
LIST_SETTINGS = {"search_path", "temp_tablespaces", "datestyle", "session_preload_libraries",
                 "local_preload_libraries"}
STATE_QUERY = """
SELECT d.datconnlimit, d.datacl IS NOT NULL,
       (SELECT array_agg(ARRAY[CASE WHEN a.grantee = 0 THEN NULL
                                    ELSE pg_get_userbyid(a.grantee) END,
                               a.privilege_type, a.is_grantable::text])
          FROM aclexplode(d.datacl) a WHERE a.grantee <> d.datdba),
       shobj_description(d.oid, 'pg_database'),
       (SELECT array_agg(ARRAY[CASE WHEN s.setrole = 0 THEN NULL
                                    ELSE pg_get_userbyid(s.setrole) END, c])
          FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE s.setdatabase = d.oid)
  FROM pg_database d WHERE d.datname = %s
"""
