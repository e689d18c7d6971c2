"""When the server under test dies or hangs mid-run, the run says so at once: the test in
flight fails with "server died while running NAME" and the server's log, every test not yet
run is reported as not run (and counted as failed), the run ends within seconds; with
--restart-on-crash the server comes back and the rest run. A chDB worker that dies takes only
its own test down. Every crash here is real: kill -9 / SIGSTOP of the server's process."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from xml.etree import ElementTree as ET

from tests.helpers import toolkit_cli
from toolkit.servers import local
from toolkit.servers.clickhouse import parse_url
from toolkit.servers.watch import process_gone

TESTS = 30


def _project(tmp_path: Path, crash: str) -> Path:
    """30 passing tests, and ``crash.sh`` (the 5th by name) running ``crash`` in the shell."""
    queries = tmp_path / "tests" / "queries"
    queries.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("")
    for i in range(TESTS):
        (queries / f"t{i:02}.sql").write_text(f"SELECT {i};\n")
        (queries / f"t{i:02}.reference").write_text(f"{i}\n")
    script = queries / "t04_crash.sh"
    script.write_text(f"#!/usr/bin/env bash\ndate +%s.%N > {tmp_path}/crashed_at\n{crash}\n"
                      "$TOOLKIT_CLIENT -q 'SELECT 1'\n")
    script.chmod(0o755)
    (queries / "t04_crash.reference").write_text("1\n")
    return tmp_path


def _up(project: Path) -> tuple[str, int]:
    result = toolkit_cli(project, "server.up", "clickhouse")
    assert result.returncode == 0, result.stderr
    state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
    return result.stdout.strip(), state["pid"]


def _down(project: Path, directory: Path | None = None) -> None:
    assert toolkit_cli(project, "server.down").returncode == 0
    if directory is not None:
        assert not directory.exists()


def test_a_server_killed_mid_run_ends_the_run_within_seconds(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    url, pid = _up(project)
    state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
    (project / "tests" / "queries" / "t04_crash.sh").write_text(
        f"#!/usr/bin/env bash\ndate +%s.%N > {project}/crashed_at\nkill -9 {pid}\n"
        "$TOOLKIT_CLIENT -q 'SELECT 1'\n")
    try:
        result = toolkit_cli(project, "refs.run", "--url", url, "--jobs", "2",
                             "--json", "out.json", "--junit", "out.xml")
        ended = time.time()
    finally:
        _down(project, Path(state["directory"]))
    assert result.returncode == 1
    crashed_at = float((project / "crashed_at").read_text())
    assert ended - crashed_at <= 5.0, ended - crashed_at
    out = result.stdout
    assert "FAIL t04_crash: server died while running t04_crash: its process " \
           f"(pid {pid}) exited" in out
    assert "last lines of the server's log:" in out and "server.log" in out
    statuses = {row["name"]: row["status"] for row in json.loads((project / "out.json")
                                                                 .read_text())}
    not_run = sorted(name for name, status in statuses.items() if status == "not run")
    assert not_run and all(f"NOT RUN {name}" in out for name in not_run)
    assert statuses["t29"] == "not run"  # the last by name cannot have started
    closing = out.strip().splitlines()[-1]
    passed = sum(s == "passed" for s in statuses.values())
    assert closing == f"{passed} passed, {TESTS + 1 - passed} failed ({len(not_run)} not run), " \
                      "0 skipped"
    suite = ET.parse(project / "out.xml").getroot()
    assert int(suite.get("failures", "0")) == TESTS + 1 - passed
    marked = [c.get("name") for c in suite.iter("testcase")
              if any(f.get("type") == "not run" for f in c.iter("failure"))]
    assert sorted(marked) == not_run


def test_restart_on_crash_brings_the_server_back_and_runs_the_rest(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    url, pid = _up(project)
    (project / "tests" / "queries" / "t04_crash.sh").write_text(
        f"#!/usr/bin/env bash\nkill -9 {pid}\n")
    try:
        result = toolkit_cli(project, "refs.run", "--url", url, "--jobs", "2",
                             "--restart-on-crash", "--json", "out.json")
        statuses = {r["name"]: r["status"] for r in json.loads((project / "out.json").read_text())}
        assert result.returncode == 1, result.stdout  # the crash still fails the run
        assert "server died while running t04_crash" in result.stdout
        assert "not run" not in statuses.values()
        assert statuses["t29"] == "passed"
        # the restarted server is the one server.up knows, and it answers
        state = json.loads((project / ".toolkit" / "servers" / "clickhouse.json").read_text())
        assert state["pid"] != pid
        assert parse_url(url).query("SELECT 1") == "1\n"
    finally:
        _down(project)


def test_a_hung_server_fails_the_test_at_its_timeout_and_ends_the_run(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    url, pid = _up(project)
    (project / "tests" / "queries" / "t04_crash.sh").write_text(
        f"#!/usr/bin/env bash\nkill -STOP {pid}\n$TOOLKIT_CLIENT -q 'SELECT 1'\n")
    try:
        started = time.monotonic()
        result = toolkit_cli(project, "refs.run", "--url", url, "--jobs", "2", "--timeout", "2")
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
        _down(project)
    assert result.returncode == 1
    assert "server died while running t04_crash: it did not answer SELECT 1 within 3 s" \
        in result.stdout
    assert "NOT RUN t29" in result.stdout
    # the timeout (2 s + the .sh grace), KILL QUERY's wait (5 s) and the check (3 s), not 25
    # more timeouts
    assert took < 30, took


def test_a_server_toolkit_did_not_start_is_watched_by_its_answers(tmp_path: Path) -> None:
    server = local.start("clickhouse")  # not through server.up: no log, no restart
    project = _project(tmp_path / "p", f"kill -9 {server.pid}")
    try:
        result = toolkit_cli(project, "refs.run", "--url", server.url, "--jobs", "2")
        refused = toolkit_cli(project, "refs.run", "--url", server.url, "--restart-on-crash")
    finally:
        server.stop()
    assert result.returncode == 1
    assert "server died while running t04_crash: it did not answer SELECT 1" in result.stdout
    assert "no server log: toolkit did not start the server" in result.stdout
    assert "NOT RUN t29" in result.stdout
    assert refused.returncode == 1
    assert refused.stderr.startswith("toolkit: error: ")  # one line, whatever it checked first


def test_a_dead_chdb_worker_takes_only_its_own_test_down(tmp_path: Path) -> None:
    # the worker is the .sh test's parent: it really dies, mid-test
    project = _project(tmp_path / "p", "kill -9 $PPID")
    result = toolkit_cli(project, "refs.run", "--url", "chdb://", "--jobs", "2",
                         "--json", "out.json")
    assert result.returncode == 1
    assert "FAIL t04_crash:" in result.stdout and "the worker died" in result.stdout
    statuses = {r["name"]: r["status"] for r in json.loads((project / "out.json").read_text())}
    assert [n for n, s in statuses.items() if s != "passed"] == ["t04_crash"]
    assert result.stdout.strip().splitlines()[-1] == f"{TESTS} passed, 1 failed, 0 skipped"


def test_server_up_leaves_no_process_after_down(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    url, pid = _up(project)
    assert toolkit_cli(project, "server.up", "clickhouse").stdout.strip() == url  # reused
    _down(project)
    # gone, or a zombie waiting for an init that does not reap (as in some containers)
    assert process_gone(pid)


# Debian's 18.16 server dereferences NULL in DataTypeNullable::serializeTextEscaped on this
# statement (ClickHouse's own test 00957 is about it): the handler logs the signal, the query
# hangs, and the process exits some 11 s later
CRASHES_18_16 = "SELECT coalesce(toNullable(1), toNullable(2)) AS x, toTypeName(x);\n"


def test_a_statement_that_crashes_the_server_is_reported_at_once(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "")
    queries = project / "tests" / "queries"
    (queries / "t04_crash.sh").unlink()
    (queries / "t04_crash.reference").unlink()
    (queries / "t04_segfault.sql").write_text(CRASHES_18_16)
    (queries / "t04_segfault.reference").write_text("1\tNullable(UInt8)\n")
    up = toolkit_cli(project, "server.up", "clickhouse", "--binary", "/usr/sbin/clickhouse-server")
    assert up.returncode == 0, up.stderr
    try:
        version = parse_url(up.stdout.strip()).query("SELECT version()")
        assert version.startswith("18.16."), f"this crash is 18.16's; the server is {version}"
        started = time.monotonic()
        result = toolkit_cli(project, "refs.run", "--url", up.stdout.strip(), "--jobs", "2")
        took = time.monotonic() - started
    finally:
        _down(project)
    assert result.returncode == 1
    assert "FAIL t04_segfault: server died while running t04_segfault: it crashed: " in \
        result.stdout
    assert "Received signal Segmentation fault (11)" in result.stdout
    assert "DataTypeNullable::serializeTextEscaped" in result.stdout  # the stack, from its log
    assert "NOT RUN t29" in result.stdout
    assert took < 8, took  # its error log says so long before the process exits
