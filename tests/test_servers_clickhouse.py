"""A private ClickHouse server from the binary under test: TOOLKIT_SERVER_BINARY or --binary
is the one started, with a generated config on 127.0.0.1 and free ports; a binary that is no
server, or a server that never answers, is one line with nothing left running; pytest gets one
with --toolkit-server local:clickhouse."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import pytest

from tests.helpers import toolkit_cli
from toolkit.servers import clickhouse
from toolkit.servers.clickhouse import parse_url

ROOT = Path(__file__).parent.parent
pytest_plugins = ["pytester"]


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "p"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    return project


def _server_dirs() -> set[str]:
    return set(glob.glob("/dev/shm/toolkit-clickhouse-*"))


def test_the_binary_under_test_is_the_one_started(tmp_path: Path) -> None:
    project = _project(tmp_path)
    real = clickhouse.find_binary()
    used = tmp_path / "used"
    wrapper = tmp_path / "bin" / "clickhouse-server"
    wrapper.parent.mkdir()
    wrapper.write_text(f"#!/bin/sh\necho \"$@\" > {used}\nexec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    for how in ({"env": {"TOOLKIT_SERVER_BINARY": str(wrapper)}, "args": []},
                {"env": {"TOOLKIT_SERVER_BINARY": "/nonexistent"}, "args": ["--binary", str(wrapper)]}):
        used.unlink(missing_ok=True)
        result = toolkit_cli(project, "server.up", "clickhouse", *how["args"], env=how["env"])
        try:
            assert result.returncode == 0, result.stderr
            url = result.stdout.strip()
            endpoint = parse_url(url)
            assert endpoint.host == "127.0.0.1"
            assert endpoint.query("SELECT 1") == "1\n"
            assert used.read_text().startswith("--config-file=/dev/shm/toolkit-clickhouse-")
        finally:
            assert toolkit_cli(project, "server.down", "--kind", "clickhouse").returncode == 0


def test_a_binary_that_is_no_clickhouse_server_is_one_line(tmp_path: Path) -> None:
    before = _server_dirs()
    result = toolkit_cli(_project(tmp_path), "server.up", "clickhouse", "--binary", "/bin/true")
    assert result.returncode == 1
    assert result.stderr.startswith("toolkit: error: /bin/true did not start a ClickHouse "
                                    "server: ")
    assert "exit code 0" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _server_dirs() == before
    missing = toolkit_cli(_project(tmp_path / "x"), "server.up", "clickhouse",
                          env={"TOOLKIT_SERVER_BINARY": "/nonexistent/clickhouse"})
    assert missing.stderr.strip() == (
        "toolkit: error: TOOLKIT_SERVER_BINARY=/nonexistent/clickhouse: no executable file "
        "there (give the path of a ClickHouse server binary: clickhouse or clickhouse-server)")


def test_a_server_that_never_answers_is_reported_with_its_log_tail(tmp_path: Path) -> None:
    hangs = tmp_path / "clickhouse-server"
    hangs.write_text("#!/bin/sh\necho 'booting, never listening'\nexec sleep 600\n")
    hangs.chmod(0o755)
    before = _server_dirs()
    result = toolkit_cli(_project(tmp_path), "server.up", "clickhouse", "--binary", str(hangs),
                         env={"TOOLKIT_SERVER_READY_TIMEOUT_S": "2"})
    assert result.returncode == 1
    assert "not ready after 2s" in result.stderr
    assert "last log lines: booting, never listening" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _server_dirs() == before
    left = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True)
    assert not left.stdout.strip()


def test_a_binary_for_another_kind_is_one_line(tmp_path: Path) -> None:
    result = toolkit_cli(_project(tmp_path), "server.up", "postgres", "--binary", "/bin/true")
    assert result.returncode == 1
    assert "--binary (TOOLKIT_SERVER_BINARY) is the ClickHouse server under test" in result.stderr


def test_the_image_carries_the_config_a_private_server_gets() -> None:
    image = ROOT / "images" / "clickhouse"
    expected = clickhouse.config_xml(Path("/var/lib/toolkit-clickhouse"), 8123, 9000,
                                     "0.0.0.0", console=True)
    assert (image / "config.xml").read_text() == expected
    assert (image / "users.xml").read_text() == clickhouse.USERS_XML


def test_pytest_gets_a_clickhouse_server_for_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("")
    pytester.makepyfile(test_server="""
        from toolkit.servers.clickhouse import parse_url

        def test_it_answers(toolkit_server):
            assert toolkit_server.startswith("clickhouse://default@127.0.0.1:")
            assert parse_url(toolkit_server).query("SELECT 40 + 2") == "42\\n"
    """)
    before = _server_dirs()
    result = pytester.runpytest_subprocess("--toolkit-server", "local:clickhouse")
    result.assert_outcomes(passed=1)
    assert _server_dirs() == before
