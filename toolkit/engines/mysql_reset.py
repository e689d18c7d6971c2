"""Resetting a used MariaDB/MySQL clone to its template, and proving the reset complete, so a
pool can hand it out again instead of dropping it and making a new one.

The proof compares, with a snapshot of a fresh clone: the database's definitions (its
tables, views and sequences, each as ``SHOW CREATE TABLE`` shows it — columns, indexes,
constraints, checks, options, comments; triggers, the default character set and, on
MariaDB, the database's comment — toolkit's marker, which must stay this clone's own — from
information_schema; routines with their parameters and events with their schedules from the
mysql schema's tables on MariaDB (information_schema on MySQL); grants on the database, its
tables, columns and routines from the mysql schema, since information_schema shows a user
only its own), every table's rows (``CHECKSUM TABLE``), each table's next AUTO_INCREMENT value
and each sequence's table (position, bounds, increment, cycles), and that no other session
uses the database. The test's own session ended when its connections
were closed (temporary tables, variables, named locks go with it).

A reset puts back what it can: rows of changed tables copied again from the template on the
same server (foreign key checks off, as a clone's copy does), AUTO_INCREMENT values and
sequence positions. Anything else a test changed (a table added or altered) fails the proof,
and the clone is dropped. A template with triggers or system-versioned tables is not reset
(copying rows back would fire the triggers or rewrite history): its clones are dropped.

The reset and its proof run on a session of toolkit's own on the server, opened once per clone
with no default database (so no test sees it among its database's sessions); the test's
connections are closed at release and the clone engine connects again in the background.
information_schema is read through the columns MariaDB looks tables up by (TABLE_SCHEMA,
EVENT_OBJECT_SCHEMA): the others make it open every database on the server."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import pymysql
from sqlalchemy.engine import URL

from toolkit.engines.mysql import connect_kwargs, quote, sessions_on

if TYPE_CHECKING:
    from toolkit.core import Clone

log = logging.getLogger("toolkit")

# definitions, one hash each, with the database's own name left out (clones differ in it)
# what SHOW CREATE TABLE does not say (it says the rest, cheaper than information_schema)
# (CONCAT_WS skips NULLs: each nullable column is COALESCEd so that NULL and '' differ)
STATE = """
SELECT 'schema', CONCAT_WS('|', default_character_set_name, default_collation_name)
  FROM information_schema.schemata WHERE schema_name = %(db)s{comment}
{routines}
UNION ALL SELECT 'triggers', MD5(GROUP_CONCAT(CONCAT_WS('|', trigger_name, event_object_table,
    action_timing, event_manipulation, action_statement, action_order, sql_mode, definer)
    ORDER BY trigger_name))
  FROM information_schema.triggers WHERE event_object_schema = %(db)s
UNION ALL SELECT 'db_grants', MD5(GROUP_CONCAT(CONCAT_WS('|', d.user, d.host, JSON_OBJECT(
    'select', d.select_priv, 'insert', d.insert_priv, 'update', d.update_priv, 'delete',
    d.delete_priv, 'create', d.create_priv, 'drop', d.drop_priv, 'grant', d.grant_priv,
    'references', d.references_priv, 'index', d.index_priv, 'alter', d.alter_priv,
    'temporary', d.create_tmp_table_priv, 'lock', d.lock_tables_priv, 'view',
    d.create_view_priv, 'show_view', d.show_view_priv, 'routine', d.create_routine_priv,
    'alter_routine', d.alter_routine_priv, 'execute', d.execute_priv, 'event', d.event_priv,
    'trigger', d.trigger_priv)) ORDER BY d.user, d.host))
  FROM mysql.db d WHERE d.db = %(db)s
UNION ALL SELECT 'table_grants', MD5(GROUP_CONCAT(CONCAT_WS('|', user, host, table_name,
    table_priv, column_priv) ORDER BY user, host, table_name))
  FROM mysql.tables_priv WHERE db = %(db)s
