"""The isolation corpus on MariaDB: a template with tables (with AUTO_INCREMENT, without a
primary key, partitioned), a sequence, a view, routines and an event; then every way a test
can change such a database, each with what the pool does about it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tests.isolation.harness import (
    NEW,
    RESET,
    Mutation,
    left_on_session,
    normalized,
    process_writer,
    run,
    sorted_runs,
    thread_writer,
    until_gone,
)

if TYPE_CHECKING:
    from toolkit.core import Clone

REVISIONS = [
    "CREATE TABLE parent (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL) "
    "ENGINE=InnoDB",
    "CREATE TABLE nokey (a INT, b VARCHAR(10), KEY nokey_a (a)) ENGINE=InnoDB",
    "CREATE TABLE part (id INT NOT NULL, v INT) PARTITION BY RANGE (id) "
    "(PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    "CREATE SEQUENCE counter START WITH 5",
    "CREATE VIEW parent_names AS SELECT name FROM parent",
    "CREATE PROCEDURE hello() SELECT 1",
    "CREATE FUNCTION answer() RETURNS INT DETERMINISTIC RETURN 42",
    "CREATE EVENT tick ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
    "INSERT INTO parent (name) VALUES ('seed'), ('two')",
    "INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, 'y')",
    "INSERT INTO part VALUES (1, 1), (150, 2)",
]
USER = "'toolkit_corpus'@'localhost'"


def granted(statement: str) -> Callable[[Clone], None]:
    """``statement`` (with {db} for the clone) to a user of the corpus's own."""
    def change(db: Clone) -> None:
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"CREATE USER IF NOT EXISTS {USER}"))
            conn.execute(sa.text(statement.format(db=f"`{db.name}`", user=USER)))
    return change


