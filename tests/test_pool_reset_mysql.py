"""On MariaDB the pool resets a released clone and hands it out again when it has proved the
clone as fresh as a new one — rows, AUTO_INCREMENT values, sequences, definitions, sessions —
and drops it otherwise, in the pytest plugin and the Python API. toolkit's own session on a
clone has no default database: a test never finds it among its database's sessions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import add_revision, plugin_project, settings_for, write_project
from toolkit.core import ensure_template
from toolkit.pool import pool

SUITE = """
import pytest
import sqlalchemy as sa

NAMES = []


def fresh(db):
    # what every test must find, however the clone came to it
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, name FROM parent ORDER BY id")).all() == [
            (1, "seed")]
        assert conn.execute(sa.text("SELECT COUNT(*) FROM child")).scalar() == 0
        assert conn.execute(sa.text("SELECT NEXTVAL(counter)")).scalar() == 1
        conn.execute(sa.text("INSERT INTO numbered (note) VALUES ('x')"))
        assert conn.execute(sa.text("SELECT LAST_INSERT_ID()")).scalar() == 1
        assert conn.execute(sa.text("SELECT @@SESSION.sort_buffer_size = "
                                    "@@GLOBAL.sort_buffer_size")).scalar() == 1
        assert conn.execute(sa.text("SELECT IS_USED_LOCK('toolkit_test')")).scalar() is None
        assert conn.execute(sa.text("SELECT COUNT(*) FROM information_schema.processlist "
                                    "WHERE db = DATABASE()")).scalar() == 1  # this one
        assert conn.execute(sa.text("SELECT COUNT(*) FROM information_schema.tables WHERE "
                                    "table_schema = DATABASE() AND table_name = 'added'"
                                    )).scalar() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM information_schema.columns WHERE "
                                    "table_schema = DATABASE() AND column_name = 'extra'"
                                    )).scalar() == 0
        conn.rollback()


@pytest.mark.parametrize("i", range(12))
def test_change_everything(toolkit_db, i):
    fresh(toolkit_db)
    NAMES.append(toolkit_db.name)
    with toolkit_db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'new')"))
        conn.execute(sa.text("UPDATE parent SET name = 'changed' WHERE id = 1"))
        conn.execute(sa.text("INSERT INTO child (id, parent_id) VALUES (1, 1)"))
        conn.execute(sa.text("INSERT INTO numbered (note) VALUES ('y'), ('z')"))
        conn.execute(sa.text("SELECT NEXTVAL(counter)"))
    with toolkit_db.engine.connect() as conn:  # session state, left behind on purpose
        conn.execute(sa.text("CREATE TEMPORARY TABLE temp_left (x int)"))
        conn.execute(sa.text("SET SESSION sort_buffer_size = 65536"))
        conn.execute(sa.text("SELECT GET_LOCK('toolkit_test', 0)"))
        conn.commit()
    if i % 4 == 3:  # a schema change: that clone cannot be reset, only dropped
        with toolkit_db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE added (x int)"))
            conn.execute(sa.text("ALTER TABLE parent ADD COLUMN extra int"))
    if i % 4 == 1:  # a connection left open: that clone costs a new one
        extra = sa.create_engine(toolkit_db.url)
        extra.connect()


def test_clones_were_reused():
    assert len(set(NAMES)) < len(NAMES), NAMES
"""


def _project_revisions(root: Path) -> None:
    add_revision(root, "CREATE SEQUENCE counter")
    add_revision(root, "CREATE TABLE numbered (id INT AUTO_INCREMENT PRIMARY KEY, "
                       "note VARCHAR(10))")


def test_reused_clones_hold_nothing_of_the_tests_before(
        pytester: pytest.Pytester, mysql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_project(pytester, monkeypatch, mysql_url, "tmr_")
    _project_revisions(pytester.path)
    monkeypatch.setenv("TOOLKIT_POOL_SIZE", "1")
    pytester.makepyfile(test_reset=textwrap.dedent(SUITE))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=13)


def test_the_python_api_resets_too(tmp_path: Path, mysql_url: str) -> None:
    settings = settings_for(write_project(tmp_path / "project"), mysql_url)
    template = ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        names = set()
        for _ in range(5):
            db = ready.take()
            names.add(db.name)
            with db.engine.begin() as conn:
                assert conn.execute(sa.text("SELECT COUNT(*) FROM parent")).scalar() == 1
                conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (7, 'x')"))
            ready.release(db)
        assert ready.stats.recycled >= 1
    assert len(names) < 5  # the same clones came back
