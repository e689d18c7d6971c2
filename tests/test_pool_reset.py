"""On PostgreSQL the pool resets a released clone and hands it out again instead of making a
new one, and only when it has proved the clone is as fresh as a new one: every test that gets
a reused clone sees exactly the template — rows, sequences, settings, sessions — whatever the
test before it did; a clone whose schema a test changed is dropped, never handed out; a test
that leaves connections open costs a new clone, not a hang. Also with the Python API."""

from __future__ import annotations

import textwrap

import pytest
import sqlalchemy as sa

from tests.helpers import plugin_project, settings_for, write_project
from toolkit.core import ensure_template
from toolkit.pool import pool

SUITE = """
import pytest
import sqlalchemy as sa

NAMES = []
FRESH = [(1, "seed")]


def fresh(db):
    # what every test must find, however the clone came to it
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, name FROM parent ORDER BY id")).all() == FRESH
        assert conn.execute(sa.text("SELECT count(*) FROM child")).scalar() == 0
        assert conn.execute(sa.text("SELECT nextval('counter')")).scalar() == 1
        assert conn.execute(sa.text("SHOW work_mem")).scalar() == "4MB"
        # advisory locks are the server's: other databases' tests may hold some meanwhile
        assert conn.execute(sa.text("SELECT count(*) FROM pg_locks l JOIN pg_database d "
                                    "ON d.oid = l.database WHERE l.locktype = 'advisory' "
                                    "AND d.datname = current_database()")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements "
                                    "WHERE name = 'mine'")).scalar() == 0
        assert conn.execute(sa.text("SELECT to_regclass('scratch')")).scalar() is None
        assert conn.execute(sa.text("SELECT count(*) FROM pg_class WHERE relname IN "
                                    "('added', 'temp_left')")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM information_schema.columns "
                                    "WHERE column_name = 'extra'")).scalar() == 0
        conn.rollback()


@pytest.mark.parametrize("i", range(12))
def test_change_everything(toolkit_db, i):
    fresh(toolkit_db)
    NAMES.append(toolkit_db.name)
    with toolkit_db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'new')"))
        conn.execute(sa.text("UPDATE parent SET name = 'changed' WHERE id = 1"))
        conn.execute(sa.text("INSERT INTO child (id, parent_id) VALUES (1, 1)"))
        conn.execute(sa.text("SELECT nextval('counter'), nextval('counter')"))
    with toolkit_db.engine.connect() as conn:  # session state, left behind on purpose
        conn.execute(sa.text("CREATE TEMP TABLE temp_left (x int)"))
        conn.execute(sa.text("SET work_mem = '1MB'"))
        conn.execute(sa.text("SELECT pg_advisory_lock(42)"))
        conn.execute(sa.text("PREPARE mine AS SELECT 1"))
        conn.execute(sa.text("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET work_mem = "
                             "''2MB''', current_database()); END $$"))
        conn.commit()
    if i % 4 == 3:  # a schema change: that clone cannot be reset, only dropped
        with toolkit_db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE added (x int)"))
            conn.execute(sa.text("ALTER TABLE parent ADD COLUMN extra int"))
    if i % 4 == 2:  # its session ended: the engine's next one starts with the 2MB default
        with toolkit_db.engine.connect() as conn:
            with pytest.raises(sa.exc.OperationalError):
                conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        with toolkit_db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW work_mem")).scalar() == "2MB"
    if i % 4 == 1:  # a second connection left open: that clone costs a new one
        extra = sa.create_engine(toolkit_db.url)
        extra.connect()


def test_clones_were_reused():
    assert len(set(NAMES)) < len(NAMES), NAMES
"""


def test_reused_clones_hold_nothing_of_the_tests_before(
        pytester: pytest.Pytester, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_project(pytester, monkeypatch, postgres_url, "tpr_")
    from tests.helpers import add_revision
    add_revision(pytester.path, "CREATE SEQUENCE counter")
    monkeypatch.setenv("TOOLKIT_POOL_SIZE", "1")
    pytester.makepyfile(test_reset=textwrap.dedent(SUITE))
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=13)


def test_the_python_api_resets_too(tmp_path, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(write_project(tmp_path / "project"), postgres_url)
    template = ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        first = ready.take()
        with first.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (7, 'x')"))
        ready.release(first)
        names = {first.name}
        for _ in range(4):
            db = ready.take()
            names.add(db.name)
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
            ready.release(db)
        assert ready.stats.recycled >= 1
    assert len(names) < 5  # the same clones came back
