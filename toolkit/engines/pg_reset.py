"""Resetting a used PostgreSQL clone to its template, and proving the reset complete, so a pool
can hand it out again instead of dropping it and making a new one (~18 ms of server work).

The proof compares what a test can leave in a database with a snapshot of a fresh clone:
- every catalog row of this database a test can add (oid from 16384, FirstNormalObjectId, on),
  whole, so in-place changes (a renamed table, a replaced function, a new grant) count too;
  pg_class by its columns that say what a relation is (row security, replica identity,
  partition bound, populated or not), not by its sizes and vacuum counters;
- columns, indexes (the one CLUSTER remembers apart), inheritance, sequences' definitions,
  comments, security labels;
- schemas by name, owner, privileges and comment; the database's owner, privileges,
  connection limit, settings and comment; other sessions and prepared transactions on it;
- every table's and populated materialized view's rows (a hash of their text, in order) and
  every sequence's position.

A reset puts back what it can: a blank template's schemas are dropped and the public schema
made again as it was; a template's tables get their rows back (only those whose hash changed),
sequences their positions, materialized views whose rows changed are refreshed over the rows
put back, the index CLUSTER remembers is the template's again, and settings given to the
database (ALTER DATABASE / ALTER ROLE … IN DATABASE … SET) are reset. Anything else a test
changed (a table added or altered) fails the proof, and the pool drops that clone as before.
tests/test_isolation_corpus.py holds each kind of change to what this says of it."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from sqlalchemy.pool import QueuePool

if TYPE_CHECKING:
    from toolkit.core import Clone

log = logging.getLogger("toolkit")

# a kept connection's prepare_threshold: psycopg prepares nothing behind the test's back (a
# session's end deallocates what is prepared, and a statement of toolkit's would show in
# pg_prepared_statements). toolkit's queries are prepared on a session of its own (Resets)
NEVER = None
# every schema a test can drop: all but the system's (temporary ones end with the session)
SCHEMAS = """
SELECT nspname FROM pg_namespace
 WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
"""
PUBLIC = """
SELECT nspowner::regrole::text, nspacl::text, obj_description(oid, 'pg_namespace')
  FROM pg_namespace WHERE nspname = 'public'
"""
# catalogs of this database with an oid column, pg_class and pg_namespace compared apart
CATALOGS = """
SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'oid'
 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' AND NOT c.relisshared
   AND c.relname NOT IN ('pg_namespace', 'pg_class')
 ORDER BY c.relname
"""
STATE = """
SELECT 'namespace', format('%s/%s/%s/%s', n.nspname, n.nspowner::regrole, n.nspacl,
                           d.description)
  FROM pg_namespace n LEFT JOIN pg_description d  -- obj_description() runs a query per row
    ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
 WHERE n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
UNION ALL
SELECT 'database', format('%s/%s/%s/%s/%s/%s', datdba::regrole, datacl, datconnlimit,
                          datallowconn, datistemplate,
                          -- COMMENT ON DATABASE (a join on the shared catalog costs ~15 %
                          -- of a reset where tests leave tables)
                          shobj_description(oid, 'pg_database'))
  FROM pg_database WHERE datname = current_database()
UNION ALL
SELECT 'setting', format('%s/%s', s.setrole, s.setconfig) FROM pg_db_role_setting s
  JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()
UNION ALL
SELECT 'session', a.pid::text FROM pg_stat_get_activity(NULL) a JOIN pg_database d
    ON d.oid = a.datid WHERE d.datname = current_database() AND a.pid <> pg_backend_pid()
UNION ALL
SELECT 'prepared', p.gid FROM pg_prepared_xact() p JOIN pg_database d ON d.oid = p.dbid
 WHERE d.datname = current_database()
UNION ALL
SELECT 'class', format('%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s/%s', oid, relname,
                       relnamespace, reltype, relowner, relam, relkind, relnatts, relchecks,
                       relacl, reloptions, relpersistence, relrowsecurity, relispartition,
                       relforcerowsecurity, relreplident, relispopulated, reloftype,
                       relpartbound)
  FROM pg_class WHERE oid >= 16384 AND relpersistence <> 't'