MUTATIONS = [
    Mutation("rows", RESET, "rows inserted, updated, deleted",
             run("INSERT INTO parent (name) VALUES ('new')",
                 "UPDATE parent SET name = 'changed' WHERE id = 1",
                 "DELETE FROM parent WHERE id = 2")),
    Mutation("rows_without_key", RESET, "rows of a table without a primary key",
             run("DELETE FROM nokey WHERE a = 1 LIMIT 1", "INSERT INTO nokey VALUES (3, 'z')")),
    Mutation("rows_partition", RESET, "rows of a partitioned table",
             run("INSERT INTO part VALUES (2, 2), (300, 3)", "UPDATE part SET v = 9")),
    Mutation("truncate", RESET, "`TRUNCATE`", run("TRUNCATE parent", "TRUNCATE nokey")),
    Mutation("auto_increment_up", RESET, "`AUTO_INCREMENT` moved up",
             run("ALTER TABLE parent AUTO_INCREMENT = 1000")),
    Mutation("auto_increment_down", RESET, "`AUTO_INCREMENT` moved down",
             run("DELETE FROM parent WHERE id = 2", "ALTER TABLE parent AUTO_INCREMENT = 1")),
    Mutation("auto_increment_used", RESET, "`AUTO_INCREMENT` used up by rows deleted again",
             run("INSERT INTO parent (name) VALUES ('a'), ('b')",
                 "DELETE FROM parent WHERE id > 2")),
    Mutation("sequence_nextval", RESET, "a sequence's `NEXTVAL`",
             run("SELECT NEXTVAL(counter)", "SELECT NEXTVAL(counter)")),
    Mutation("sequence_setval", RESET, "a sequence's `SETVAL`",
             run("SELECT SETVAL(counter, 500)")),
    Mutation("table_created_and_dropped", RESET, "a table created and dropped again",
             run("CREATE TABLE passing (x INT)", "DROP TABLE passing")),
    Mutation("get_lock", RESET, "`GET_LOCK`", left_on_session("SELECT GET_LOCK('corpus', 0)")),
    Mutation("user_variables", RESET, "user variables", left_on_session("SET @corpus = 42")),
    Mutation("foreign_key_checks", RESET, "`SET SESSION foreign_key_checks = 0`, `sql_mode`, "
             "`time_zone`",
             left_on_session("SET SESSION foreign_key_checks = 0",
                             "SET SESSION sql_mode = 'ANSI'", "SET time_zone = '+05:00'")),
    Mutation("temporary_table", RESET, "a temporary table",
             left_on_session("CREATE TEMPORARY TABLE temp_left (x INT)")),
    Mutation("analyze_optimize", RESET, "`ANALYZE TABLE`, `OPTIMIZE TABLE`",
             left_on_session("ANALYZE TABLE parent", "OPTIMIZE TABLE nokey")),
    # anything else: the clone is dropped
    Mutation("alter_sequence", NEW, "`ALTER SEQUENCE … INCREMENT`",
             run("ALTER SEQUENCE counter INCREMENT BY 5")),
    Mutation("trigger", NEW, "a trigger created",
             run("CREATE TRIGGER parent_touch BEFORE INSERT ON parent FOR EACH ROW "
                 "SET NEW.name = TRIM(NEW.name)")),
    Mutation("routine", NEW, "a routine created",
             run("CREATE PROCEDURE more() SELECT 2")),
    Mutation("routine_replaced", NEW, "a routine replaced (`CREATE OR REPLACE`)",
             run("CREATE OR REPLACE FUNCTION answer() RETURNS INT DETERMINISTIC RETURN 43")),
    Mutation("routine_altered", NEW, "`ALTER PROCEDURE … COMMENT`, `SQL SECURITY`",
             run("ALTER PROCEDURE hello COMMENT 'hi' SQL SECURITY INVOKER")),
    Mutation("routine_parameters", NEW, "a routine made again with other parameters",
             run("DROP PROCEDURE hello", "CREATE PROCEDURE hello(x INT) SELECT 1")),
    Mutation("event", NEW, "an event created",
             run("CREATE EVENT tock ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 2")),
    Mutation("event_schedule", NEW, "`ALTER EVENT … ON SCHEDULE`",
             run("ALTER EVENT tick ON SCHEDULE EVERY 2 DAY")),
    Mutation("event_enabled", NEW, "`ALTER EVENT … ENABLE` / `DISABLE`",
             run("ALTER EVENT tick ON COMPLETION PRESERVE DISABLE ON SLAVE")),
    Mutation("view", NEW, "a view created or replaced",
             run("CREATE OR REPLACE VIEW parent_names AS SELECT UPPER(name) AS name "
                 "FROM parent", "CREATE VIEW more AS SELECT 1 AS one")),
    Mutation("engine", NEW, "`ENGINE`", run("ALTER TABLE nokey ENGINE = MyISAM")),
    Mutation("row_format", NEW, "`ROW_FORMAT`", run("ALTER TABLE nokey ROW_FORMAT = REDUNDANT")),
    Mutation("table_comment", NEW, "a table's `COMMENT`",
             run("ALTER TABLE parent COMMENT = 'mine'")),
    Mutation("partitions", NEW, "partitions added or reorganised",
             run("ALTER TABLE part REORGANIZE PARTITION p1 INTO (PARTITION p1 VALUES LESS "
                 "THAN (200), PARTITION p2 VALUES LESS THAN MAXVALUE)")),
    Mutation("index", NEW, "an index added or dropped",
             run("CREATE INDEX parent_name ON parent (name)", "DROP INDEX nokey_a ON nokey")),
    Mutation("table_charset", NEW, "a table's character set",
             run("ALTER TABLE nokey CONVERT TO CHARACTER SET latin1")),
    Mutation("database_charset", NEW, "the database's character set",
             granted("ALTER DATABASE {db} CHARACTER SET latin1")),
    Mutation("database_comment", NEW, "the database's `COMMENT` (toolkit's marker on MariaDB)",
             granted("ALTER DATABASE {db} COMMENT 'mine'")),
    Mutation("grant_database", NEW, "`GRANT` on the database",
             granted("GRANT SELECT ON {db}.* TO {user}")),
    Mutation("grant_table", NEW, "`GRANT` on a table",
             granted("GRANT INSERT ON {db}.parent TO {user}")),
    Mutation("grant_column", NEW, "`GRANT` on a column",
             granted("GRANT UPDATE (name) ON {db}.parent TO {user}")),
    Mutation("grant_routine", NEW, "`GRANT EXECUTE` on a routine",
             granted("GRANT EXECUTE ON PROCEDURE {db}.hello TO {user}")),
    Mutation("schema_change", NEW, "a table or column added, a table renamed",
             run("CREATE TABLE added (x INT)", "ALTER TABLE nokey ADD COLUMN c INT",
                 "RENAME TABLE part TO parts")),
    Mutation("thread_connection", NEW, "a connection a thread keeps open, writing after the "
             "test", thread_writer),
    Mutation("process_connection", NEW, "a connection a subprocess keeps open, writing after "
             "the test", process_writer),
]