UNION ALL SELECT 'column_grants', MD5(GROUP_CONCAT(CONCAT_WS('|', user, host, table_name,
    column_name, column_priv) ORDER BY user, host, table_name, column_name))
  FROM mysql.columns_priv WHERE db = %(db)s
UNION ALL SELECT 'routine_grants', MD5(GROUP_CONCAT(CONCAT_WS('|', user, host, routine_name,
    routine_type, proc_priv) ORDER BY user, host, routine_name, routine_type))
  FROM mysql.procs_priv WHERE db = %(db)s
"""
# routines (with their parameters) and events: on MariaDB from the mysql schema's tables,
# read by their primary key (information_schema parses every routine of the server for
# PARAMETERS: ~1 ms a survey); creation times left out (each clone's are its own)
MARIADB_ROUTINES = """
UNION ALL SELECT 'routines', MD5(GROUP_CONCAT(CONCAT_WS('|', name, type, language,
    sql_data_access, is_deterministic, security_type, param_list, returns, body, definer,
    sql_mode, comment, character_set_client, collation_connection, db_collation, aggregate)
    ORDER BY type, name))
  FROM mysql.proc WHERE db = %(db)s
UNION ALL SELECT 'events', MD5(GROUP_CONCAT(CONCAT_WS('|', name, body, definer,
    COALESCE(execute_at, '-'), COALESCE(interval_value, '-'), COALESCE(interval_field, '-'),
    COALESCE(starts, '-'), COALESCE(ends, '-'), status, on_completion, sql_mode, comment,
    originator, time_zone) ORDER BY name))
  FROM mysql.event WHERE db = %(db)s"""
MYSQL_ROUTINES = """
UNION ALL SELECT 'routines', MD5(GROUP_CONCAT(CONCAT_WS('|', routine_name, routine_type,
    routine_definition, sql_mode, security_type, COALESCE(dtd_identifier, '-'), is_deterministic,
    sql_data_access, routine_comment, definer, character_set_client, collation_connection,
    database_collation) ORDER BY routine_type, routine_name))
  FROM information_schema.routines WHERE routine_schema = %(db)s
UNION ALL SELECT 'parameters', MD5(GROUP_CONCAT(CONCAT_WS('|', specific_name, routine_type,
    ordinal_position, COALESCE(parameter_mode, '-'), COALESCE(parameter_name, '-'),
    dtd_identifier) ORDER BY routine_type, specific_name, ordinal_position))
  FROM information_schema.parameters WHERE specific_schema = %(db)s
UNION ALL SELECT 'events', MD5(GROUP_CONCAT(CONCAT_WS('|', event_name, event_definition,
    status, definer, event_type, COALESCE(execute_at, '-'), COALESCE(interval_value, '-'),
    COALESCE(interval_field, '-'), sql_mode, COALESCE(starts, '-'), COALESCE(ends, '-'),
    on_completion, event_comment, originator) ORDER BY event_name))
  FROM information_schema.events WHERE event_schema = %(db)s"""
# grants are read from the mysql schema (information_schema shows a user only its own):
# a server user that cannot read them cannot have a reset proved
ACCESS_DENIED = (1142, 1143)
SESSIONS = "SHOW PROCESSLIST"  # the clone's are counted from the server's (sessions_on)
# a sequence's table: where it is (the first: what RESTART puts back) and how it counts
SEQUENCE_ROW = ("next_not_cached_value, minimum_value, maximum_value, start_value, increment, "
                "cache_size, cycle_option, cycle_count")
# MariaDB's comment on a database: toolkit's marker, each clone's own (see Recycler.prepare)
COMMENT = """
UNION ALL SELECT 'comment', COALESCE(schema_comment, '')
  FROM information_schema.schemata WHERE schema_name = %(db)s"""
# a table's next AUTO_INCREMENT value is data (compared and put back apart), not definition
NEXT_VALUE = re.compile(r" AUTO_INCREMENT=\d+")
NO_SUCH_TABLE = 1146
# no default database: toolkit's own session is not among the clone's; one hash per row; a
# lock a test left (an XA transaction prepared, say) fails a restore in seconds, not minutes
SESSION = {"init_command": "SET SESSION group_concat_max_len = 67108864, "
                           "lock_wait_timeout = 2, innodb_lock_wait_timeout = 2"}
SETTLE_S = 0.2  # for the test's closed connections to leave the server


@dataclasses.dataclass
class Snapshot:
    """A fresh clone, as a reset must give it back."""

    template: str  # where the rows are copied back from
    relations: list[str]  # tables, views and sequences, each defined by SHOW CREATE TABLE
    state: dict[str, str]
    tables: dict[str, list[str]]  # each table's columns to copy (generated ones are computed)
    checksums: dict[str, str]
    increments: dict[str, str]  # each table's next AUTO_INCREMENT value
    sequences: dict[str, str]  # each sequence's next value, bounds, increment, cache, cycles
    reusable: bool  # no triggers, no system-versioned tables


def _rows(conn: Any, query: str, args: object = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(query, args)
        return list(cur.fetchall())


def connect(url: URL) -> Any:
    """A session of toolkit's own on the server at ``url``, for snapshots and resets."""
    return pymysql.connect(**connect_kwargs(url), **SESSION)  # type: ignore[arg-type]


