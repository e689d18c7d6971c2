"""A clone is exactly the template, and the template is exactly what the migrations made: per
engine, a project using the features that copies get wrong (WAL, database-level settings and
grants, sql_mode of routines, invisible columns, id 0, history, sequences with a cache,
generated columns, views on views, events, charsets, plus foreign keys, CHECK, partitions,
50k rows), compared template against clone against a database migrated directly."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pymysql
import pytest

from tests.helpers import REVISION, settings_for
from toolkit import core, migrate
from toolkit.engines import close_all, get_engine
from toolkit.engines.mysql import connect_kwargs as mysql_kwargs
from toolkit.engines.mysql import quote
from toolkit.engines.postgresql import connect_kwargs as pg_kwargs
from toolkit.marker import Marker
from toolkit.settings import Settings
from toolkit.urls import parse

# the common "reuse the app's engine" env.py: a module-level engine with the default pool
SQLITE_ENV = '''
import os
from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''
PLAIN_ENV = '''
from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
'''


def _project(root: Path, env: str, revisions: list[list[str]]) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (root / "migrations" / "env.py").write_text(env)
    (root / "pyproject.toml").write_text("")
    down = None
    for i, statements in enumerate(revisions, 1):
        body = textwrap.indent("\n".join(f"op.execute({s!r})" for s in statements), "    ")
        (versions / f"r{i:03d}.py").write_text(REVISION.format(rev=f"r{i:03d}", down=down,
                                                                body=body))
        down = f"r{i:03d}"
    return root


def _direct(settings: Settings, name: str) -> str:
    """A database migrated straight from empty (no template, no clone), for comparison."""
    engine = get_engine(settings)
    engine.create(name, Marker.new("clone", "direct", "direct"))
    migrate.upgrade(settings, engine.database_url(name))
    return name


def _three(settings: Settings) -> tuple[str, str, str]:
    tpl = core.ensure_template(settings)
    clone = core.create_clone(settings, tpl)
    direct = _direct(settings, f"{settings.prefix}direct")
    return tpl.name, clone.name, direct


# --- SQLite -----------------------------------------------------------------------------

SQLITE = [
    ["PRAGMA journal_mode=WAL",
     "CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL "
     "CHECK (length(name) > 0))",
     "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) "
     "ON DELETE CASCADE)"],
    ["WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) "
     "INSERT INTO parent (name) SELECT 'p' || i FROM n",
     "DELETE FROM parent WHERE id > 49990",
     "CREATE VIEW named AS SELECT name FROM parent WHERE id < 10",
     "CREATE TRIGGER log_child AFTER INSERT ON child BEGIN SELECT 1; END",
     "PRAGMA user_version = 42"],
]


def _sqlite_facts(path: str) -> tuple[object, ...]:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        objects = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall()
        rows = hashlib.sha256(repr(conn.execute(
            "SELECT * FROM parent ORDER BY id").fetchall()).encode()).hexdigest()
        return (objects, conn.execute("PRAGMA user_version").fetchone(), rows,
                conn.execute("SELECT * FROM sqlite_sequence").fetchall())
    finally:
        conn.close()


def test_sqlite_wal_migrations_and_env_py_pool(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", SQLITE_ENV, SQLITE)
    settings = settings_for(root, f"sqlite:///{tmp_path}/dbs/x.sqlite")
    names = _three(settings)
    engine = get_engine(settings)
    facts = [_sqlite_facts(str(engine.database_url(n).database)) for n in names]
    assert facts[0][1] == (42,), "the template lost what the WAL file held"
    assert facts[0] == facts[1] == facts[2]


# --- PostgreSQL --------------------------------------------------------------------------

PG = [
    ["CREATE SCHEMA app",
     "CREATE TABLE app.parent (id serial PRIMARY KEY, name text NOT NULL CHECK (name <> ''))",
     "CREATE TABLE app.child (id bigserial PRIMARY KEY, parent_id int REFERENCES app.parent "
     "ON DELETE CASCADE)",
     "CREATE TABLE app.events (at date NOT NULL, what text) PARTITION BY RANGE (at)",
     "CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') "
     "TO ('2025-01-01')",
     "CREATE SEQUENCE app.tickets START 100",
     'CREATE TABLE app."odd ""name""" (x int)'],
    ["INSERT INTO app.parent (name) SELECT 'p' || i FROM generate_series(1, 50000) i",
     "DELETE FROM app.parent WHERE id > 49990",
     "SELECT nextval('app.tickets'), nextval('app.tickets')",
     "INSERT INTO app.events VALUES ('2024-02-29', 'leap')",
     "CREATE VIEW app.named AS SELECT name FROM app.parent WHERE id < 10",
     "DO $$ BEGIN "
     "EXECUTE format('ALTER DATABASE %I SET search_path = app, public', current_database()); "
     "EXECUTE format('ALTER DATABASE %I SET statement_timeout = 12345', current_database()); "
     "EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 50', current_database()); "
     "EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); "
     "EXECUTE format('COMMENT ON DATABASE %I IS ''the shop''', current_database()); "
     "END $$"],
]