UNION ALL
SELECT 'attribute', md5(string_agg(a::text, ',' ORDER BY attrelid, attnum))
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE a.attrelid >= 16384 AND c.relpersistence <> 't'
UNION ALL
SELECT 'index', md5(string_agg((to_jsonb(i) - 'indisclustered')::text, ','
                              ORDER BY indexrelid))
        -- what CLUSTER remembers, apart (_text makes it a line of its own): a reset puts it back
        || ' ' || coalesce(string_agg(i.indexrelid::text, ',' ORDER BY indexrelid)
                             FILTER (WHERE i.indisclustered), '')
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indexrelid >= 16384 AND c.relpersistence <> 't'
UNION ALL
SELECT 'inherits', md5(string_agg(i::text, ',' ORDER BY inhrelid, inhseqno))
  FROM pg_inherits i WHERE inhrelid >= 16384
UNION ALL
SELECT 'sequence', md5(string_agg(s::text, ',' ORDER BY seqrelid))
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
 WHERE s.seqrelid >= 16384 AND c.relpersistence <> 't'
UNION ALL
SELECT 'description', md5(string_agg(d::text, ',' ORDER BY objoid, classoid, objsubid))
  FROM pg_description d WHERE objoid >= 16384 AND classoid <> 'pg_namespace'::regclass
UNION ALL
SELECT 'seclabel', md5(string_agg(s::text, ',' ORDER BY objoid)) FROM pg_seclabel s
 WHERE objoid >= 16384
UNION ALL
SELECT 'init_privs', md5(string_agg(p::text, ',' ORDER BY objoid)) FROM pg_init_privs p
 WHERE objoid >= 16384
UNION ALL
SELECT 'largeobject', md5(string_agg(l::text, ',' ORDER BY loid, pageno)) FROM pg_largeobject l
{catalogs}
"""
# the tables whose rows a reset restores, and the sequences whose positions
# (as JSON text: the same whatever loaders the connection has)
TABLES = """
SELECT json_build_array(n.nspname, c.relname,
                        json_agg(a.attname ORDER BY a.attnum)
                          FILTER (WHERE a.attgenerated = ''))::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND c.oid >= 16384
 GROUP BY n.nspname, c.relname ORDER BY n.nspname, c.relname
"""
# materialized views whose rows the proof compares (a reset refreshes them: a test that
# refreshed one over its changed rows left other rows in it)
MATVIEWS = """
SELECT json_build_array(n.nspname, c.relname)::text FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' AND c.relispopulated AND c.oid >= 16384
 ORDER BY c.oid
"""
SEQUENCES = """
SELECT json_build_array(n.nspname, c.relname)::text FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND c.oid >= 16384
 ORDER BY n.nspname, c.relname