def _sessions(conn: Any, database: str, shown: list[tuple[Any, ...]] | None = None) -> int:
    """How many other sessions use ``database``, from SHOW PROCESSLIST (``shown``, else read)."""
    return len(sessions_on(shown if shown is not None else _rows(conn, SESSIONS), database,
                           conn.thread_id()))


@dataclasses.dataclass
class Survey:
    """What a reset compares, read in one round trip: a background thread waits for the GIL
    at every one while tests run Python (up to 5 ms each, sys.getswitchinterval)."""

    sessions: int  # other sessions using the database
    state: dict[str, str]
    checksums: dict[str, str]
    increments: dict[str, str]  # each table's next AUTO_INCREMENT value
    positions: dict[str, str]  # each sequence's next value

    def data(self) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        return self.checksums, self.increments, self.positions


def survey(conn: Any, database: str, relations: Collection[str], tables: Collection[str],
           sequences: Collection[str]) -> Survey:
    """The database's sessions, definitions (its relations and SHOW CREATE TABLE of each of
    ``relations``), rows' checksums, AUTO_INCREMENT values and sequence positions, on a session
    from ``connect`` (multiple statements, one round trip)."""
    db = quote(database)
    statements = [SESSIONS, _state_query(conn),
                  f"SHOW FULL TABLES FROM {db}",
                  *(f"SHOW CREATE TABLE {db}.{quote(r)}" for r in relations),
                  "SELECT table_name, auto_increment FROM information_schema.tables "
                  "WHERE table_schema = %(db)s AND table_type = 'BASE TABLE'"]
    if tables:
        statements.append("CHECKSUM TABLE " + ", ".join(f"{db}.{quote(t)}" for t in tables))
    if sequences:
        statements.append(" UNION ALL ".join(
            f"SELECT %(s{i})s, CONCAT_WS('/', {SEQUENCE_ROW}) FROM {db}.{quote(seq)}"
            for i, seq in enumerate(sequences)))
    args: dict[str, str] = {"db": database, **{f"s{i}": seq for i, seq in enumerate(sequences)}}
    results = []
    try:
        with conn.cursor() as cur:
            cur.execute(";\n".join(statements), args)
            while True:
                results.append(list(cur.fetchall()))
                if not cur.nextset():
                    break
    except pymysql.err.ProgrammingError as exc:
        if exc.args[0] != NO_SUCH_TABLE:
            raise
        # a relation of the fresh clone is gone: its definitions differ, whatever else
        return Survey(_sessions(conn, database), {"relations": str(exc)}, {}, {}, {})
    state = {k: str(v) for k, v in results[1]}
    state["relations"] = "|".join(sorted(f"{name}:{kind}" for name, kind in results[2]))
    for relation, rows in zip(relations, results[3:], strict=False):
        shown = NEXT_VALUE.sub("", str(rows[0][1])).replace(f"{db}.", "")
        state[f"create {relation}"] = hashlib.md5(shown.encode()).hexdigest()
    rest = results[3 + len(relations):]
    found = Survey(_sessions(conn, database, results[0]), state, {},
                   {name: str(value) for name, value in rest.pop(0)}, {})
    if tables:
        found.checksums = {name.split(".", 1)[1]: str(value) for name, value in rest.pop(0)}
    if sequences:
        found.positions = {name: str(value) for name, value in rest.pop(0)}
    return found


