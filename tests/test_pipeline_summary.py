"""The main job's closing table and report: each step's result and time, where the report is,
and, when a shard fails, the report of what ran so far and the steps that did not run (on a
copy of the example shop, with two shards and a test that fails)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.report_runs import environment
from toolkit import pipeline, report
from toolkit.settings import Settings

ROOT = Path(__file__).parent.parent


def test_a_failing_shard_still_leaves_the_report_and_the_table(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop,
                    ignore=shutil.ignore_patterns(".toolkit", "__pycache__"))
    (shop / "tests" / "integration" / "test_broken.py").write_text(
        "def test_broken(toolkit_db):\n    assert 1 == 2, 'broken on purpose'\n")
    env = {**environment(f"sqlite:///{shop}/.toolkit/toolkit.sqlite"), "TOOLKIT_SHARDS": "2"}
    settings = Settings.load(project_dir=shop, environ=env)
    ran: list[list[str]] = []

    def run(command: list[str]) -> bool:
        ran.append(command)
        return subprocess.run(command, cwd=shop, env=env, capture_output=True).returncode == 0

    said: list[str] = []
    done = pipeline.run(settings, run, report=tmp_path / "out" / "run.html", say=said.append)
    assert done.failed is not None and done.failed.name.startswith("shard ")
    table = said[-1]
    assert f"FAILED at {done.failed.name}" in table
    assert table.endswith(f"report: {tmp_path / 'out' / 'run.html'}")
    assert "ok: built toolkit_tpl_" in table and "ok: 2 tests, 2 passed" in table
    assert [s.ok for s in done.steps][-1] is None  # the durations merge did not run
    assert ["toolkit", "test.durations"] not in [c[:2] for c in ran]
    merged = report.load([shop / ".toolkit" / "pipeline"])
    failing = [t for t in merged.tests if t.outcome == "failed"]
    assert [t.id for t in failing] == ["tests/integration/test_broken.py::test_broken"]
    assert failing[0].reproduce == "python -m pytest 'tests/integration/test_broken.py::test_broken'"
    page = (tmp_path / "out" / "run.html").read_text()
    assert "broken on purpose" in page


def test_the_report_option_is_taken_out_of_the_sessions_arguments() -> None:
    assert pipeline.report_option(["--report", "a.html", "-x", "-k", "orders"]) == (
        Path("a.html"), ["-x", "-k", "orders"])
    assert pipeline.report_option(["--report=b.html"]) == (Path("b.html"), [])
    assert pipeline.report_option(["-x"]) == (None, ["-x"])