def _pg_facts(url: str, name: str) -> tuple[object, ...]:
    u = parse(url)
    host = u.query.get("host") or u.host or "127.0.0.1"
    dump = subprocess.run(["/usr/lib/postgresql/15/bin/pg_dump", "--no-owner", "-h", str(host),
                           "-p", str(u.port or 5432), "-U", u.username or "postgres", name],
                          capture_output=True, text=True, check=True).stdout
    # comments, and the random key of psql's \\restrict guard, differ between any two dumps
    dump = "\n".join(ln for ln in dump.splitlines()
                     if not ln.startswith(("--", "\\restrict", "\\unrestrict")))
    with psycopg.connect(**pg_kwargs(parse(url), name)) as conn:
        database = conn.execute(
            "SELECT datconnlimit, array(SELECT (a.grantee, a.privilege_type) FROM "
            "aclexplode(datacl) a WHERE a.grantee <> datdba ORDER BY 1), "
            "shobj_description(oid, 'pg_database'), "
            "(SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = d.oid) "
            "FROM pg_database d WHERE datname = current_database()").fetchone()
        # resolves unqualified through the database's own search_path
        unqualified = conn.execute("SELECT count(*) FROM parent").fetchone()
        nextval = conn.execute("SELECT nextval('app.tickets')").fetchone()
    return hashlib.sha256(dump.encode()).hexdigest(), database, unqualified, nextval


def test_postgresql_database_level_state(project: Path, postgres_url: str,
                                         tmp_path: Path) -> None:
    root = _project(tmp_path / "p", PLAIN_ENV, PG)
    settings = settings_for(root, postgres_url)
    names = _three(settings)
    close_all()
    facts = [_pg_facts(postgres_url, n) for n in names]
    assert facts[0][1][0] == 50 and facts[0][1][2] == "the shop"
    assert facts[0][2] == (49990,)
    assert facts[0] == facts[1] == facts[2]
    for name in names:
        core.drop(settings, name)


# --- MariaDB -----------------------------------------------------------------------------

MARIADB = [
    ["ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci",
     "CREATE TABLE parent (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL "
     "COMMENT 'shown to people', "
     "secret INT INVISIBLE DEFAULT 0, CHECK (name <> ''))",
     "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY (parent_id) "
     "REFERENCES parent (id) ON DELETE CASCADE)",
     "CREATE TABLE priced (id INT PRIMARY KEY, net INT, gross INT AS (net * 2) STORED, "
     "half INT AS (net DIV 2) VIRTUAL)",
     "CREATE TABLE audited (id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING",
     "CREATE SEQUENCE tickets START WITH 100 CACHE 1000",
     "CREATE TABLE `odd ``name``` (x INT)",
     "CREATE TABLE parted (id INT, at DATE) PARTITION BY RANGE (YEAR(at)) "
     "(PARTITION p2024 VALUES LESS THAN (2025), PARTITION pmax VALUES LESS THAN MAXVALUE)",
     "CREATE TABLE notes (body TEXT, FULLTEXT (body))"],
    ["INSERT INTO parent (name, secret) SELECT CONCAT('p', seq), 42 FROM seq_1_to_50000",
     "DELETE FROM parent WHERE id > 49990",
     "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
     "INSERT INTO parent (id, name, secret) VALUES (0, 'zero', 7)",
     "INSERT INTO priced (id, net) VALUES (1, 10), (2, 21)",
     "INSERT INTO audited VALUES (1, 1)",
     "UPDATE audited SET v = 2 WHERE id = 1",
     "SELECT NEXTVAL(tickets), NEXTVAL(tickets), NEXTVAL(tickets)",
     "INSERT INTO parted VALUES (1, '2024-02-29')",
     "SET SESSION sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')",
     "CREATE FUNCTION joined() RETURNS VARCHAR(10) DETERMINISTIC RETURN 'a' || 'b'",
     "CREATE PROCEDURE touch() SELECT 'x' || 'y'",
     # a view on a view whose names sort the wrong way round
     "CREATE VIEW z_base AS SELECT name FROM parent WHERE id < 10",
     "CREATE VIEW a_top AS SELECT name FROM z_base",
     "CREATE TRIGGER child_in BEFORE INSERT ON child FOR EACH ROW SET NEW.id = NEW.id",
     "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM notes"],
]


