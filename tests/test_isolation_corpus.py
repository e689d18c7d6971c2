"""A reused clone never carries a test's changes: the isolation corpus (tests/isolation) runs
every way a test can change its database through ``toolkit_db``, on each engine, one test
after the other on one pool; each test first compares the clone it got with a fresh clone of
the template (the whole dump, plus what a dump leaves out). No change may reach a later test,
and each change ends as the README's table says: reset and handed out again, or dropped for a
new clone — a corpus whose clones were all dropped would prove nothing."""

from __future__ import annotations

import importlib
import os
import re
import textwrap
from pathlib import Path

import pytest

from tests.helpers import plugin_project
from tests.isolation import harness

ROOT = Path(__file__).parent.parent
MODULES = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql"}
LEAST = {"sqlite": 15, "postgresql": 40, "mysql": 30}  # mutations each corpus covers


def _url(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path}/dbs/toolkit.sqlite"
    return str(request.getfixturevalue("postgres_url" if engine == "postgresql" else "mysql_url"))


@pytest.mark.parametrize("engine", list(MODULES))
def test_no_change_reaches_a_later_test(engine: str, pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch,
                                        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    corpus = importlib.import_module(f"tests.isolation.{MODULES[engine]}").CORPUS
    assert len(corpus.mutations) >= LEAST[engine]
    plugin_project(pytester, monkeypatch, _url(engine, request, tmp_path), "tic_",
                   corpus.revisions)
    records = tmp_path / "records.jsonl"
    monkeypatch.setenv("TOOLKIT_CORPUS_RECORDS", str(records))
    monkeypatch.setenv("TOOLKIT_POOL_SIZE", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_corpus=textwrap.dedent(harness.SUITE.format(
        module=MODULES[engine])))
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--toolkit-timings")
    found = harness.read(records)
    leaks = {r["step"]: r["leak"] for r in found if r["leak"]}
    assert not leaks, "\n".join(f"after {step}: {leak}" for step, leak in leaks.items())
    result.assert_outcomes(passed=len(harness.steps(corpus)))
    # which mutation's clone each step got, in order: a leak names the change before it
    outcome = harness.outcomes(found)
    wrong = {m.name: f"expected {m.expect}, was {outcome[m.name]}" for m in corpus.mutations
             if outcome[m.name] != m.expect}
    assert not wrong, wrong
    reuse = re.search(r"reused clones: (\d+)/(\d+)", result.stdout.str())
    assert reuse and int(reuse[1]) > 0, result.stdout.str()[-2000:]
    print(f"{engine}: {len(corpus.mutations)} changes, {reuse[0]}")  # shown with -s
    if engine == "sqlite":
        assert [p.name for p in (tmp_path / "dbs").iterdir() if "_cl_" in p.name] == []


def test_the_readme_table_is_the_corpus() -> None:
    readme = (ROOT / "README.md").read_text()
    for module in MODULES.values():
        corpus = importlib.import_module(f"tests.isolation.{module}").CORPUS
        assert harness.table(corpus) in readme, f"README: the {corpus.kind} table differs from " \
            f"the corpus; print it with python -m tests.isolation {corpus.kind}"
