"""The isolation corpus on PostgreSQL: a template with a table of each kind a test writes to
(with and without a primary key, partitioned, unlogged, with an identity, a serial, a trigger),
a sequence, an enum, functions, a view and a materialized view; then every way a test can
change such a database, each with what the pool does about it."""

from __future__ import annotations

import glob
import subprocess
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tests.isolation.harness import (
    NEW,
    RESET,
    Mutation,
    both,
    each,
    left_on_session,
    normalized,
    process_writer,
    run,
    sorted_blocks,
    thread_writer,
    until_gone,
)

if TYPE_CHECKING:
    from toolkit.core import Clone

REVISIONS = [
    "CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE nokey (a int, b text)",
    "CREATE INDEX nokey_a ON nokey (a)",
    "CREATE TABLE measure (at date NOT NULL, v int) PARTITION BY RANGE (at)",
    "CREATE TABLE measure_2026 PARTITION OF measure "
    "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    "CREATE TABLE measure_2027 PARTITION OF measure "
    "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
    "CREATE UNLOGGED TABLE scratch (k text PRIMARY KEY, v int)",
    "CREATE SEQUENCE counter",
    "CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)",
    "CREATE TYPE mood AS ENUM ('ok', 'sad')",
    "CREATE TABLE feel (id serial PRIMARY KEY, m mood)",
    "CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'",
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql "
    "AS 'BEGIN NEW.name = trim(NEW.name); RETURN NEW; END'",
    "CREATE TRIGGER parent_touch BEFORE INSERT OR UPDATE ON parent "
    "FOR EACH ROW EXECUTE FUNCTION touch()",
    "CREATE VIEW parent_names AS SELECT name FROM parent",
    "CREATE MATERIALIZED VIEW parent_count AS SELECT count(*) AS n FROM parent",
    "INSERT INTO parent VALUES (1, 'seed'), (2, 'two')",
    "INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, 'y')",
    "INSERT INTO measure VALUES ('2026-05-01', 1), ('2027-05-01', 2)",
    "INSERT INTO scratch VALUES ('a', 1)",
    "SELECT setval('counter', 5)",
    "INSERT INTO ident (note) VALUES ('first')",
    "INSERT INTO feel (m) VALUES ('ok')",
    "REFRESH MATERIALIZED VIEW parent_count",
]

DATABASE = "DO $$ BEGIN EXECUTE format({}, current_database()); END $$"


def on_database(statement: str) -> str:
    """``statement`` with %I for the clone's name (ALTER DATABASE takes no expression)."""
    return DATABASE.format("'" + statement.replace("'", "''") + "'")


def large_object_unlinked(db: Clone) -> None:
    with db.engine.begin() as conn:
        oid = conn.execute(sa.text("SELECT lo_from_bytea(0, 'gone')")).scalar()
        conn.execute(sa.text("SELECT lo_unlink(:oid)"), {"oid": oid})


def prepared_transaction(db: Clone) -> None:
    with db.engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO parent VALUES (77, 'two-phase')"))
        conn.execute(sa.text(f"PREPARE TRANSACTION '{db.name}'"))  # a name of toolkit's
        conn.commit()


