"""The reference runner on PostgreSQL and MariaDB gives each test a database of its own from
each worker's pool: tests that make the same table never meet, a PostgreSQL database is reset
and reused only when the reset is proved complete (what it cannot undo is dropped instead),
a kept database of a failed test is named, and nothing of the pools outlives the run — after a
timeout kills a worker, or after a kill -9 of the whole run and `toolkit db.gc`."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import refs_project, toolkit_cli, write_project


def _databases(url: str, prefix: str) -> list[str]:
    engine = sa.create_engine(url)
    query = ("SELECT datname FROM pg_database" if url.startswith("postgresql")
             else "SHOW DATABASES")
    with engine.connect() as conn:
        # toolkit's own marker store ({prefix}meta) stays, as for every clone
        names = [r[0] for r in conn.execute(sa.text(query))
                 if r[0].startswith(prefix) and r[0] != f"{prefix}meta"]
    engine.dispose()
    return names


def _env(prefix: str) -> dict[str, str]:
    return {"TOOLKIT_PREFIX": prefix}


def _prefix() -> str:
    return f"t{secrets.token_hex(3)}_"


@pytest.fixture(params=["postgres_url", "mysql_url"])
def server(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


def test_each_test_has_a_database_of_its_own(tmp_path: Path, server: str) -> None:
    files: dict[str, str | bytes] = {}
    for i in range(6):  # the same table in every test: any sharing fails one of them
        files[f"same_{i}.sql"] = ("CREATE TABLE t (x int);\nINSERT INTO t VALUES (1), (2);\n"
                                  "SELECT sum(x) FROM t;\n")
        files[f"same_{i}.reference"] = "3\n"
    files["named.sh"] = "#!/usr/bin/env bash\necho \"$TOOLKIT_DATABASE\"\n"
    files["named.reference"] = "default\n"  # its name is printed as default, like ClickHouse's
    root = refs_project(tmp_path, files)
    prefix = _prefix()
    result = toolkit_cli(root, "refs.run", "--url", server, "--repeat", "8", "--jobs", "2",
                         env=_env(prefix))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "7 passed, 0 failed, 0 skipped"
    assert _databases(server, prefix) == []  # pools, clones and the blank base: all gone


POLLUTER = """SET search_path = public;
CREATE TABLE leak (x int);
INSERT INTO leak VALUES (1);
CREATE SCHEMA other;
CREATE TABLE other.z (y int);
CREATE SEQUENCE s;
SELECT nextval('s');
CREATE TYPE mood AS ENUM ('ok');
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TEMP TABLE temp_left (x int);
COMMENT ON SCHEMA public IS 'changed';
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SELECT lo_create(4242) > 0;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem = %L', current_database(), '1MB');
END $$;
SET work_mem = '2MB';
PREPARE p AS SELECT 1;
SELECT pg_advisory_lock(42);
"""
PROBE = """SELECT count(*) FROM pg_class WHERE oid >= 16384;
SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
 WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema';
SELECT count(*) FROM pg_proc WHERE oid >= 16384;
SELECT count(*) FROM pg_type WHERE oid >= 16384;
SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm';
SELECT count(*) FROM pg_largeobject_metadata;
SELECT obj_description('public'::regnamespace, 'pg_namespace');
SELECT has_schema_privilege('public', 'public', 'USAGE');
SHOW work_mem;
SELECT count(*) FROM pg_prepared_statements;
SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
 WHERE l.locktype = 'advisory' AND d.datname = current_database();
