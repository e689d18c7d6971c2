"""On SQLite the pool hands a released clone out again, its file made a fresh copy of the
template in place: every test that gets a reused clone sees exactly the template (rows,
tables, the file's header settings, its journal mode) whatever the test before it did; a
clone the test left a connection open on is dropped, never handed out; a process killed at
any point of a refresh leaves only what db.gc collects. Also with the Python API."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import plugin_project, settings_for, write_project
from tests.test_crash_points import _leftovers, _walk
from toolkit import core
from toolkit.pool import pool
from toolkit.settings import Settings

SUITE = """
import sqlite3

import pytest
import sqlalchemy as sa

NAMES = []
LEFT_OPEN = {}  # a connection kept past its test, by clone name


def fresh(db):
    # what every test must find, however the clone came to it
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, name FROM parent ORDER BY id")).all() == \\
            [(1, "seed")]
        assert conn.execute(sa.text("SELECT count(*) FROM child")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM sqlite_master WHERE name IN "
                                    "('added', 'idx_added')")).scalar() == 0
        assert conn.execute(sa.text("PRAGMA user_version")).scalar() == 0
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "delete"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM sqlite_temp_master")).scalar() == 0


@pytest.mark.parametrize("i", range(12))
def test_change_everything(toolkit_db, i):
    fresh(toolkit_db)
    assert toolkit_db.name not in LEFT_OPEN  # a clone left open is never handed out again
    NAMES.append(toolkit_db.name)
    with toolkit_db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'new')"))
        conn.execute(sa.text("UPDATE parent SET name = 'changed' WHERE id = 1"))
        conn.execute(sa.text("INSERT INTO child (id, parent_id) VALUES (1, 1)"))
        conn.execute(sa.text("CREATE TABLE added (x INTEGER)"))
        conn.execute(sa.text("CREATE INDEX idx_added ON added (x)"))
        conn.execute(sa.text("PRAGMA user_version = 7"))
    with toolkit_db.engine.connect() as conn:  # the connection's state, left on purpose
        conn.execute(sa.text("CREATE TEMP TABLE temp_left (x INTEGER)"))
        conn.execute(sa.text("PRAGMA foreign_keys = OFF"))
        conn.commit()
    if i % 3 == 1:  # a WAL, and its index, beside the file
        with toolkit_db.engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode = WAL")).scalar() == "wal"
            conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (3, 'wal')"))
            conn.commit()
    if i % 3 == 2:  # a connection kept open past the test: that clone costs a new one
        LEFT_OPEN[toolkit_db.name] = sqlite3.connect(toolkit_db.url.database)


def test_clones_were_reused():
    assert len(set(NAMES)) < len(NAMES), NAMES
"""


def test_reused_clones_hold_nothing_of_the_tests_before(
        pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_project(pytester, monkeypatch, f"sqlite:///{tmp_path}/dbs/toolkit.sqlite")
    monkeypatch.setenv("TOOLKIT_POOL_SIZE", "1")
    pytester.makepyfile(test_refresh=textwrap.dedent(SUITE))
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=13)
    left = [p.name for p in (tmp_path / "dbs").iterdir() if "_cl_" in p.name]
    assert left == []  # nothing of the clones outlives the run


def _sqlite(tmp_path: Path) -> Settings:
    return settings_for(write_project(tmp_path / "project"),
                        f"sqlite:///{tmp_path}/dbs/toolkit.sqlite")


def test_the_python_api_refreshes_too(tmp_path: Path) -> None:
    settings = _sqlite(tmp_path)
    with pool(settings, core.ensure_template(settings), size=1) as ready:
        names = set()
        for i in range(5):
            db = ready.take()
            names.add(db.name)
            with db.engine.begin() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
                conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (:i, 'x')"),
                             {"i": 10 + i})
            ready.release(db)
        assert ready.stats.recycled >= 1
        assert len(names) < 5


KILLED = """
import sys, time
import sqlalchemy as sa
from toolkit import core
from toolkit.pool import pool
from toolkit.settings import Settings

settings = Settings.load()
with pool(settings, core.find_template(settings, sys.argv[1]), size=1) as ready:
    for i in range(3):
        db = ready.take()
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (:i, 'x')"), {"i": 10 + i})
            conn.execute(sa.text("PRAGMA journal_mode = WAL"))
        ready.release(db)
    deadline = time.monotonic() + 30
    while ready.stats.recycled < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # the pool's thread refreshing the released clones, bounded
    assert ready.stats.recycled >= 2, ready.stats
"""


def test_kill_anywhere_in_a_refresh_leaves_only_what_gc_collects(tmp_path: Path) -> None:
    settings = _sqlite(tmp_path)
    template = core.ensure_template(settings)

    def after_kill(point: str) -> None:
        core.gc(settings)
        assert _leftovers(settings, keep={template.name}) == [], point

    points = _walk(settings, ["-c", KILLED, template.name], after_kill)
    assert {"sqlite.refresh.cleared", "sqlite.refresh.written"} <= set(points), points
    assert _leftovers(settings, keep={template.name}) == []  # the run that completed