MUTATIONS = [
    # rows and sequence positions: put back
    Mutation("rows", RESET, "rows inserted, updated, deleted",
             run("INSERT INTO parent VALUES (3, 'new')",
                 "UPDATE parent SET name = 'changed' WHERE id = 1",
                 "DELETE FROM parent WHERE id = 2")),
    Mutation("rows_without_key", RESET, "rows of a table without a primary key (one of two "
             "equal rows deleted)",
             run("DELETE FROM nokey WHERE ctid = (SELECT min(ctid) FROM nokey WHERE a = 1)",
                 "INSERT INTO nokey VALUES (3, 'z')")),
    Mutation("rows_partition", RESET, "rows of a partition (through its parent and directly)",
             run("INSERT INTO measure VALUES ('2026-07-01', 3)",
                 "UPDATE measure_2027 SET v = 20")),
    Mutation("rows_unlogged", RESET, "rows of an unlogged table",
             run("INSERT INTO scratch VALUES ('b', 2)", "UPDATE scratch SET v = 10")),
    Mutation("truncate", RESET, "`TRUNCATE`",
             run("TRUNCATE nokey, scratch, measure")),
    Mutation("truncate_restart_identity", RESET, "`TRUNCATE … RESTART IDENTITY`",
             run("TRUNCATE ident, feel RESTART IDENTITY")),
    Mutation("nextval", RESET, "`nextval` (a sequence, an identity, a serial)",
             run("SELECT nextval('counter')", "INSERT INTO ident (note) VALUES ('n')",
                 "INSERT INTO feel (m) VALUES ('sad')")),
    Mutation("setval_false", RESET, "`setval(…, false)`",
             run("SELECT setval('counter', 1, false)")),
    Mutation("large_object_unlinked", RESET, "a large object created and unlinked",
             large_object_unlinked),
    Mutation("table_created_and_dropped", RESET, "a table created and dropped again",
             run("CREATE TABLE passing (x int)", "DROP TABLE passing")),
    Mutation("matview_refreshed", RESET, "`REFRESH MATERIALIZED VIEW` over changed rows",
             run("INSERT INTO parent VALUES (4, 'four')",
                 "REFRESH MATERIALIZED VIEW parent_count")),
    Mutation("vacuum_full", RESET, "`VACUUM FULL`, `ANALYZE`",
             each("VACUUM FULL parent", "VACUUM FULL nokey", "ANALYZE")),
    Mutation("cluster", RESET, "`CLUSTER` (the index it clusters on remembered)",
             each("CLUSTER parent USING parent_pkey")),
    Mutation("alter_database_set", RESET, "`ALTER DATABASE … SET`",
             run(on_database("ALTER DATABASE %I SET work_mem = '2MB'"))),
    Mutation("alter_role_in_database_set", RESET, "`ALTER ROLE … IN DATABASE … SET`",
             run(on_database("ALTER ROLE CURRENT_USER IN DATABASE %I SET "
                             "statement_timeout = '5min'"))),
    Mutation("session_settings", RESET, "session settings (`SET`, `search_path`, `SET ROLE`)",
             left_on_session("SET work_mem = '1MB'", "SET search_path = pg_catalog",
                             "SET ROLE pg_read_all_data")),
    Mutation("listen", RESET, "`LISTEN`", left_on_session("LISTEN corpus")),
    Mutation("advisory_lock", RESET, "an advisory lock held",
             left_on_session("SELECT pg_advisory_lock(4242)")),
    Mutation("temporary_table", RESET, "a temporary table",
             left_on_session("CREATE TEMP TABLE temp_left (x int)",
                             "INSERT INTO temp_left VALUES (1)")),
    Mutation("prepared_statement", RESET, "a prepared statement",
             left_on_session("PREPARE mine AS SELECT 1")),
    # anything else: the clone is dropped
    Mutation("prepare_transaction", NEW, "`PREPARE TRANSACTION` (server with "
             "`max_prepared_transactions > 0`)", prepared_transaction),
    Mutation("large_object", NEW, "a large object created and written",
             run("SELECT lo_from_bytea(0, 'kept')")),
    Mutation("comment_table", NEW, "`COMMENT ON TABLE`, `COMMENT ON COLUMN`",
             run("COMMENT ON TABLE parent IS 'p'", "COMMENT ON COLUMN nokey.a IS 'a'")),
    Mutation("comment_database", NEW, "`COMMENT ON DATABASE`",
             run(on_database("COMMENT ON DATABASE %I IS 'mine'"))),
    Mutation("grant_table", NEW, "`GRANT` on a table",
             run("GRANT SELECT ON parent TO PUBLIC")),
    Mutation("revoke_table", NEW, "`REVOKE` on a table",
             run("REVOKE UPDATE ON parent FROM CURRENT_USER")),
    Mutation("grant_schema", NEW, "`GRANT` on a schema",
             run("GRANT CREATE ON SCHEMA public TO PUBLIC")),
    Mutation("revoke_schema", NEW, "`REVOKE` on a schema",
             run("REVOKE USAGE ON SCHEMA public FROM PUBLIC")),
    Mutation("default_privileges", NEW, "`ALTER DEFAULT PRIVILEGES`",
             run("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC")),
    Mutation("policy", NEW, "`CREATE POLICY`",
             run("CREATE POLICY mine ON parent USING (id > 0)")),
    Mutation("row_level_security", NEW, "`ENABLE ROW LEVEL SECURITY`",
             run("ALTER TABLE parent ENABLE ROW LEVEL SECURITY")),
    Mutation("force_row_level_security", NEW, "`FORCE ROW LEVEL SECURITY`",
             run("ALTER TABLE nokey FORCE ROW LEVEL SECURITY")),
    Mutation("disable_trigger", NEW, "`ALTER TABLE … DISABLE TRIGGER`",
             run("ALTER TABLE parent DISABLE TRIGGER parent_touch")),
    Mutation("rule", NEW, "`CREATE RULE`",
             run("CREATE RULE no_delete AS ON DELETE TO nokey DO INSTEAD NOTHING")),
    Mutation("enum_value", NEW, "`ALTER TYPE … ADD VALUE`",
             each("ALTER TYPE mood ADD VALUE 'glad'")),
    Mutation("replace_function", NEW, "`CREATE OR REPLACE FUNCTION` with the same signature",
             run("CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql "
                 "AS 'SELECT 43'")),
    Mutation("view", NEW, "a view created or replaced",
             run("CREATE OR REPLACE VIEW parent_names AS SELECT upper(name) AS name "
                 "FROM parent", "CREATE VIEW more AS SELECT 1 AS one")),
    Mutation("matview_without_data", NEW, "`REFRESH MATERIALIZED VIEW … WITH NO DATA`",
             run("REFRESH MATERIALIZED VIEW parent_count WITH NO DATA")),
    Mutation("extension", NEW, "`CREATE EXTENSION`",
             run("CREATE EXTENSION IF NOT EXISTS citext")),
    Mutation("publication", NEW, "`CREATE PUBLICATION`",
             run("CREATE PUBLICATION corpus FOR TABLE parent")),
    Mutation("statistics", NEW, "`CREATE STATISTICS`",
             run("CREATE STATISTICS nokey_ab ON a, b FROM nokey")),
    Mutation("collation", NEW, "`CREATE COLLATION`",
             run('CREATE COLLATION mine FROM "C"')),
    Mutation("fillfactor", NEW, "`ALTER TABLE … SET (fillfactor = …)`",
             run("ALTER TABLE parent SET (fillfactor = 50)")),
    Mutation("column_default", NEW, "a column default",
             run("ALTER TABLE parent ALTER COLUMN name SET DEFAULT 'anon'")),
    Mutation("column_statistics", NEW, "`ALTER COLUMN … SET STATISTICS`",
             run("ALTER TABLE nokey ALTER COLUMN a SET STATISTICS 500")),
    Mutation("replica_identity", NEW, "`REPLICA IDENTITY`",
             run("ALTER TABLE nokey REPLICA IDENTITY FULL")),
    Mutation("partition_bounds", NEW, "a partition detached and attached with other bounds",
             run("ALTER TABLE measure DETACH PARTITION measure_2027",
                 "ALTER TABLE measure ATTACH PARTITION measure_2027 "
                 "FOR VALUES FROM ('2027-01-01') TO ('2029-01-01')")),
    Mutation("set_logged", NEW, "`ALTER TABLE … SET LOGGED`",
             run("ALTER TABLE scratch SET LOGGED")),
    Mutation("alter_sequence", NEW, "`ALTER SEQUENCE … INCREMENT`",
             run("ALTER SEQUENCE counter INCREMENT BY 10")),
    Mutation("schema_change", NEW, "a table, column or index added, a table renamed",
             run("CREATE TABLE added (x int)", "ALTER TABLE nokey ADD COLUMN c int",
                 "CREATE INDEX parent_name ON parent (name)",
                 "ALTER TABLE feel RENAME TO feelings")),
    Mutation("schema_created", NEW, "a schema created",
             run("CREATE SCHEMA extra", "CREATE TABLE extra.t (x int)")),
    Mutation("security_definer", NEW, "`ALTER FUNCTION … SECURITY DEFINER`",
             run("ALTER FUNCTION answer() SECURITY DEFINER")),
    Mutation("connection_limit", NEW, "`ALTER DATABASE … CONNECTION LIMIT`",
             run(on_database("ALTER DATABASE %I CONNECTION LIMIT 50"))),
    Mutation("event_trigger", NEW, "`CREATE EVENT TRIGGER`",
             both(run("CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql "
                      "AS 'BEGIN END'"),
                  run("CREATE EVENT TRIGGER corpus ON ddl_command_start "
                      "EXECUTE FUNCTION on_ddl()"))),
    Mutation("thread_connection", NEW, "a connection a thread keeps open, writing after the "
             "test", thread_writer),
    Mutation("process_connection", NEW, "a connection a subprocess keeps open, writing after "
             "the test", process_writer),
]

