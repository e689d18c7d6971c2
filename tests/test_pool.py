"""A pool of ready clones, on every engine: taking one is a hand-over (created, marked, a
connection open), an empty pool makes the test wait and never fail, nothing of a pool outlives
it, a kill -9 with a full pool leaves only what db.gc collects, a template rebuilt meanwhile
does not touch a live pool, and pytest uses it by default (with --toolkit-timings)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import add_revision, plugin_project
from toolkit import core
from toolkit.pool import pool
from toolkit.settings import Settings


def _clones(settings: Settings) -> list[str]:
    return [e.name for e in core.status(settings)
            if (e.marker or e.interrupted) and (e.marker or e.interrupted).kind == "clone"]  # type: ignore[union-attr]


def _until(condition, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)  # polling the pool's own state, bounded above


def test_taking_a_ready_clone_is_a_hand_over(settings: Settings) -> None:
    template = core.ensure_template(settings)
    with pool(settings, template, size=2) as ready:
        _until(lambda: len(ready.ready) == 2)
        first = ready.take()
        assert ready.stats.takes[-1].hit
        assert first.name in _clones(settings)  # created and marked before it was asked for
        assert first.engine.pool.checkedin() == 1  # a connection already open
        with first.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'x')"))
        ready.release(first)
        second = ready.take()
        assert second.name != first.name
        with second.engine.connect() as conn:  # fresh: the first test's row is not here
            assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
        ready.release(second)
    assert _clones(settings) == []


def test_an_empty_pool_makes_the_test_wait_never_fail(settings: Settings) -> None:
    template = core.ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        taken = [ready.take() for _ in range(4)]  # more than the pool holds, none released
        assert len({db.name for db in taken}) == 4
        assert not all(t.hit for t in ready.stats.takes)  # some of them waited
        for db in taken:
            ready.release(db)
    assert _clones(settings) == []


def test_a_kept_clone_survives_the_pool(settings: Settings) -> None:
    template = core.ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        db = ready.take()
        db.keep = True
        ready.release(db)
    assert _clones(settings) == [db.name]
    core.drop(settings, db.name)


HOLDER = """
import sys, time
from pathlib import Path
from toolkit import core
from toolkit.pool import pool
from toolkit.settings import Settings
settings = Settings.load(project_dir=Path(sys.argv[1]), environ={{}}, database_url={url!r},
                         prefix={prefix!r})
with pool(settings, core.ensure_template(settings), size=3) as ready:
    deadline = time.monotonic() + 60
    while len(ready.ready) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the pool to fill, bounded
    print(len(ready.ready), flush=True)
    sys.stdin.read()  # held until the test kills this process
"""


def test_kill_9_with_a_full_pool_leaves_only_what_gc_collects(settings: Settings,
                                                              project: Path) -> None:
    core.ensure_template(settings)
    script = HOLDER.format(url=settings.database_url, prefix=settings.prefix)
    proc = subprocess.Popen([sys.executable, "-c", script, str(project)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "3"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(_clones(settings)) >= 3  # the ready ones (and whatever was being made)
    assert len(core.gc(settings)) >= 3
    assert _clones(settings) == []


def test_a_template_rebuilt_meanwhile_leaves_a_live_pool_alone(settings: Settings,
                                                               project: Path) -> None:
    old = core.ensure_template(settings)
    with pool(settings, old, size=1) as ready:
        add_revision(project, "CREATE TABLE later (id INTEGER PRIMARY KEY)")
        new = core.ensure_template(settings)
        assert new.name != old.name
        core.gc(settings)  # the old template is in use by this process: it stays
        db = ready.take()
        assert db.template.name == old.name
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
        ready.release(db)
        with pool(settings, new, size=1) as newer:
            fresh = newer.take()
            assert fresh.template.name == new.name
            newer.release(fresh)
    assert _clones(settings) == []


SUITE = """
import sqlalchemy as sa

def test_{n}(toolkit_db):
    with toolkit_db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'x')"))
"""


@pytest.mark.parametrize("args", [[], ["-n", "2", "-p", "xdist"]], ids=["serial", "xdist"])
def test_pytest_takes_from_a_pool_and_reports_timings(
        pytester: pytest.Pytester, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        args: list[str]) -> None:
    plugin_project(pytester, monkeypatch, settings.database_url, settings.prefix)
    pytester.makepyfile(**{f"test_{n}": textwrap.dedent(SUITE.format(n=n)) for n in range(6)})
    result = pytester.runpytest_subprocess("--toolkit-timings", *args)
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*toolkit: clone timings*", "*pool hit rate: */6 (*%)*"])
    assert (pytester.path / ".toolkit" / "timings.json").is_file()
    left = Settings.load(project_dir=pytester.path, environ={},
                         database_url=settings.database_url, prefix=settings.prefix)
    assert _clones(left) == []
    unpooled = pytester.runpytest_subprocess("--toolkit-no-pool", *args)
    unpooled.assert_outcomes(passed=6)
