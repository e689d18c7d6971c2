"""A reference run whose server under test dies (a real kill -9 of a local ClickHouse server)
shows it in its report: the test in flight failed with the server's last log lines, in the
page's server section, and the tests that could not run are counted as not run."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import toolkit_cli
from tests.test_refs_server_death import TESTS, _down, _project, _up
from toolkit import report


def test_the_report_shows_the_dead_servers_log(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    url, pid = _up(project)
    state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
    (project / "tests" / "queries" / "t04_crash.sh").write_text(
        f"#!/usr/bin/env bash\nkill -9 {pid}\n$TOOLKIT_CLIENT -q 'SELECT 1'\n")
    try:
        result = toolkit_cli(project, "refs.run", "--url", url, "--jobs", "2",
                             "--report", "out.html")
    finally:
        _down(project, Path(state["directory"]))
    assert result.returncode == 1
    run = report.load([project / "out.json"])
    found = report.counts(run.tests)
    assert found["not run"] > 0 and sum(found.values()) == TESTS + 1
    page = (project / "out.html").read_text()
    servers = page.split('id="servers"', 1)[1].split("</section>", 1)[0]
    assert "t04_crash: server died while running t04_crash" in servers
    assert "last lines of the server&#x27;s log:" in servers and "server.log" in servers
    assert f'data-count="not run"><b>{found["not run"]}</b>' in page