SESSION = """
SELECT 'temporary', count(*)::text FROM pg_class WHERE relpersistence = 't'
UNION ALL SELECT 'setting', string_agg(name || '=' || setting || '/' || source, ', '
                                       ORDER BY name)
  FROM pg_settings WHERE source NOT IN ('default', 'override', 'client')
   AND name <> 'transaction_isolation'  -- the driver's BEGIN ISOLATION LEVEL names the default
UNION ALL SELECT 'isolation', current_setting('transaction_isolation')
UNION ALL SELECT 'prepared statements', count(*)::text FROM pg_prepared_statements
UNION ALL SELECT 'listening', count(*)::text FROM pg_listening_channels()
UNION ALL SELECT 'locks', count(*)::text FROM pg_locks
 WHERE pid = pg_backend_pid() AND locktype = 'advisory'
UNION ALL SELECT 'role', current_user || '/' || session_user
"""
# what pg_dump leaves out of a database
DATABASE_STATE = """
SELECT 'database', format('%s/%s/%s/%s/%s', datdba::regrole, datacl, datconnlimit,
                          datallowconn, datistemplate)
  FROM pg_database WHERE datname = current_database()
UNION ALL SELECT 'comment', coalesce(shobj_description(oid, 'pg_database'), '')
  FROM pg_database WHERE datname = current_database()
UNION ALL SELECT 'settings', coalesce(string_agg(format('%s:%s', s.setrole::regrole,
                                                        s.setconfig), ',' ORDER BY s.setrole),
                                      '')
  FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
 WHERE d.datname = current_database()
UNION ALL SELECT 'prepared transactions', count(*)::text FROM pg_prepared_xacts
 WHERE database = current_database()
"""


