"""toolkit test.flaky on a change that adds the deliberately flaky corpus (tests/flaky_corpus):
on every engine it flags each flaky reference test (a missing ORDER BY, a setting's default
read, a .sh race) and the order-dependent pytest test, and none of the correct ones."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import toolkit_cli, write_project

CORPUS = Path(__file__).parent / "flaky_corpus"
FLAKY = {  # the corpus's flaky reference tests each engine runs (the others are tagged out)
    "sqlite": {"missing_order_by_join", "reads_a_default_sqlite", "race"},
    "postgresql": {"missing_order_by_group", "reads_a_default_postgresql", "race"},
    "mysql": {"missing_order_by_limit", "reads_a_default_mysql", "race"},
    "clickhouse": {"missing_order_by_group", "reads_a_default_clickhouse"},
}
GOOD = {"ordered", "waits"}


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=project,
                   check=True, capture_output=True)


def changed_project(root: Path, url: str, pytest_files: bool) -> Path:
    """A project on branch main, and a branch adding the corpus with references recorded on
    ``url`` (the defaults a test's author saw)."""
    project = write_project(root)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "base")
    git(project, "checkout", "-q", "-b", "change")
    shutil.copytree(CORPUS / "queries", project / "tests" / "queries")
    if pytest_files:
        shutil.copytree(CORPUS / "integration", project / "tests" / "integration")
    recorded = toolkit_cli(project, "refs.record", env={"TOOLKIT_DATABASE_URL": url})
    assert recorded.returncode in (0, 1), recorded.stderr
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "add tests")
    return project


def test_the_corpus_is_flagged_and_the_good_tests_are_not(tmp_path: Path, refs_url: str
                                                          ) -> None:
    engine = {"chdb": "clickhouse", "sqli": "sqlite", "post": "postgresql"}.get(refs_url[:4],
                                                                               "mysql")
    pytest_files = engine != "clickhouse"  # toolkit_db clones SQL databases
    project = changed_project(tmp_path / "project", refs_url, pytest_files)
    result = toolkit_cli(project, "test.flaky", env={"TOOLKIT_DATABASE_URL": refs_url})
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"^test\.flaky: 10 reference test\(s\) x 20 runs and "
                     rf"{2 if pytest_files else 0} test file\(s\) x 5 runs, changed since "
                     r"[0-9a-f]{12} \(the merge base\); seed \d+, budget 600s$", out, re.M), out
    flagged = set(re.findall(r"^(?:FLAKY|FAIL) (\w+):", out, re.M))
    assert flagged == FLAKY[engine], out
    assert not flagged & GOOD
    assert re.search(r"toolkit: error: flaky or failing tests \(see above\); `toolkit "
                     r"test\.flaky --seed \d+` repeats these draws and orders", result.stderr)
    if pytest_files:
        # flagged: FLAKY when some shuffle put it right after the test it depends on, failed
        # in every run when none did (it passes in file order)
        dependent = "tests/integration/test_order_dependent.py::" \
                    "test_reads_what_the_previous_test_left"
        failed = re.findall(rf"^FAILED {re.escape(dependent)}\[run\d\]", out, re.M)
        assert f"FLAKY {dependent}: failed " in out or len(failed) == 5, out
        assert "FAILED tests/integration/test_independent.py" not in out
        assert "FAILED tests/integration/test_order_dependent.py::test_leaves_a_customer" \
            not in out


@pytest.mark.parametrize("args, message", [
    (["--runs", "0"], "toolkit: error: --runs 0: give a number of runs from 1"),
    (["--base", "nosuchref"], "toolkit: error: git rev-parse --verify --quiet "
                              "nosuchref^{commit} failed in"),
    (["--budget", "soon"], "toolkit: error: --budget takes a number, not 'soon'"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    project = changed_project(tmp_path / "project", f"sqlite:///{tmp_path}/x.sqlite", False)
    result = toolkit_cli(project, "test.flaky", *args)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_default_branch_says_to_pass_a_base(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")
    git(project, "init", "-q", "-b", "work")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "base")
    result = toolkit_cli(project, "test.flaky")
    assert result.returncode == 1
    assert "no default branch to compare with" in result.stderr
    assert result.stderr.strip().endswith("pass --base REF"), result.stderr


def test_nothing_changed_is_nothing_to_check(tmp_path: Path) -> None:
    project = changed_project(tmp_path / "project", f"sqlite:///{tmp_path}/x.sqlite", False)
    result = toolkit_cli(project, "test.flaky", "--base", "HEAD", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("test.flaky: no reference tests or integration test files "
                                     "changed since HEAD: nothing to check")