"""


@dataclasses.dataclass
class Snapshot:
    """A fresh clone, as a reset must give it back."""

    state: str
    public: tuple[str, str | None, str | None]  # the public schema's owner, acl, comment
    blank: bool  # no schema, relation or routine of its own: a reset may drop every schema
    tables: dict[str, tuple[list[str], bytes, str]]  # name: (columns, COPY text, rows' hash)
    sequences: dict[str, tuple[int, bool]]  # name: (last_value, is_called)
    names: dict[str, sql.Identifier] = dataclasses.field(default_factory=dict)  # quoted
    probe: bytes = b""  # the query of rows' hashes and sequences' positions
    matviews: dict[str, str] = dataclasses.field(default_factory=dict)  # name: rows' hash


def end_session(conn: psycopg.Connection) -> None:
    """What a test's session holds ends now, on the test's own time: some of it reaches beyond
    its database (advisory locks are the server's)."""
    if conn.closed or conn.broken:
        return
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.execute("DISCARD ALL")


def snapshot(conn: psycopg.Connection, ignore: Collection[int] = (),
             prepare: bool = False) -> Snapshot:
    """A fresh clone's state, rows and sequence positions (read once per pool); the sessions
    ``ignore`` names (the test's, kept open) do not count; ``prepare`` as for reset."""
    public = conn.execute(PUBLIC).fetchone()
    assert public is not None
    tables: dict[str, tuple[list[str], bytes, str]] = {}
    names: dict[str, sql.Identifier] = {}
    for (found,) in conn.execute(TABLES).fetchall():
        schema, table, columns = json.loads(found)
        name = f"{schema}.{table}"
        names[name] = sql.Identifier(schema, table)
        data = bytearray()
        with conn.cursor().copy(sql.SQL("COPY {} ({}) TO STDOUT").format(
                names[name], _columns(columns))) as copy:
            for chunk in copy:
                data += chunk
        tables[name] = (columns, bytes(data), "")
    sequences = {}
    for (found,) in conn.execute(SEQUENCES).fetchall():
        schema, seq = json.loads(found)
        names[f"{schema}.{seq}"] = sql.Identifier(schema, seq)
        sequences[f"{schema}.{seq}"] = (0, False)
    matviews = {}
    for (found,) in conn.execute(MATVIEWS).fetchall():
        schema, view = json.loads(found)
        names[f"{schema}.{view}"] = sql.Identifier(schema, view)
        matviews[f"{schema}.{view}"] = ""
    snap = Snapshot(state(conn, ignore, prepare), (str(public[0]), public[1], public[2]), False,
                    tables, sequences, names, matviews=matviews)
    snap.probe = _probe_query(conn, snap)
    rows, positions = _probe(conn, snap, prepare)
    snap.tables = {name: (cols, data, rows[name]) for name, (cols, data, _) in tables.items()}
    snap.matviews = {name: rows[name] for name in matviews}
    snap.sequences = positions
    snap.blank = not tables and not sequences and not conn.execute(USER_OBJECTS).fetchone()
    return snap


# anything of its own in a fresh clone besides an empty public schema
USER_OBJECTS = """
SELECT 1 FROM pg_class WHERE oid >= 16384 AND relpersistence <> 't'
UNION ALL SELECT 1 FROM pg_proc WHERE oid >= 16384
UNION ALL SELECT 1 FROM pg_type WHERE oid >= 16384
UNION ALL SELECT 1 FROM pg_namespace WHERE nspname NOT IN ('public', 'pg_catalog',
    'information_schema', 'pg_toast') AND nspname NOT LIKE 'pg\\_temp\\_%'
    AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
UNION ALL SELECT 1 FROM pg_extension WHERE oid >= 16384
LIMIT 1
"""


def reset(conn: psycopg.Connection, snap: Snapshot, database: str,
          settle_s: float = 0.2, on_settings: Callable[[], None] = lambda: None,
          ignore: Collection[int] = (), prepare: bool = False,
          ddl: psycopg.Connection | None = None) -> bool:
    """Put a used clone back as ``snap`` saw it, on a connection of its own with the test's
    session already ended (a session ``ignore`` names is that one, kept open for the next
    test); True only when the proof holds afterwards. Any other session the test left on it
    gets ``settle_s`` to go (closed connections take a moment to leave). ``on_settings``
    hears of database-level settings reset: a connection opened while they were set has them
    as its session defaults, and must not be kept. ``prepare``: the proof's queries are
    prepared on ``conn`` (a session of toolkit's own, never the test's). ``ddl``: the test's
    session, ended, on which a blank clone's tables are dropped (DDL on toolkit's own session
    would have it plan the proof again, ~2.5 ms)."""
    if snap.blank and ddl is not None:  # before the proof, which they would fail
        _drop_relations(conn, ddl, prepare)
    current, probed = _look(conn, snap, ignore, prepare)
    if current != snap.state:
        probed = None  # read again once the state is put right
    if "session=" in current:
        deadline = time.monotonic() + settle_s
        while _others(conn, database, ignore):
            if time.monotonic() >= deadline:
                return False  # still in use: not ours to reset
            time.sleep(0.005)  # a backend that was told to exit, going: polled, bounded
        current = state(conn, ignore, prepare)
    if "setting=" in current and "setting=" not in snap.state:  # ALTER DATABASE … SET
        _reset_settings(conn, database)
        on_settings()
        current = state(conn, ignore, prepare)
    if current != snap.state and _only(current, snap.state, "clustered"):  # CLUSTER
        _recluster(conn, snap)
        current = state(conn, ignore, prepare)
    if current != snap.state and snap.blank:
        _reset_blank(conn, snap, database)
        on_settings()
        current = state(conn, ignore, prepare)
    if current != snap.state:
        return False  # a table added or altered: only a new clone is that template
    # rows and sequence positions; putting them back changes no catalog row
    rows, positions = probed or _probe(conn, snap, prepare)
    stale = [name for name, (_, _, fresh) in snap.tables.items() if rows[name] != fresh]
    moved = [name for name, fresh in snap.sequences.items() if positions[name] != fresh]
    refresh = [name for name, fresh in snap.matviews.items() if rows[name] != fresh]
    if not (stale or moved or refresh):
        return True
    _restore(conn, snap, stale, moved, refresh)
    rows, positions = _probe(conn, snap, prepare)
    return all(rows[n] == h for n, (_, _, h) in snap.tables.items()) and \
        all(rows[n] == h for n, h in snap.matviews.items()) and positions == snap.sequences


def _only(current: str, fresh: str, kind: str) -> bool:
    """Whether the lines of state that differ are all of ``kind``."""
    return all(line.startswith(f"{kind}=") for line in
               set(current.splitlines()) ^ set(fresh.splitlines()))


# user indexes CLUSTER remembers now, or a fresh clone did (the oids ANY names)
CLUSTERED = """
SELECT n.nspname, c.relname, ic.relname, i.indexrelid = ANY(%s) AS fresh, i.indisclustered
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE i.indexrelid >= 16384 AND (i.indisclustered OR i.indexrelid = ANY(%s))
 ORDER BY 4
"""


def _recluster(conn: psycopg.Connection, snap: Snapshot) -> None:
    """The index each table is clustered on (CLUSTER … USING remembers it) as in ``snap``."""
    line = next((x for x in snap.state.splitlines() if x.startswith("clustered=")), "")
    fresh = [int(oid) for oid in line.partition("=")[2].split(",") if oid.isdigit()]
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '2s'")
        for schema, table, index, was, now in conn.execute(CLUSTERED, (fresh, fresh)).fetchall():
            if was and not now:
                conn.execute(sql.SQL("ALTER TABLE {} CLUSTER ON {}").format(
                    sql.Identifier(schema, table), sql.Identifier(index)))
            elif now and not was:  # before any CLUSTER ON: ORDER BY puts these first
                conn.execute(sql.SQL("ALTER TABLE {} SET WITHOUT CLUSTER").format(
                    sql.Identifier(schema, table)))


def _look(conn: psycopg.Connection, snap: Snapshot, ignore: Collection[int], prepare: bool
          ) -> tuple[str, tuple[dict[str, str], dict[str, tuple[int, bool]]] | None]:
    """The state, and the rows' hashes and sequences' positions, in one round trip (a pipeline):
    a background thread waits for the GIL after each one while a test runs Python."""
    if not snap.probe:
        return state(conn, ignore, prepare), None
    with conn.pipeline():
        looked = conn.execute(_state_query(conn), prepare=prepare)
        probed = conn.execute(snap.probe, prepare=prepare)
    return _text(looked.fetchall(), ignore), _positions(probed.fetchall())


def _others(conn: psycopg.Connection, database: str, ignore: Collection[int]) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_stat_get_activity(NULL) a JOIN pg_database d "
                       "ON d.oid = a.datid WHERE d.datname = %s AND a.pid <> pg_backend_pid() "
                       "AND a.pid <> ALL(%s)", (database, list(ignore))).fetchone()
    return bool(row and int(row[0]))  # text or int: the connection may load all as text