class Corpus:
    kind = "postgresql"
    revisions = REVISIONS
    mutations = MUTATIONS

    def look(self, db: Clone) -> dict[str, str]:
        from psycopg.conninfo import make_conninfo

        from toolkit.engines.postgresql import connect_kwargs

        kwargs = {k: v for k, v in connect_kwargs(db.url, db.name).items()
                  if k not in ("autocommit", "application_name")}
        pg_dump = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
        dumped = subprocess.run([pg_dump, "--no-password", make_conninfo(**kwargs)],
                                capture_output=True, text=True, check=True).stdout
        with db.engine.connect() as conn:
            until_gone(lambda: int(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'pg_dump'")).scalar() or 0), 0)
            conn.rollback()
        lines = [line for line in dumped.splitlines() if line and not line.startswith(
            ("--", "\\restrict", "\\unrestrict"))]
        parts = {"dump": normalized("\n".join(sorted_blocks(
            lines, lambda line: line.startswith("COPY "), lambda line: line == "\\.")),
            db.name)}
        with db.engine.connect() as conn:  # the session the test is handed
            for part, value in conn.execute(sa.text(SESSION)):
                parts[f"session {part}"] = str(value)
            for part, value in conn.execute(sa.text(DATABASE_STATE)):
                parts[part] = normalized(str(value), db.name)
            for (view,) in conn.execute(sa.text(
                    "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'm' "
                    "AND relispopulated ORDER BY 1")):
                parts[f"rows of {view}"] = str(conn.execute(sa.text(
                    f"SELECT string_agg(t::text, ',' ORDER BY t::text) FROM {view} t"
                )).scalar())
            conn.rollback()
        return parts


CORPUS = Corpus()