def _mariadb(conn: Any) -> bool:
    return "mariadb" in conn.get_server_info().lower()


def _state_query(conn: Any) -> str:
    """STATE for this server: on MariaDB the database's comment too."""
    mariadb = _mariadb(conn)
    return STATE.format(comment=COMMENT if mariadb else "",
                        routines=MARIADB_ROUTINES if mariadb else MYSQL_ROUTINES)


def comment(conn: Any, database: str) -> str | None:
    """The comment on ``database`` (MariaDB; None on MySQL, which has none)."""
    if not _mariadb(conn):
        return None
    return str(_rows(conn, "SELECT COALESCE(schema_comment, '') FROM information_schema.schemata "
                           "WHERE schema_name = %s", (database,))[0][0])


def _same(now: dict[str, str], fresh: dict[str, str], marker: str | None) -> bool:
    """Whether the definitions are a fresh clone's, the comment on the database being
    ``marker`` (toolkit's, as it made this clone) when given."""
    if marker is not None:
        fresh = {**fresh, "comment": marker}
    return now == fresh


def snapshot(conn: Any, database: str, template: str) -> Snapshot:
    """A fresh clone ``database`` of ``template``, as seen on ``conn``."""
    kinds = {name: kind for name, kind in _rows(conn, f"SHOW FULL TABLES FROM {quote(database)}")}
    sequences = sorted(n for n, k in kinds.items() if k == "SEQUENCE")
    tables: dict[str, list[str]] = {}
    for name in sorted(n for n, k in kinds.items() if k == "BASE TABLE"):
        tables[name] = [c for c, generated in _rows(
            conn, "SELECT column_name, is_generated FROM information_schema.columns "
                  "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (database, name)) if generated == "NEVER"]
    relations = sorted(kinds)
    try:
        fresh = survey(conn, database, relations, tables, sequences)
    except pymysql.err.OperationalError as exc:
        if exc.args[0] not in ACCESS_DENIED:
            raise
        log.debug("grants on %s cannot be read (%s): its clones are dropped", database, exc)
        return Snapshot(template, relations, {}, tables, {}, {}, {}, reusable=False)
    special = _rows(conn, "SELECT 1 FROM information_schema.triggers "
                          "WHERE event_object_schema = %s "
                          "UNION ALL SELECT 1 FROM information_schema.tables WHERE "
                          "table_schema = %s AND table_type = 'SYSTEM VERSIONED'",
                    (database, database))
    return Snapshot(template, relations, fresh.state, tables, *fresh.data(),
                    reusable=not special)


def reset(conn: Any, snap: Snapshot, database: str, marker: str | None = None) -> bool:
    """Put a used clone back as ``snap`` saw it (on a session from ``connect``, the test's
    closed); True only when the proof holds afterwards. ``marker``: the comment toolkit gave
    this database (MariaDB), which must be there still (the snapshot's is its clone's)."""
    if not snap.reusable:
        return False
    now = survey(conn, database, snap.relations, snap.tables, snap.sequences)
    if now.sessions:  # the test's closed connections, leaving
        if not _settled(conn, database):
            return False
        now = survey(conn, database, snap.relations, snap.tables, snap.sequences)
    if not _same(now.state, snap.state, marker):
        return False  # a table added or altered: only a new clone is that template
    fresh = (snap.checksums, snap.increments, snap.sequences)
    if now.data() == fresh:
        return True
    _restore(conn, snap, database, now)
    now = survey(conn, database, snap.relations, snap.tables, snap.sequences)
    return now.data() == fresh and _same(now.state, snap.state, marker) and now.sessions == 0


def _settled(conn: Any, database: str) -> bool:
    """Whether no other session uses the clone, once the test's closed ones have left."""
    deadline = time.monotonic() + SETTLE_S
    while _sessions(conn, database):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)  # closed connections leaving the server: polled, bounded
    return True


def _restore(conn: Any, snap: Snapshot, database: str, now: Survey) -> None:
    """The template's rows into tables whose checksum changed, AUTO_INCREMENT values and
    sequence positions back to a fresh clone's (foreign key checks off meanwhile, as a clone's
    copy has them); one round trip."""
    db, src = quote(database), quote(snap.template)
    stale = [t for t in snap.tables if now.checksums.get(t) != snap.checksums.get(t)]
    statements = ["SET SESSION foreign_key_checks = 0"]
    for table in stale:
        t = quote(table)
        statements.append(f"DELETE FROM {db}.{t}")
        columns = ", ".join(quote(c) for c in snap.tables[table])
        if columns:
            statements.append(f"INSERT INTO {db}.{t} ({columns}) SELECT {columns} FROM {src}.{t}")
    for table, value in snap.increments.items():
        if value not in ("None", "") and (table in stale or now.increments.get(table) != value):
            statements.append(f"ALTER TABLE {db}.{quote(table)} AUTO_INCREMENT = {int(value):d}")
    for seq, value in snap.sequences.items():
        if now.positions.get(seq) != value:
            restart = int(value.split("/")[0])
            statements.append(f"ALTER SEQUENCE {db}.{quote(seq)} RESTART WITH {restart:d}")
    with conn.cursor() as cur:
        try:
            cur.execute(";\n".join(statements))
            while cur.nextset():
                pass
        finally:
            cur.execute("SET SESSION foreign_key_checks = 1")


class Recycler:
    """A pool's hooks (toolkit.pool) that reset ``toolkit_db`` clones on MariaDB/MySQL: the
    snapshot of the first clone, the test's connections closed at release, the reset and its
    proof on toolkit's own session on the clone (kept for the clone's life)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.fresh: Snapshot | None = None
        self.sessions: dict[str, Any] = {}
        self.markers: dict[str, str | None] = {}  # each clone's comment, as toolkit made it

    def prepare(self, db: Clone) -> None:
        own = self._own(db)
        if self.fresh is None and own is not None:  # before the clone engine's connection,
            self.fresh = snapshot(own, db.name, self.template)  # which it would count
        if own is not None and db.name not in self.markers:  # a new clone: as toolkit made it
            self.markers[db.name] = comment(own, db.name)
        db.warm()

    def release(self, db: Clone) -> None:
        db.engine.dispose()  # the test's session ends with its connections; toolkit's stays

    def recycle(self, db: Clone) -> bool:
        own = self.sessions.get(db.name)
        if self.fresh is None or own is None:
            return False
        return reset(own, self.fresh, db.name, self.markers.get(db.name))

    def _own(self, db: Clone) -> Any:
        """toolkit's session for ``db``'s resets; None when the server has no connection to
        spare (that clone is dropped after its test, as without resets)."""
        own = self.sessions.get(db.name)
        if own is None:
            try:
                own = connect(db.url)
            except pymysql.err.OperationalError as exc:  # too many connections, say
                log.debug("no session of toolkit's own for %s: %s", db.name, exc)
                return None
            self.sessions[db.name] = own
            db.closers.append(lambda: self._forget(db.name))
        return own

    def _forget(self, name: str) -> None:
        self.markers.pop(name, None)
        _close(self.sessions.pop(name))


def _close(conn: Any) -> None:
    try:
        conn.close()
    except pymysql.Error:  # a test ended it (KILL): nothing left to close
        pass
