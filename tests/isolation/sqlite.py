"""The isolation corpus on SQLite: a template with two tables, an index, a view and a trigger;
then every way a test can change such a file (and what lies beside it), each with what the
pool does about it."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tests.isolation.harness import (
    NEW,
    RESET,
    Mutation,
    left_on_session,
    process_writer,
    run,
    thread_writer,
)

if TYPE_CHECKING:
    from toolkit.core import Clone

REVISIONS = [
    "CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
    "REFERENCES parent (id))",
    "CREATE INDEX child_parent ON child (parent_id)",
    "CREATE VIEW parent_names AS SELECT name FROM parent",
    "CREATE TRIGGER parent_trim AFTER INSERT ON parent BEGIN "
    "UPDATE parent SET name = trim(name) WHERE id = NEW.id; END",
    "INSERT INTO parent (id, name) VALUES (1, 'seed'), (2, 'two')",
]
BESIDE = ("-wal", "-shm", "-journal")


def _path(db: Clone) -> str:
    return str(db.url.database)


def crashed_writer(journal_mode: str) -> object:
    """A process that writes to the clone and dies without closing it: a WAL it never
    checkpointed, or the rollback journal of the transaction it was in, is left beside it."""
    script = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "wal":
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("INSERT INTO parent (id, name) VALUES (50, 'in the wal')")
else:
    conn.execute("PRAGMA cache_size = 1")  # pages spill: the file is written mid-transaction
    conn.execute("BEGIN")
    conn.execute("INSERT INTO parent (id, name) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL "
                 "SELECT v + 1 FROM s WHERE v < 200) SELECT 100 + v, hex(randomblob(400)) FROM s")
os._exit(0)
"""

    def change(db: Clone) -> None:
        subprocess.run([sys.executable, "-c", script, _path(db), journal_mode], check=True)
        left = Path(_path(db) + ("-wal" if journal_mode == "wal" else "-journal"))
        assert left.exists() and left.stat().st_size > 0, f"no {left.name} left behind"
    return change


KEPT: list[sqlite3.Connection] = []


def kept_open(db: Clone) -> None:
    conn = sqlite3.connect(_path(db))
    conn.execute("SELECT count(*) FROM parent").fetchall()
    KEPT.append(conn)  # past the test's end, in this process


def attached(db: Clone) -> None:
    beside = Path(_path(db)).with_name("corpus-attached.sqlite")
    left_on_session(f"ATTACH DATABASE '{beside}' AS other",
                    "CREATE TABLE IF NOT EXISTS other.t (x INTEGER)",
                    "INSERT INTO other.t VALUES (1)",
                    "INSERT INTO parent (id, name) SELECT 10 + x, 'attached' FROM other.t")(db)


MUTATIONS = [
    Mutation("rows", RESET, "rows inserted, updated, deleted",
             run("INSERT INTO parent (id, name) VALUES (3, 'new')",
                 "UPDATE parent SET name = 'changed' WHERE id = 1",
                 "DELETE FROM parent WHERE id = 2", "INSERT INTO child VALUES (1, 1)")),
    Mutation("schema", RESET, "tables, columns, indexes added or dropped",
             run("CREATE TABLE added (x INTEGER)", "CREATE INDEX added_x ON added (x)",
                 "ALTER TABLE child ADD COLUMN note TEXT", "DROP INDEX child_parent")),
    Mutation("views_triggers", RESET, "views and triggers dropped or created",
             run("DROP VIEW parent_names", "DROP TRIGGER parent_trim",
                 "CREATE VIEW more AS SELECT 1 AS one")),
    Mutation("user_version", RESET, "`PRAGMA user_version`", run("PRAGMA user_version = 7")),
    Mutation("application_id", RESET, "`PRAGMA application_id`",
             run("PRAGMA application_id = 1234")),
    Mutation("journal_mode_wal", RESET, "`PRAGMA journal_mode = WAL`",
             left_on_session("PRAGMA journal_mode = WAL",
                             "INSERT INTO parent (id, name) VALUES (5, 'wal')")),
    Mutation("wal_left_behind", RESET, "a WAL left behind by a process that died",
             crashed_writer("wal")),
    Mutation("journal_left_behind", RESET, "a hot journal left behind by a process that died "
             "mid-transaction", crashed_writer("delete")),
    Mutation("page_size", RESET, "`PRAGMA page_size` with `VACUUM`",
             left_on_session("PRAGMA page_size = 8192", "VACUUM")),
    Mutation("auto_vacuum", RESET, "`PRAGMA auto_vacuum` with `VACUUM`",
             left_on_session("PRAGMA auto_vacuum = FULL", "VACUUM")),
    Mutation("attached", RESET, "a file created beside the clone and `ATTACH`ed", attached),
    Mutation("session", RESET, "a temporary table, `PRAGMA foreign_keys = OFF` on the session",
             left_on_session("CREATE TEMP TABLE temp_left (x INTEGER)",
                             "PRAGMA foreign_keys = OFF")),
    Mutation("schema_version", RESET, "`PRAGMA schema_version` (the header written)",
             left_on_session("PRAGMA writable_schema = ON", "PRAGMA schema_version = 99",
                             "PRAGMA writable_schema = OFF")),
    Mutation("kept_open", NEW, "a connection kept open in the test's process", kept_open),
    Mutation("thread_connection", NEW, "a connection a thread keeps open, writing after the "
             "test", thread_writer),
    Mutation("process_connection", NEW, "a connection a subprocess keeps open, writing after "
             "the test", process_writer),
]

SESSION = ["PRAGMA foreign_keys", "SELECT count(*) FROM sqlite_temp_master",
           "SELECT group_concat(name) FROM pragma_database_list", "PRAGMA journal_mode"]
PRAGMAS = ["user_version", "application_id", "page_size", "auto_vacuum", "journal_mode",
           "schema_version", "freelist_count"]


class Corpus:
    kind = "sqlite"
    revisions = REVISIONS
    mutations = MUTATIONS

    def look(self, db: Clone) -> dict[str, str]:
        path = Path(_path(db))
        parts = {"file": hashlib.sha256(path.read_bytes()).hexdigest(),
                 "beside": " ".join(s for s in BESIDE if Path(f"{path}{s}").exists())}
        # read-only, and before any connection of the test's: nothing rolled back or
        # checkpointed into the file by looking at it
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            parts["dump"] = "\n".join(conn.iterdump())
            for pragma in PRAGMAS:
                parts[pragma] = str(conn.execute(f"PRAGMA {pragma}").fetchone()[0])
        except sqlite3.Error as exc:
            parts["dump"] = f"unreadable: {exc}"
        finally:
            conn.close()
        with db.engine.connect() as session:  # the session the test is handed
            for query in SESSION:
                parts[f"session {query}"] = str(session.execute(sa.text(query)).scalar())
        return parts


CORPUS = Corpus()
