"""Progress on long work: a template build says which revision it is on (n of N) and how long
it took; refs.run shows its passed/failed counts in the bar on a terminal, and plain progress
lines without one."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from tests.helpers import refs_project, run_toolkit, settings_for, write_project
from toolkit.refs import command as refs
from toolkit.refs.report import Reporter

QUERIES = {"00001_a.sql": "SELECT 1;\n", "00001_a.reference": "1\n",
           "00002_b.sql": "SELECT 2;\n", "00002_b.reference": "2\n",
           "00003_c.sql": "SELECT 3;\n", "00003_c.reference": "4\n"}


def test_a_template_build_counts_its_revisions(tmp_path: Path) -> None:
    settings = settings_for(write_project(tmp_path), f"sqlite:///{tmp_path}/t.sqlite")
    built = run_toolkit(settings, "db.template").stderr
    steps = re.findall(r"migrating: (\S*) ?-> (r\d+) \(revision (\d) of (\d), [\d.]+s in\)",
                       built)
    assert steps == [("", "r001", "1", "3"), ("r001", "r002", "2", "3"),
                     ("r002", "r003", "3", "3")]
    assert re.search(r"template \S+ is ready: 3 revision\(s\) in [\d.]+s", built), built


def _run(tmp_path: Path, reporter: Reporter) -> refs.Summary:
    project = refs_project(tmp_path, QUERIES)
    settings = settings_for(project, f"sqlite:///{project}/t.sqlite")
    summary = refs.references(settings, jobs=1, on_start=reporter.start,
                              on_outcome=reporter.outcome)
    reporter.finish(summary.line)
    return summary


def test_without_a_terminal_progress_comes_as_plain_lines(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reporter = Reporter(console=Console(file=io.StringIO()), interval_s=0)
    _run(tmp_path, reporter)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("references:")]
    assert [re.sub(r", [\d.]+s$", "", line) for line in lines] == [
        "references: 1/3 done (1 passed, 0 failed)", "references: 2/3 done (2 passed, 0 failed)",
        "references: 3/3 done (2 passed, 1 failed)"]


def test_on_a_terminal_the_bar_shows_the_counts(tmp_path: Path) -> None:
    screen = io.StringIO()
    reporter = Reporter(console=Console(file=screen, force_terminal=True, width=120))
    _run(tmp_path, reporter)
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "3/3" in drawn and "2 passed, 1 failed" in drawn