# relations a test left in a blank clone's public schema, but those that go with another one
# (a serial's sequence, an identity's, a partition; a partitioned table depends on its own key)
RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.objsubid = 0 AND d.deptype IN ('a', 'i', 'e')
                     AND NOT (d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid))
"""
DROP = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE",
        "f": "FOREIGN TABLE"}


def _drop_relations(conn: psycopg.Connection, ddl: psycopg.Connection, prepare: bool) -> None:
    """The relations a test left in a blank clone's public schema dropped on ``ddl``. Anything
    else it left (a function, a schema; a table this could not drop) is for _reset_blank,
    which makes the public schema again: a new schema makes every session plan its statements
    again, dropping a table does not."""
    found = conn.execute(RELATIONS, prepare=prepare).fetchall()
    if not found:
        return
    try:
        with ddl.transaction():
            ddl.execute("SET LOCAL lock_timeout = '2s'")
            for name, kind in found:
                ddl.execute(sql.SQL("DROP {} IF EXISTS {} CASCADE").format(
                    sql.SQL(DROP[kind]), sql.Identifier("public", name)))
    except psycopg.Error as exc:  # locked, say: the public schema is made again instead
        log.debug("dropping what a test left: %s", exc)


def _reset_blank(conn: psycopg.Connection, snap: Snapshot, database: str) -> None:
    """A blank template's clone: every schema dropped, public made again as it was."""
    owner, acl, comment = snap.public
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '2s'")
        for (schema,) in conn.execute(SCHEMAS).fetchall():
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.execute("CREATE SCHEMA public")
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        for grantee, privileges in grants(acl, owner):
            conn.execute(sql.SQL("GRANT {} ON SCHEMA public TO {}").format(
                sql.SQL(", ".join(privileges)),
                sql.Identifier(grantee) if grantee else sql.SQL("PUBLIC")))
        if comment is not None:
            conn.execute(sql.SQL("COMMENT ON SCHEMA public IS {}").format(sql.Literal(comment)))
        _reset_settings(conn, database)
        conn.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata")


