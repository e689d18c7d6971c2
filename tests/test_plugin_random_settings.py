"""pytest --toolkit-random-settings on every engine: each test's clone gets its own draw, a test
that reads a default fails with the draw and the command that reproduces it, a correct test
and a marked one never do, and every xdist worker draws from one seed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.helpers import plugin_project
from toolkit.settings import Settings

READS = {  # what a test may wrongly assume: the engine's default of a setting toolkit draws
    "sqlite": ("PRAGMA cache_size", "-2000"),
    "postgresql": ("SHOW work_mem", "4MB"),
    "mysql": ("SELECT @@SESSION.join_buffer_size", "262144"),
}
SUITE = '''
import pytest
import sqlalchemy as sa

@pytest.mark.parametrize("i", range(8))
def test_reads_a_default(toolkit_db, i):
    with toolkit_db.engine.connect() as conn:
        assert str(conn.execute(sa.text({query!r})).scalar()) == {default!r}

@pytest.mark.toolkit_no_random_settings
@pytest.mark.parametrize("i", range(4))
def test_marked(toolkit_db, i):
    with toolkit_db.engine.connect() as conn:
        assert str(conn.execute(sa.text({query!r})).scalar()) == {default!r}

@pytest.mark.parametrize("i", range(4))
def test_correct(toolkit_db, i):
    with toolkit_db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (3, 'c'), (2, 'b')"))
        rows = conn.execute(sa.text("SELECT id FROM parent ORDER BY id")).scalars().all()
    assert rows == [1, 2, 3]
'''


def reads_a_default(pytester: pytest.Pytester, settings: Settings,
                    monkeypatch: pytest.MonkeyPatch, suite: str) -> pytest.Pytester:
    """A plugin project with ``suite`` as test_suite.py, {query} and {default} filled in with
    the engine's setting read and its default."""
    plugin_project(pytester, monkeypatch, settings.database_url, settings.prefix)
    engine = {"sqli": "sqlite", "post": "postgresql"}.get(settings.database_url[:4], "mysql")
    query, default = READS[engine]
    pytester.makepyfile(test_suite=suite.format(query=query, default=default))
    return pytester


@pytest.fixture
def suite(pytester: pytest.Pytester, settings: Settings, monkeypatch: pytest.MonkeyPatch
          ) -> pytest.Pytester:
    return reads_a_default(pytester, settings, monkeypatch, SUITE)


@pytest.mark.parametrize("xdist", [[], ["-n", "2", "-p", "xdist"]], ids=["serial", "xdist"])
def test_a_test_reading_a_default_fails_with_its_draw_and_a_correct_one_never(
        suite: pytest.Pytester, xdist: list[str]) -> None:
    plain = suite.runpytest_subprocess(*xdist)
    plain.assert_outcomes(passed=16)  # without random settings every assumption holds
    result = suite.runpytest_subprocess("--toolkit-random-settings", "--toolkit-seed", "5",
                                        "-rf", *xdist)
    outcomes = result.parseoutcomes()
    assert 1 <= outcomes.get("failed", 0) <= 8, result.stdout.str()
    assert outcomes["passed"] == 16 - outcomes["failed"]
    out = result.stdout.str()
    assert "toolkit: random settings, seed 5" in out or xdist  # the header (controller's)
    assert "FAILED test_suite.py::test_reads_a_default" in out
    assert "test_marked" not in out.split("short test summary")[-1]
    assert "test_correct" not in out.split("short test summary")[-1]
    command = re.search(r"reproduce: (python -m pytest .*)$", out, re.M).group(1)  # type: ignore[union-attr]
    args = shlex.split(command)[3:]
    again = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                           cwd=suite.path, capture_output=True, text=True)
    assert again.returncode == 1, again.stdout  # the same draw fails the same test again


ORDER_DEPENDENT = '''
SEEN = []

def test_a_writes():
    SEEN.append("a")

def test_b_needs_a_first():
    assert SEEN == ["a"]
'''


def test_random_order_exposes_a_test_that_needs_the_one_before_it(
        pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("")
    pytester.makepyfile(test_order=ORDER_DEPENDENT)
    pytester.runpytest_subprocess().assert_outcomes(passed=2)
    failed = []
    for seed in range(6):  # b runs first in about half the shuffles
        result = pytester.runpytest_subprocess("--toolkit-order", "random", "--toolkit-seed",
                                               str(seed))
        if result.ret:
            failed.append(seed)
            result.stdout.fnmatch_lines([f"toolkit: random order, seed {seed}*"])
    assert failed, "no shuffle ran b before a"
    again = pytester.runpytest_subprocess("--toolkit-order", "random", "--toolkit-seed",
                                          str(failed[0]))
    again.assert_outcomes(passed=1, failed=1)  # the seed repeats the order
