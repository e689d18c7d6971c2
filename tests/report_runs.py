"""Real runs for the report's tests: a pytest run of toolkit_db tests on SQLite (two xdist
workers, every test three times with random settings: a pass, a failure with an assertion
diff, a skip, a FLAKY test) and a reference run with a failing diff, each writing its page and
results with the real flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import clean_env, refs_project, write_project

SEED = 7
TESTS = '''
import pytest


def test_passes(toolkit_db):
    with toolkit_db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO parent (id, name) VALUES (2, 'x')")


def test_fails_with_a_diff(toolkit_db):
    assert "total: 3\\nitems: 2\\n" == "total: 4\\nitems: 2\\n"


def test_is_skipped():
    pytest.skip("not on this engine")


def test_flaky(toolkit_db, toolkit_run):
    assert toolkit_run != 2, "the second run fails"
'''


def environment(url: str) -> dict[str, str]:
    return clean_env({"TOOLKIT_DATABASE_URL": url})


def make_runs(root: Path) -> Path:
    """``root``/runs holding shard.html/.json and references.html/.json; the project in
    ``root``/project."""
    project = write_project(root / "project")
    (project / "test_sample.py").write_text(TESTS)
    refs_project(project, {"00001_ok.sql": "SELECT 1;\n", "00001_ok.reference": "1\n",
                           "00002_diff.sql": "SELECT 1 UNION ALL SELECT 2;\n",
                           "00002_diff.reference": "1\n3\n"})
    runs = root / "runs"
    env = environment(f"sqlite:///{project}/.toolkit/db.sqlite")
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "test_sample.py", "-p", "xdist", "-n", "2",
         "--toolkit-repeat=3", "--toolkit-random-settings", f"--toolkit-seed={SEED}",
         f"--toolkit-report={runs / 'shard.html'}", "-p", "no:cacheprovider"],
        cwd=project, env=env, capture_output=True, text=True)
    assert pytest_run.returncode == 1, pytest_run.stdout[-3000:] + pytest_run.stderr[-2000:]
    assert "4 failed, 5 passed, 3 skipped" in pytest_run.stdout, pytest_run.stdout[-3000:]
    assert f"toolkit: report written to {runs / 'shard.html'}" in pytest_run.stdout
    refs = subprocess.run([sys.executable, "-m", "toolkit", "refs.run",
                           f"--report={runs / 'references.html'}"],
                          cwd=project, env=env, capture_output=True, text=True)
    assert refs.returncode == 1, refs.stdout + refs.stderr
    assert f"report written to {runs / 'references.html'}" in refs.stderr
    return runs