def _reset_settings(conn: psycopg.Connection, database: str) -> None:
    """The settings ALTER DATABASE … SET and ALTER ROLE … IN DATABASE … SET gave it, gone."""
    conn.execute(sql.SQL("ALTER DATABASE {} RESET ALL").format(sql.Identifier(database)))
    conn.execute(sql.SQL("ALTER ROLE ALL IN DATABASE {} RESET ALL").format(
        sql.Identifier(database)))
    for (role,) in conn.execute(
            "SELECT r.rolname FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
            "JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = %s",
            (database,)).fetchall():
        conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} RESET ALL").format(
            sql.Identifier(role), sql.Identifier(database)))


def _restore(conn: psycopg.Connection, snap: Snapshot, stale: list[str],
             moved: list[str], refresh: Collection[str] = ()) -> None:
    """The template's rows back into ``stale`` tables (triggers and foreign keys off, as a
    restore of a dump does), the template's positions into ``moved`` sequences, and
    ``refresh`` materialized views refreshed over the rows put back."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '2s'")
        conn.execute("SET LOCAL session_replication_role = replica")
        for name in stale:
            columns, data, _ = snap.tables[name]
            conn.execute(sql.SQL("DELETE FROM ONLY {}").format(snap.names[name]))
            if data:
                with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                        snap.names[name], _columns(columns))) as copy:
                    copy.write(data)
        for name in moved:
            value, called = snap.sequences[name]
            conn.execute(sql.SQL("SELECT setval({}, %s, %s)").format(
                sql.Literal(snap.names[name].as_string(conn))), (value, called))
        for name in refresh:
            conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(snap.names[name]))


def _columns(names: list[str] | None) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names or [])


def _probe_query(conn: psycopg.Connection, snap: Snapshot) -> bytes:
    parts = [sql.SQL("SELECT 't', {}, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY "
                     "t::text), '')) FROM ONLY {} t").format(sql.Literal(name),
                                                             snap.names[name])
             for name in snap.tables]
    parts += [sql.SQL("SELECT 'm', {}, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY "
                      "t::text), '')) FROM {} t").format(sql.Literal(name), snap.names[name])
              for name in snap.matviews]
    parts += [sql.SQL("SELECT 's', {}, format('%s/%s', last_value, is_called) FROM {}").format(
        sql.Literal(name), snap.names[name]) for name in snap.sequences]
    if not parts:
        return b""
    return sql.SQL(" UNION ALL ").join(parts).as_bytes(conn)


def _probe(conn: psycopg.Connection, snap: Snapshot, prepare: bool = False
           ) -> tuple[dict[str, str], dict[str, tuple[int, bool]]]:
    """Each table's rows' hash and each sequence's position."""
    if not snap.probe:
        return {}, {}
    return _positions(conn.execute(snap.probe, prepare=prepare).fetchall())