SESSION = ("SELECT @@session.foreign_key_checks, @@session.sql_mode, @@session.time_zone, "
           "@@session.autocommit, @corpus, IS_USED_LOCK('corpus') IS NOT NULL, DATABASE()")
# what a dump leaves out of a database: the grants on it and what is in it
GRANTS = [
    "SELECT User, Host, Select_priv, Insert_priv, Update_priv, Delete_priv, Execute_priv "
    "FROM mysql.db WHERE Db = :db ORDER BY 1, 2",
    "SELECT User, Host, Table_name, Table_priv, Column_priv FROM mysql.tables_priv "
    "WHERE Db = :db ORDER BY 1, 2, 3",
    "SELECT User, Host, Table_name, Column_name, Column_priv FROM mysql.columns_priv "
    "WHERE Db = :db ORDER BY 1, 2, 3, 4",
    "SELECT User, Host, Routine_name, Routine_type, Proc_priv FROM mysql.procs_priv "
    "WHERE Db = :db ORDER BY 1, 2, 3",
]


def _client_args(db: Clone) -> list[str]:
    from toolkit.engines.mysql import connect_kwargs

    kwargs = connect_kwargs(db.url)
    args = [f"--user={kwargs['user']}"]
    if kwargs.get("password"):
        args.append(f"--password={kwargs['password']}")
    if kwargs.get("unix_socket"):
        return [*args, f"--socket={kwargs['unix_socket']}"]
    return [*args, f"--host={kwargs['host']}", f"--port={kwargs['port']}", "--protocol=tcp"]


class Corpus:
    kind = "mysql"
    revisions = REVISIONS
    mutations = MUTATIONS

    def look(self, db: Clone) -> dict[str, str]:
        from toolkit.engines.mysql import sessions_on

        def sessions() -> int:
            with db.engine.connect() as conn:
                return len(sessions_on(conn.execute(sa.text("SHOW PROCESSLIST")).all(),
                                       db.name, -1))

        before = sessions()
        dumped = subprocess.run(
            ["mariadb-dump", *_client_args(db), "--single-transaction", "--routines",
             "--events", "--triggers", "--skip-comments", "--skip-dump-date",
             "--skip-extended-insert", "--hex-blob", db.name],
            capture_output=True, text=True, check=True).stdout
        until_gone(sessions, before)
        lines = sorted_runs(dumped.splitlines(), lambda line: line.startswith("INSERT INTO"))
        parts = {"dump": normalized("\n".join(lines), db.name)}
        with db.engine.connect() as conn:  # the session the test is handed
            parts["session"] = normalized(str(conn.execute(sa.text(SESSION)).one()), db.name)
            try:
                conn.execute(sa.text("SELECT 1 FROM temp_left"))
                parts["session temporary table"] = "temp_left"
            except sa.exc.DBAPIError:
                pass
            shown = str(conn.execute(sa.text(f"SHOW CREATE DATABASE `{db.name}`")).one())
            # toolkit's marker (who made the clone, when) differs from clone to clone
            parts["database"] = re.sub(r"COMMENT 'toolkit [^']*'", "COMMENT 'toolkit …'",
                                       normalized(shown, db.name))
            for i, query in enumerate(GRANTS):
                parts[f"grants {i}"] = str(conn.execute(sa.text(query), {"db": db.name}).all())
        return parts


CORPUS = Corpus()
