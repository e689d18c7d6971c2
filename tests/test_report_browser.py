"""The report in a real browser (headless Chromium): what a person sees once the page's script
has run — the counts, a failing test's diff, a FLAKY test's reproduce command, the timeline's
rows, the table and its filter — that the page asks the network for nothing, and a
screenshot of the example pipeline's report, kept in build/artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import browser
from tests.report_runs import SEED, environment
from toolkit import pipeline, report
from toolkit.settings import Settings

ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(os.environ.get("TOOLKIT_TEST_ARTIFACTS", ROOT / "build" / "artifacts"))


@pytest.fixture
def page(report_runs: Path, tmp_path: Path) -> Path:
    out = tmp_path / "merged.html"
    report.render_to(report.load([report_runs / "shard.json", report_runs / "references.json"]),
                     out)
    return out


def _count(dom: str, name: str) -> int:
    found = re.search(rf'data-count="{name}"><b>(\d+)</b>', dom)
    assert found, name
    return int(found.group(1))


def test_what_a_person_sees(page: Path, tmp_path: Path) -> None:
    dom = browser.dom(page.as_uri(), tmp_path / "profile")
    assert (_count(dom, "passed"), _count(dom, "failed"), _count(dom, "flaky")) == (6, 5, 1)
    # the table the script drew: every test, and says so
    assert dom.count('<tr class="row ') == 14 and "14 of 14 tests" in dom
    # the timeline: a row per worker of each run, a bar per test
    lanes = re.findall(r'<g class="lane" data-lane="([^"]+)"', dom)
    assert {"pytest · gw0", "pytest · gw1"} <= set(lanes)
    assert any(lane.startswith("references · worker") for lane in lanes)
    assert len(re.findall(r'<rect [^>]*class="o-', dom)) == 14
    # a failing reference's diff, coloured
    failures = dom.split('id="failures"', 1)[1].split("</section>", 1)[0]
    assert '<span class="del">-3</span>' in failures
    assert '<span class="add">+2</span>' in failures
    # a FLAKY test's failing run, with the command that runs it again
    flaky = dom.split('id="flaky"', 1)[1].split("</section>", 1)[0]
    reproduce = re.findall(r'<code class="reproduce">([^<]+)</code>', flaky)
    assert reproduce == [f"python -m pytest 'test_sample.py::test_flaky[run2]' "
                         f"--toolkit-random-settings --toolkit-seed {SEED} --toolkit-repeat 3"]


def test_the_filter_shows_one_outcome(page: Path, tmp_path: Path) -> None:
    dom = browser.dom(f"{page.as_uri()}#outcome=failed", tmp_path / "profile")
    rows = re.findall(r'<tr class="row ([a-z-]+)">', dom)
    assert rows == ["failed"] * 5 and "5 of 14 tests" in dom


def test_the_page_makes_no_network_request(page: Path, tmp_path: Path) -> None:
    netlog = tmp_path / "page.json"
    browser.dom(page.as_uri(), tmp_path / "profile", netlog)
    assert browser.page_requests(netlog) == []
    # the check sees a request when a page makes one (this page has no policy against it)
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://127.0.0.1:9/pixel.png"></body></html>')
    browser.dom(control.as_uri(), tmp_path / "profile", tmp_path / "control.json")
    assert browser.page_requests(tmp_path / "control.json") == ["http://127.0.0.1:9/pixel.png"]


def test_a_screenshot_of_the_example_pipelines_report(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop,
                    ignore=shutil.ignore_patterns(".toolkit", "__pycache__"))
    env = environment(f"sqlite:///{shop}/.toolkit/toolkit.sqlite")
    env["TOOLKIT_SHARDS"] = "2"
    settings = Settings.load(project_dir=shop, environ=env)

    def run(command: list[str]) -> bool:
        return subprocess.run(command, cwd=shop, env=env, capture_output=True).returncode == 0

    said: list[str] = []
    done = pipeline.run(settings, run, say=said.append)
    assert done.failed is None and done.report == shop / ".toolkit" / "report.html"
    assert said[-1].endswith(f"report: {done.report}")
    dom = browser.dom(done.report.as_uri(), tmp_path / "profile")
    runs = re.findall(r"<tr><td>(references|shard \d/\d)</td><td>sqlite</td>", dom)
    assert runs == ["references", "shard 1/2", "shard 2/2"]
    assert _count(dom, "failed") == 0 and _count(dom, "passed") == 13
    shot = browser.screenshot(done.report.as_uri(), ARTIFACTS / "report.png",
                              tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