def _mariadb_facts(url: str, name: str) -> tuple[object, ...]:
    conn = pymysql.connect(**mysql_kwargs(parse(url), name))  # type: ignore[arg-type]
    try:
        with conn.cursor() as cur:
            def one(query: str) -> object:
                cur.execute(query)
                return cur.fetchall()

            shown = []
            for table, kind in one("SHOW FULL TABLES"):  # type: ignore[union-attr]
                row = one(f"SHOW CREATE {'VIEW' if kind == 'VIEW' else 'TABLE'} {quote(table)}")
                shown.append(str(row[0][1]).replace(f"{quote(name)}.", ""))  # type: ignore[index]
            for what in ("FUNCTION joined", "PROCEDURE touch", "TRIGGER child_in",
                         "EVENT nightly"):
                row = one(f"SHOW CREATE {what}")[0]  # type: ignore[index]
                shown.append((row[1], row[3] if what.startswith("EVENT") else row[2]))
            return (
                one("SELECT default_character_set_name, default_collation_name FROM "
                    "information_schema.schemata WHERE schema_name = DATABASE()"),
                shown,
                one("SELECT joined()"),
                one("SELECT id, name, secret FROM parent WHERE id IN (0, 1, 49990) ORDER BY id"),
                one("SELECT count(*), sum(secret) FROM parent"),
                one("SELECT auto_increment FROM information_schema.tables WHERE "
                    "table_schema = DATABASE() AND table_name = 'parent'"),
                one("SELECT id, net, gross, half FROM priced ORDER BY id"),
                one("SELECT v FROM audited FOR SYSTEM_TIME ALL ORDER BY v"),
                one("SELECT * FROM a_top ORDER BY name LIMIT 3"),
                one("SELECT NEXTVAL(tickets)"),
            )
    finally:
        conn.close()


def _unstarted(facts: tuple[object, ...]) -> str:
    return re.sub(r"STARTS '[^']*'", "STARTS <creation time>", repr(facts))


def test_mariadb_objects_rows_and_state(mysql_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p", PLAIN_ENV, MARIADB)
    settings = settings_for(root, mysql_url)
    names = _three(settings)
    close_all()
    facts = [_mariadb_facts(mysql_url, n) for n in names]
    template = facts[0]
    assert template[0] == (("latin1", "latin1_swedish_ci"),)
    assert template[2] == (("ab",),)
    assert template[3][0] == (0, "zero", 7) and template[3][1][2] == 42
    assert template[7] == ((1,), (2,)), "history"
    assert facts[0][:9] == facts[1][:9]  # the clone is the template, event start time and all
    # a database migrated directly made its event later: its default STARTS is its own time
    assert _unstarted(facts[0][:9]) == _unstarted(facts[2][:9])
    # a sequence's next value: the clone gives what the template gives; a database migrated
    # directly gives that only while MariaDB still caches the sequence (after a table-cache
    # eviction it jumps to the end of the cache, 1100), so either is the direct one's truth
    assert template[9] == facts[1][9] == ((103,),)
    assert facts[2][9] in (((103,),), ((1100,),))
    for name in names:
        core.drop(settings, name)


@pytest.fixture(autouse=True)
def _close() -> None:
    yield
    close_all()


NAMES_ITSELF = '''
from alembic import op
import sqlalchemy as sa

revision = "r002"
down_revision = "r001"
branch_labels = None
depends_on = None


def upgrade():
    db = op.get_bind().execute(sa.text("SELECT DATABASE()")).scalar()
    op.execute(f"CREATE PROCEDURE report() SELECT count(*) FROM `{db}`.parent")
'''


def test_mariadb_refuses_a_clone_it_cannot_make_exactly(mysql_url: str, tmp_path: Path) -> None:
    root = _project(tmp_path / "p", PLAIN_ENV, [["CREATE TABLE parent (id INT PRIMARY KEY)"]])
    (root / "migrations" / "versions" / "r002.py").write_text(NAMES_ITSELF)
    settings = settings_for(root, mysql_url)
    result = subprocess.run([sys.executable, "-m", "toolkit", "db.clone"], cwd=root,
                            capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items()
                                    if not k.startswith("TOOLKIT_")},
                                 "TOOLKIT_DATABASE_URL": settings.database_url,
                                 "TOOLKIT_PREFIX": settings.prefix})
    assert result.returncode == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("toolkit: error:")]
    assert len(lines) == 1 and "cannot clone template" in lines[0], result.stderr
    assert result.stderr.strip().splitlines()[-1] == lines[0]
    assert "PROCEDURE `report`" in lines[0] and "names its own database" in lines[0]
    assert not [e for e in core.status(settings) if "_cl_" in e.name], "no half-made clone"