def _positions(found: list[tuple[Any, ...]]
               ) -> tuple[dict[str, str], dict[str, tuple[int, bool]]]:
    rows: dict[str, str] = {}
    positions: dict[str, tuple[int, bool]] = {}
    for kind, name, value in found:
        if kind in ("t", "m"):  # a table's rows, a materialized view's
            rows[name] = value
        else:
            last, called = value.split("/")
            positions[name] = (int(last), called in ("true", "t"))
    return rows, positions


def grants(acl: str | None, owner: str) -> list[tuple[str, list[str]]]:
    """(grantee, privileges) of a schema's aclitem[] text, the owner's own left out ('' is
    PUBLIC)."""
    result = []
    for item in (acl or "{}").strip("{}").split(","):
        grantee, _, rest = item.partition("=")
        words = [{"U": "USAGE", "C": "CREATE"}[c] for c in rest.split("/")[0] if c in "UC"]
        if item and grantee.strip('"') != owner and words:
            result.append((grantee.strip('"'), words))
    return result


def state(conn: psycopg.Connection, ignore: Collection[int] = (), prepare: bool = False) -> str:
    """What a test can leave in a database besides rows, as text: equal for two databases
    when neither holds anything the other does not. One UNION ALL (planning it is most of its
    cost: ``prepare`` on a session of toolkit's own). Sessions ``ignore`` names do not
    count."""
    return _text(conn.execute(_state_query(conn), prepare=prepare).fetchall(), ignore)


def _text(rows: list[tuple[Any, ...]], ignore: Collection[int]) -> str:
    skip = {str(pid) for pid in ignore}
    lines = []
    for kind, value in rows:
        if kind == "session" and str(value) in skip:
            continue
        if kind == "index":  # the indexes' hash, and the ones CLUSTER remembers
            value, _, clustered = str(value).partition(" ")
            lines.append(f"clustered={clustered}")
        lines.append(f"{kind}={value}")
    return "\n".join(sorted(lines))


_STATE_QUERIES: dict[str, bytes] = {}


def _state_query(conn: psycopg.Connection) -> bytes:
    """STATE with a branch per catalog of this server (the same for every connection)."""
    key = f"{conn.info.host}:{conn.info.port}"
    if key not in _STATE_QUERIES:
        names = [row[0] for row in conn.execute(CATALOGS).fetchall()]
        objects = sql.SQL("").join(
            sql.SQL("\nUNION ALL SELECT {}, md5(string_agg(c::text, ',' ORDER BY oid)) "
                    "FROM pg_catalog.{} c WHERE oid >= 16384").format(
                sql.Literal(name), sql.Identifier(name)) for name in names)
        _STATE_QUERIES[key] = sql.SQL(STATE).format(catalogs=objects).as_bytes(conn)
    return _STATE_QUERIES[key]


