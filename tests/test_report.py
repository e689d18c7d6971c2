"""`toolkit report`: real runs' results (a pytest run under --toolkit-report, a reference run
under refs.run --report, JUnit XML) merged into one page, what the page holds, and the
commands it prints running as printed. What a browser shows of it: test_report_browser.py."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import toolkit_cli
from tests.report_runs import SEED, environment
from toolkit import report


@pytest.fixture
def runs(report_runs: Path) -> Path:
    return report_runs


def _toolkit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return toolkit_cli(cwd, *args, env={"TOOLKIT_DATABASE_URL": "sqlite:///unused.sqlite"})


def test_each_run_writes_its_page_and_its_results(runs: Path) -> None:
    shard = json.loads((runs / "shard.json").read_text())
    assert shard["toolkit_results"] == report.FORMAT and shard["seed"] == SEED
    assert shard["engine"] == "sqlite"
    outcomes = {t["id"]: t["outcome"] for t in shard["tests"]}
    assert len(outcomes) == 12  # 4 tests x 3 runs
    assert outcomes["test_sample.py::test_flaky[run2]"] == "failed"
    assert outcomes["test_sample.py::test_is_skipped[run1]"] == "skipped"
    assert {t["worker"] for t in shard["tests"]} == {"gw0", "gw1"}
    pooled = [t for t in shard["tests"] if "pool" in t]
    assert len(pooled) == 9 and all(t["pool"]["wait_s"] >= 0 for t in pooled)  # toolkit_db's
    refs = json.loads((runs / "references.json").read_text())
    assert {t["id"]: t["outcome"] for t in refs["tests"]} == {"00001_ok": "passed",
                                                              "00002_diff": "failed"}
    assert all(t["start"] > 0 and t["worker"] for t in refs["tests"])
    for page in ("shard.html", "references.html"):
        assert (runs / page).read_text().startswith("<!DOCTYPE html>")


def test_report_merges_the_runs_into_one_page(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "merged.html"
    done = _toolkit(tmp_path, "report", str(runs / "shard.json"), str(runs / "references.json"),
                    "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"14 tests (6 passed, 5 failed) from 2 run(s): {out}"
    page = out.read_text()
    assert 'data-count="passed"><b>6</b>' in page
    assert 'data-count="flaky"><b>1</b>' in page
    # the FLAKY test is shown once, under FLAKY, with its failing run's seed and draw
    flaky = page.split('id="flaky"', 1)[1].split("</section>", 1)[0]
    assert "test_sample.py::test_flaky" in flaky and "failed 1 of 3 runs" in flaky
    assert f"seed {SEED}" in flaky and "random settings: <code>" in flaky
    failures = page.split('id="failures"', 1)[1].split("</section>", 1)[0]
    assert "test_flaky" not in failures
    assert failures.count('class="failure"') == 4  # 3 runs of the diff test + the reference
    # the diffs, coloured: pytest's assertion diff and the reference's unified diff
    assert re.search(r'<span class="del">E\s+- total: 4</span>', failures)
    assert re.search(r'<span class="add">E\s+\+ total: 3</span>', failures)
    assert '<span class="del">-3</span>\n<span class="add">+2</span>' in failures
    assert "kept database toolkit_cl_" in failures  # toolkit's section: the clone it kept
    assert "Clone pool" in page and "hit rate" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_the_reproduce_commands_run_as_printed(runs: Path) -> None:
    page = report.render(report.load([runs]))
    commands = {html_unescape(c) for c in re.findall(r'<code class="reproduce">(.*?)</code>',
                                                     page)}
    pytest_again = next(c for c in commands if "test_fails_with_a_diff[run1]" in c)
    assert f"--toolkit-seed {SEED}" in pytest_again
    refs_again = next(c for c in commands if "refs.run" in c)
    flaky_again = next(c for c in commands if "test_flaky[run2]" in c)
    project = runs.parent / "project"
    for command, fails in ((pytest_again, True), (refs_again, True), (flaky_again, True)):
        done = subprocess.run(shlex.split(command), cwd=project, text=True,
                              capture_output=True,
                              env=environment(f"sqlite:///{project}/.toolkit/db.sqlite"))
        assert (done.returncode != 0) == fails, (command, done.stdout[-2000:], done.stderr)
        assert "1 failed" in done.stdout + done.stderr


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_junit_xml_from_any_runner_is_read(runs: Path, tmp_path: Path) -> None:
    project = runs.parent / "project"
    junit = tmp_path / "plain.xml"
    subprocess.run([sys.executable, "-m", "pytest", "test_sample.py", f"--junitxml={junit}",
                    "-p", "no:cacheprovider", "-q"], cwd=project, capture_output=True,
                   env=environment(f"sqlite:///{project}/.toolkit/db.sqlite"))
    run = report.load([junit])
    assert report.counts(run.tests)["failed"] == 1
    assert report.counts(run.tests)["skipped"] == 1
    page = report.render(run)
    assert "start times (JUnit XML)" in page  # no timeline without start times, and it says so


def test_a_directory_stands_for_the_files_in_it(runs: Path) -> None:
    run = report.load([runs])
    assert [s.label for s in run.sources] == ["references", "pytest"]


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    done = _toolkit(tmp_path, "report", "missing.json", "-o", "out.html")
    assert done.returncode == 1
    assert done.stderr.strip() == ("toolkit: error: missing.json: no such file or directory "
                                   "(give results files, JUnit XML, timings.json, "
                                   "durations.json or directories holding them)")
    (tmp_path / "notes.json").write_text("{not json")
    done = _toolkit(tmp_path, "report", "notes.json")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("toolkit: error: notes.json: not JSON")
    done = _toolkit(tmp_path, "refs.run", "--report", "out.txt")
    assert done.returncode == 1
    assert done.stderr.strip() == ("toolkit: error: --report out.txt: give the page's path, "
                                   "ending in .html (its data is written beside it as "
                                   "out.json)")
    assert not (tmp_path / "out.html").exists()


def test_past_200_failures_the_rest_are_listed_by_their_first_line() -> None:
    tests = [report.Test(f"t{i:03d}", "failed", 0.1, message=f"boom {i}", detail="- a\n+ b")
             for i in range(250)]
    page = report.render(report.Run([report.Source("big", "pytest", tests=tests)]))
    assert page.count('class="failure"') == report.DETAILED == 200
    assert "50 more failures, by their first line" in page and "t249</span>: boom 249" in page
