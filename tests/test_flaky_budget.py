"""test.flaky's time budget: no run starts after it, the runs not started count for nothing
(neither failed nor passed), and the command says how many tests it did not start."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.helpers import toolkit_cli
from tests.test_flaky_corpus import git

SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)\n"
        "SELECT count(*) FROM c;\n")


def test_runs_not_started_within_the_budget_are_said_and_not_failed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests" / "queries").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    git(project, "init", "-q", "-b", "main")
    git(project, "commit", "-q", "--allow-empty", "-m", "base")
    for i in range(12):  # each run a few hundred ms of real work
        (project / "tests" / "queries" / f"slow_{i:02d}.sql").write_text(SLOW)
        (project / "tests" / "queries" / f"slow_{i:02d}.reference").write_text("1500000\n")
    started = time.monotonic()
    result = toolkit_cli(project, "test.flaky", "--budget", "2", "--seed", "1",
                         env={"TOOLKIT_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed since " in result.stdout  # the untracked tests count as changed
    assert re.search(r"^test\.flaky: \d+ of 240 reference test runs not started within the "
                     r"budget \(raise --budget\)$", result.stdout, re.M), result.stdout
    assert "test.flaky: no flaky or failing test" in result.stdout
    assert elapsed < 20, elapsed  # 240 runs would take over a minute on two cores