class Resets:
    """Resetting one pool's clones: the snapshot of its first fresh clone, and on each clone a
    session of toolkit's own, opened while the clone is fresh, on which the proof's queries
    are prepared once (planning them is ~2 ms of server time a reset, running them 0.3 ms)
    and where the test never sees them. A test can see that session, idle, as it could see an
    autovacuum worker on its database; the proof ignores the test's own kept session. When
    the server has no connection to spare, the reset runs on the test's session instead."""

    def __init__(self) -> None:
        self.fresh: Snapshot | None = None
        self.sessions: dict[str, psycopg.Connection] = {}

    def ready(self, db: Clone, test: psycopg.Connection) -> None:
        """``db`` is fresh (new, or proved so); ``test`` is the session its test will use."""
        own = self.sessions.get(db.name) or self._open(db)
        if self.fresh is None:
            self.fresh = snapshot(own, {test.info.backend_pid}, True) if own else snapshot(test)

    def session(self, db: Clone) -> psycopg.Connection | None:
        """toolkit's own session on ``db``; None when none could be opened."""
        return self.sessions.get(db.name)

    def reset(self, db: Clone, conn: psycopg.Connection, ignore: Collection[int] = (),
              on_settings: Callable[[], None] = lambda: None,
              ddl: psycopg.Connection | None = None) -> bool:
        """``reset`` on ``conn``: toolkit's own session, or the test's when it has none."""
        if self.fresh is None or conn.closed or conn.broken:  # the test ended it: no proof
            return False
        return reset(conn, self.fresh, db.name, on_settings=on_settings, ignore=ignore,
                     prepare=conn is self.sessions.get(db.name), ddl=ddl)

    def _open(self, db: Clone) -> psycopg.Connection | None:
        from toolkit.engines.postgresql import connect_kwargs

        try:
            own = psycopg.connect(**connect_kwargs(db.url, db.name))  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:  # too many clients, say: the slower path
            log.debug("no session of toolkit's own on %s: %s", db.name, exc)
            return None
        self.sessions[db.name] = own
        db.closers.append(lambda: self._close(db.name))
        return own

    def _close(self, name: str) -> None:
        own = self.sessions.pop(name, None)
        if own is not None:
            own.close()


class Recycler:
    """A pool's hooks (toolkit.pool) that reset ``toolkit_db`` clones on PostgreSQL: the test's
    session ended at release and kept open in the clone engine's pool for the next test, the
    reset on toolkit's own session (Resets)."""

    def __init__(self) -> None:
        self.resets = Resets()
        self.kept: dict[str, int] = {}  # clone: the backend pid of the test's kept session

    def prepare(self, db: Clone) -> None:
        db.warm()  # nothing when it already is (a recycled clone)
        if self.resets.fresh is None or self.resets.session(db) is None:
            with _raw(db) as conn:
                self.resets.ready(db, conn)

    def release(self, db: Clone) -> None:
        """On the test's time: its session ends now. Only when the test left one connection
        in the engine's pool; other connections are closed (their sessions leave the
        server in a moment, which the reset waits for)."""
        pool = db.engine.pool
        if isinstance(pool, QueuePool) and pool.checkedout() == 0 and pool.checkedin() == 1:
            with _raw(db) as conn:
                end_session(conn)
                self.kept[db.name] = conn.info.backend_pid
        else:
            self.kept.pop(db.name, None)
            db.engine.dispose()  # the test's connections; toolkit's own session stays

    def recycle(self, db: Clone) -> bool:
        settings_reset: list[bool] = []
        kept = self.kept.pop(db.name, None)
        own = self.resets.session(db)
        if own is not None:
            done = self.resets.reset(db, own, () if kept is None else (kept,),
                                     on_settings=lambda: settings_reset.append(True))
        else:
            with _raw(db) as conn:
                done = self.resets.reset(db, conn, on_settings=lambda: settings_reset.append(True))
        if settings_reset:  # its connections may default to what was reset: prepare opens anew
            db.engine.dispose()
        return done


@contextmanager
def _raw(db: Clone) -> Iterator[psycopg.Connection]:
    """The psycopg connection under one of the clone engine's pooled connections, in
    autocommit while toolkit uses it (SQLAlchemy gets it back as it was)."""
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        conn.autocommit = True
        conn.prepare_threshold = NEVER
        try:
            yield conn
        finally:
            if not (conn.closed or conn.broken):
                conn.autocommit = False
    finally:
        raw.close()
