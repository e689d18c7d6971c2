"""pytest --toolkit-repeat N on every engine: each test runs N times, each run in a clone and
with a draw of its own (concurrently under xdist); a test whose runs disagree is reported
FLAKY with its failing runs' draws and the command that replays one; --toolkit-budget starts
no test once the budget is spent."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.test_plugin_random_settings import reads_a_default
from toolkit.settings import Settings

SUITE = '''
import sqlalchemy as sa


def test_reads_a_default(toolkit_db):
    with toolkit_db.engine.connect() as conn:
        assert str(conn.execute(sa.text({query!r})).scalar()) == {default!r}

def test_correct(toolkit_db, toolkit_run):
    with toolkit_db.engine.begin() as conn:  # every run finds the template, nothing of another
        assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 1
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'b')"))
        assert conn.execute(sa.text("SELECT count(*) FROM parent")).scalar() == 2
'''


@pytest.fixture
def suite(pytester: pytest.Pytester, settings: Settings, monkeypatch: pytest.MonkeyPatch
          ) -> pytest.Pytester:
    return reads_a_default(pytester, settings, monkeypatch, SUITE)


@pytest.mark.parametrize("xdist", [[], ["-n", "2", "-p", "xdist"]], ids=["serial", "xdist"])
def test_repeated_runs_of_a_test_that_reads_a_default_are_flaky(
        suite: pytest.Pytester, xdist: list[str]) -> None:
    plain = suite.runpytest_subprocess("--toolkit-repeat", "3", "-v", *xdist)
    plain.assert_outcomes(passed=6)
    assert "test_suite.py::test_correct[run3]" in plain.stdout.str()
    result = suite.runpytest_subprocess("--toolkit-repeat", "12", "--toolkit-random-settings",
                                        "--toolkit-seed", "3", *xdist)
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    assert 1 <= outcomes["failed"] < 12, out  # some draws keep the default, some do not
    assert outcomes["passed"] == 24 - outcomes["failed"]
    assert f"FLAKY test_suite.py::test_reads_a_default: failed {outcomes['failed']} of 12 runs" \
        in out
    assert "FLAKY test_suite.py::test_correct" not in out
    line = re.search(r"^  test_suite\.py::test_reads_a_default\[run\d+\] \(call\) "
                     r"\[random settings: .+\]: .+$", out, re.M)
    assert line, out
    command = re.search(r"reproduce: (python -m pytest .*)$", out, re.M).group(1)  # type: ignore[union-attr]
    assert "--toolkit-repeat 12" in command
    again = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                            *shlex.split(command)[3:]], cwd=suite.path, capture_output=True,
                           text=True)
    assert again.returncode == 1 and "1 failed" in again.stdout, again.stdout


def test_the_budget_skips_what_would_start_after_it(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_slow='''
import time

def test_slow(toolkit_run):
    time.sleep(0.2)  # a test body that takes time, not a wait on a race
''')
    result = suite.runpytest_subprocess("test_slow.py", "--toolkit-repeat", "40",
                                        "--toolkit-budget", "1", "-rs")
    outcomes = result.parseoutcomes()
    assert 2 <= outcomes["passed"] < 40 and outcomes["passed"] + outcomes["skipped"] == 40
    assert "toolkit: the budget of 1s was spent before this test started" in result.stdout.str()


@pytest.mark.parametrize("args, message", [
    (["--toolkit-repeat", "0"], "toolkit: --toolkit-repeat must be 1 or more, got 0"),
    (["--toolkit-budget", "-3"], "toolkit: --toolkit-budget must be more than 0, got -3"),
])
def test_bad_values_are_one_line(suite: pytest.Pytester, args: list[str], message: str) -> None:
    result = suite.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str()