SELECT datconnlimit FROM pg_database WHERE datname = current_database();
SELECT count(*) FROM pg_event_trigger;
"""
PROBE_SH = """#!/usr/bin/env bash
set -euo pipefail
# a new connection: database-level settings would show here
echo "SHOW work_mem;" | eval "$TOOLKIT_CLIENT"
"""
CLEAN = "0\npublic\n0\n0\n0\n0\nstandard public schema\nt\n4MB\n0\n0\n-1\n0\n"


def test_a_reset_database_holds_nothing_of_the_test_before(tmp_path: Path,
                                                           postgres_url: str) -> None:
    files: dict[str, str | bytes] = {
        "polluter.sql": POLLUTER, "polluter.reference": "1\nt\n\n",
        "probe.sql": PROBE, "probe.reference": CLEAN,
        "probe_sh.sh": PROBE_SH, "probe_sh.reference": "4MB\n"}
    root = refs_project(tmp_path, files)
    # one worker, its few databases reused over and over, in an order that puts probes after
    # polluters (and polluters after polluters)
    result = toolkit_cli(root, "refs.run", "--url", postgres_url, "--jobs", "1",
                         "--repeat", "12", "--order", "random", "--seed", "7",
                         env=_env(_prefix()))
    assert result.returncode == 0, result.stdout + result.stderr


UNDOABLE = """DO $$ BEGIN EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 7',
current_database()); END $$;
CREATE FUNCTION noop() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN END $f$;
CREATE EVENT TRIGGER stays ON ddl_command_start EXECUTE FUNCTION noop();
SELECT 1;
"""


def test_what_a_reset_cannot_undo_is_dropped_not_reused(tmp_path: Path,
                                                         postgres_url: str) -> None:
    root = refs_project(tmp_path, {"undoable.sql": UNDOABLE, "undoable.reference": "1\n",
                                   "probe.sql": PROBE, "probe.reference": CLEAN})
    result = toolkit_cli(root, "refs.run", "--url", postgres_url, "--jobs", "1",
                         "--repeat", "10", "--order", "random", "--seed", "3",
                         env=_env(_prefix()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_failed_tests_kept_database_is_named_and_gc_removes_it(tmp_path: Path,
                                                                  server: str) -> None:
    root = refs_project(tmp_path, {"kept.sql": "CREATE TABLE evidence (x int);\nSELECT 1;\n",
                                   "kept.reference": "2\n"})
    prefix = _prefix()
    result = toolkit_cli(root, "refs.run", "--url", server, "--no-drop-if-fail",
                         env=_env(prefix))
    assert result.returncode == 1
    (kept,) = _databases(server, prefix)
    assert f"(kept: database {kept})" in result.stdout
    engine = sa.create_engine(sa.make_url(server).set(database=kept))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM evidence")).scalar() == 0
    engine.dispose()
    gc = toolkit_cli(root, "db.gc", env={**_env(prefix), "TOOLKIT_DATABASE_URL": server})
    assert gc.returncode == 0, gc.stderr
    assert _databases(server, prefix) == []


@pytest.mark.parametrize(("server", "query"), [("postgres_url", "SELECT pg_sleep(30);"),
                                               ("mysql_url", "SELECT SLEEP(30);")])
def test_a_timeout_drops_the_killed_workers_pool(tmp_path: Path, server: str, query: str,
                                                 request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue(server))
    root = refs_project(tmp_path, {"slow.sql": f"{query}\n", "slow.reference": "\n",
                                   "fine.sql": "SELECT 1;\n", "fine.reference": "1\n"})
    prefix = _prefix()
    result = toolkit_cli(root, "refs.run", "--url", url, "--timeout", "1", "--jobs", "1",
                         env=_env(prefix))
    assert "timeout after 1s" in result.stdout
    assert "1 passed, 1 failed" in result.stdout
    assert _databases(url, prefix) == []


@pytest.mark.parametrize("migrations", [False, True])
def test_kill_9_of_a_run_with_full_pools_then_gc_leaves_nothing(tmp_path: Path, server: str,
                                                                migrations: bool) -> None:
    sleep = "SELECT pg_sleep(60);" if server.startswith("postgresql") else "SELECT SLEEP(60);"
    root = refs_project(tmp_path, {f"slow_{i}.sql": f"{sleep}\n" for i in range(4)})
    if migrations:  # a template: the runner clones it for each test
        write_project(root)
    prefix = _prefix()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    run = subprocess.Popen([sys.executable, "-m", "toolkit", "refs.run", "--url", server,
                            "--jobs", "2"], cwd=root, env={**env, **_env(prefix)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        # the template (or blank base) and both workers' full pools, a test in each: on
        # PostgreSQL the one database each worker resets and reuses, on MariaDB one in use and
        # two ready; without migrations MariaDB has no pool, each test's database is made
        # when it starts (marked as its worker's like a clone)
        full = 3 if server.startswith("postgresql") else 7 if migrations else 2
        deadline = time.monotonic() + 60
        while len(_databases(server, prefix)) < full and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_databases(server, prefix)) >= full, _databases(server, prefix)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    gc = toolkit_cli(root, "db.gc", env={**_env(prefix), "TOOLKIT_DATABASE_URL": server})
    assert gc.returncode == 0, gc.stderr
    # the template stays (it is built once for every run): nothing else does
    assert [d for d in _databases(server, prefix) if "_tpl_" not in d] == [], gc.stdout
