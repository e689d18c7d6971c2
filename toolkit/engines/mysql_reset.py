"""Resetting a used MariaDB/MySQL clone to its template, and proving the reset complete, so a
pool can hand it out again instead of dropping it and making a new one.

The proof compares, with a snapshot of a fresh clone: the database's definitions as
information_schema describes them (tables and their options, columns, indexes, constraints,
views, routines, triggers, events, privileges, the default character set), every table's rows
(``CHECKSUM TABLE``), each table's next AUTO_INCREMENT value and each sequence's next value,
and that no other session uses the database. The test's own session ended when its connections
were closed (temporary tables, variables, named locks go with it).

A reset puts back what it can: rows of changed tables copied again from the template on the
same server (foreign key checks off, as a clone's copy does), AUTO_INCREMENT values and
sequence positions; a blank template's clone is made again empty under its own name and
comment (its marker stays valid). A template with triggers or system-versioned tables is not
reset (copying rows back would fire the triggers or rewrite history): its clones are dropped."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pymysql
from sqlalchemy.engine import URL

from toolkit.engines.mysql import connect_kwargs, quote

if TYPE_CHECKING:
    from toolkit.core import Clone

# definitions, one hash each, with the database's own name left out (clones differ in it)
STATE = """
SELECT 'schema', CONCAT_WS('|', default_character_set_name, default_collation_name)
  FROM information_schema.schemata WHERE schema_name = %(db)s
UNION ALL SELECT 'tables', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name, table_type, engine,
    row_format, table_collation, create_options, table_comment) ORDER BY table_name))
  FROM information_schema.tables WHERE table_schema = %(db)s
UNION ALL SELECT 'columns', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name, column_name,
    ordinal_position, column_default, is_nullable, column_type, character_set_name,
    collation_name, column_key, extra, privileges, column_comment, is_generated,
    generation_expression) ORDER BY table_name, ordinal_position))
  FROM information_schema.columns WHERE table_schema = %(db)s
UNION ALL SELECT 'indexes', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name, non_unique, index_name,
    seq_in_index, column_name, sub_part, index_type, index_comment)
    ORDER BY table_name, index_name, seq_in_index))
  FROM information_schema.statistics WHERE table_schema = %(db)s
UNION ALL SELECT 'constraints', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name, constraint_name,
    constraint_type) ORDER BY table_name, constraint_name))
  FROM information_schema.table_constraints WHERE constraint_schema = %(db)s
UNION ALL SELECT 'references', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name, constraint_name,
    unique_constraint_schema = %(db)s, referenced_table_name, update_rule, delete_rule)
    ORDER BY table_name, constraint_name))
  FROM information_schema.referential_constraints WHERE constraint_schema = %(db)s
UNION ALL SELECT 'checks', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name, constraint_name,
    check_clause) ORDER BY table_name, constraint_name))
  FROM information_schema.check_constraints WHERE constraint_schema = %(db)s
UNION ALL SELECT 'views', MD5(GROUP_CONCAT(CONCAT_WS('|', table_name,
    REPLACE(view_definition, CONCAT('`', %(db)s, '`.'), ''), check_option, security_type)
    ORDER BY table_name))
  FROM information_schema.views WHERE table_schema = %(db)s
UNION ALL SELECT 'routines', MD5(GROUP_CONCAT(CONCAT_WS('|', routine_name, routine_type,
    routine_definition, sql_mode, security_type) ORDER BY routine_type, routine_name))
  FROM information_schema.routines WHERE routine_schema = %(db)s
UNION ALL SELECT 'triggers', MD5(GROUP_CONCAT(CONCAT_WS('|', trigger_name, event_object_table,
    action_timing, event_manipulation, action_statement) ORDER BY trigger_name))
  FROM information_schema.triggers WHERE trigger_schema = %(db)s
UNION ALL SELECT 'events', MD5(GROUP_CONCAT(CONCAT_WS('|', event_name, event_definition,
    status) ORDER BY event_name))
  FROM information_schema.events WHERE event_schema = %(db)s
UNION ALL SELECT 'privileges', MD5(GROUP_CONCAT(CONCAT_WS('|', grantee, privilege_type)
    ORDER BY grantee, privilege_type))
  FROM information_schema.schema_privileges WHERE table_schema = %(db)s
UNION ALL SELECT 'table_privileges', MD5(GROUP_CONCAT(CONCAT_WS('|', grantee, table_name,
    privilege_type) ORDER BY grantee, table_name, privilege_type))
  FROM information_schema.table_privileges WHERE table_schema = %(db)s
UNION ALL SELECT 'sessions', COUNT(*) FROM information_schema.processlist
 WHERE db = %(db)s AND id <> CONNECTION_ID()
"""
SETTLE_S = 0.2  # for the test's closed connections to leave the server


@dataclasses.dataclass
class Snapshot:
    """A fresh clone, as a reset must give it back."""

    template: str  # where the rows are copied back from
    state: dict[str, str]
    tables: dict[str, list[str]]  # each table's columns to copy (generated ones are computed)
    checksums: dict[str, str]
    increments: dict[str, str]  # each table's next AUTO_INCREMENT value
    sequences: dict[str, str]  # each sequence's next value
    blank: bool
    reusable: bool  # no triggers, no system-versioned tables


def _rows(conn: Any, query: str, args: object = None) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(query, args)
        return list(cur.fetchall())


def state(conn: Any, database: str) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute("SET SESSION group_concat_max_len = 67108864")  # one row per hash
    return {kind: str(value) for kind, value in _rows(conn, STATE, {"db": database})}


def _data(conn: Any, database: str, tables: dict[str, list[str]], sequences: list[str]
          ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(checksums, next AUTO_INCREMENT values, next sequence values)."""
    checksums: dict[str, str] = {}
    if tables:
        names = ", ".join(f"{quote(database)}.{quote(t)}" for t in tables)
        checksums = {name.split(".", 1)[1]: str(value)
                     for name, value in _rows(conn, f"CHECKSUM TABLE {names}")}
    increments = {name: str(value) for name, value in _rows(
        conn, "SELECT table_name, auto_increment FROM information_schema.tables "
              "WHERE table_schema = %s AND table_type = 'BASE TABLE'", (database,))}
    positions = {seq: str(_rows(conn, f"SELECT next_not_cached_value FROM "
                                      f"{quote(database)}.{quote(seq)}")[0][0])
                 for seq in sequences}
    return checksums, increments, positions


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
    checksums, increments, positions = _data(conn, database, tables, sequences)
    special = _rows(conn, "SELECT 1 FROM information_schema.triggers WHERE trigger_schema = %s "
                          "UNION ALL SELECT 1 FROM information_schema.tables WHERE "
                          "table_schema = %s AND table_type = 'SYSTEM VERSIONED'",
                    (database, database))
    routines = _rows(conn, "SELECT 1 FROM information_schema.routines WHERE routine_schema = %s "
                           "UNION ALL SELECT 1 FROM information_schema.events "
                           "WHERE event_schema = %s", (database, database))
    return Snapshot(template, state(conn, database), tables, checksums, increments, positions,
                    blank=not kinds and not routines, reusable=not special)


def reset(conn: Any, snap: Snapshot, database: str) -> bool:
    """Put a used clone back as ``snap`` saw it (on a connection of toolkit's own, the test's
    closed); True only when the proof holds afterwards."""
    if not snap.reusable:
        return False
    current = _settled(conn, database)
    if current is None:
        return False
    if current != snap.state and snap.blank:
        _empty(conn, database)
        current = state(conn, database)
    if current != snap.state:
        return False  # a table added or altered: only a new clone is that template
    checksums, increments, positions = _data(conn, database, snap.tables, list(snap.sequences))
    stale = [t for t in snap.tables if checksums.get(t) != snap.checksums.get(t)]
    if stale or increments != snap.increments or positions != snap.sequences:
        _restore(conn, snap, database, stale, increments, positions)
        checksums, increments, positions = _data(conn, database, snap.tables,
                                                 list(snap.sequences))
    return checksums == snap.checksums and increments == snap.increments and \
        positions == snap.sequences and state(conn, database) == snap.state


def _settled(conn: Any, database: str) -> dict[str, str] | None:
    """The clone's state once no other session uses it (None if one stays)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        current = state(conn, database)
        if current.get("sessions") == "0":
            return current
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)  # closed connections leaving the server: polled, bounded


def _empty(conn: Any, database: str) -> None:
    """A blank template's clone made empty again: the database again under its name, character
    set and comment (the comment ties toolkit's marker to it)."""
    row = _rows(conn, "SELECT default_character_set_name, default_collation_name, "
                      "schema_comment FROM information_schema.schemata WHERE schema_name = %s",
                (database,))[0]
    charset, collation, comment = row
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE {quote(database)}")
        cur.execute(f"CREATE DATABASE {quote(database)} CHARACTER SET {quote(charset)} "
                    f"COLLATE {quote(collation)} COMMENT %s", (comment or "",))


def _restore(conn: Any, snap: Snapshot, database: str, stale: list[str],
             increments: dict[str, str], positions: dict[str, str]) -> None:
    """The template's rows into ``stale`` tables, AUTO_INCREMENT values and sequence
    positions back to a fresh clone's."""
    db, src = quote(database), quote(snap.template)
    with conn.cursor() as cur:
        cur.execute("SET SESSION foreign_key_checks = 0")
        try:
            for table in stale:
                t = quote(table)
                cur.execute(f"DELETE FROM {db}.{t}")
                columns = ", ".join(quote(c) for c in snap.tables[table])
                if columns:
                    cur.execute(f"INSERT INTO {db}.{t} ({columns}) SELECT {columns} "
                                f"FROM {src}.{t}")
            for table, value in snap.increments.items():
                if value not in ("None", "") and (table in stale or increments.get(table) != value):
                    cur.execute(f"ALTER TABLE {db}.{quote(table)} AUTO_INCREMENT = {int(value):d}")
            for seq, value in snap.sequences.items():
                if positions.get(seq) != value:
                    cur.execute(f"ALTER SEQUENCE {db}.{quote(seq)} RESTART WITH {int(value):d}")
        finally:
            cur.execute("SET SESSION foreign_key_checks = 1")


class Recycler:
    """A pool's hooks (toolkit.pool) that reset ``toolkit_db`` clones on MariaDB/MySQL: the
    snapshot of the first clone, the test's connections closed at release, the reset and its
    proof on a connection of toolkit's own."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.fresh: Snapshot | None = None

    def prepare(self, db: Clone) -> None:
        if self.fresh is None:
            with own(db.url) as conn:
                self.fresh = snapshot(conn, db.name, self.template)
        db.warm()

    def release(self, db: Clone) -> None:
        db.dispose()  # the test's session ends with its connections

    def recycle(self, db: Clone) -> bool:
        if self.fresh is None:
            return False
        with own(db.url) as conn:
            return reset(conn, self.fresh, db.name)


@contextmanager
def own(url: URL) -> Iterator[Any]:
    """A connection of toolkit's own to the server at ``url`` (autocommit, no database)."""
    conn = pymysql.connect(**{**connect_kwargs(url), "autocommit": True})  # type: ignore[arg-type]
    try:
        yield conn
    finally:
        conn.close()
