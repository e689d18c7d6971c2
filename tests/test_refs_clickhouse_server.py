"""Reference tests against a real ClickHouse server (clickhouse://HOST:PORT, its HTTP interface):
the repository's ClickHouse tests pass on it, output is byte for byte what clickhouse-client
--multiquery prints, a SET lasts for its test only, errors match by code and by name, .sh tests
get the real clickhouse-client, --setting reaches every test, a test over its timeout is killed
on the server, and bad URLs are one line each."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import refs_project, toolkit_cli
from toolkit.servers.clickhouse import Endpoint, parse_url

ROOT = Path(__file__).parent.parent


def _client(endpoint: Endpoint) -> list[str]:
    client = shutil.which("clickhouse-client")
    assert client, "clickhouse-client is installed with the server (inv test installs both)"
    return [client, "--host", endpoint.host, "--port", str(endpoint.tcp_port)]


def test_the_repository_clickhouse_tests_pass_on_the_server(tmp_path: Path,
                                                            clickhouse_url: str) -> None:
    project = tmp_path / "p"
    shutil.copytree(ROOT / "tests" / "queries", project / "tests" / "queries")
    (project / "pyproject.toml").write_text("")
    result = toolkit_cli(project, "refs.record", "--check", "--url", clickhouse_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


SAME_AS_CLIENT = {
    "types.sql": "SELECT 1 + 1, 'a\\tb', NULL, [1, 2], (1, 'x'), toDate('2024-02-29'), "
                 "0.1, -1e20, toNullable('n'), 'quote\\'s', 'back\\\\slash';\n",
    "several.sql": "CREATE TABLE t (k UInt32, v String) ENGINE = Memory;\n"
                   "INSERT INTO t VALUES (2, 'b'), (1, 'a\\nb');\n"
                   "SELECT * FROM t ORDER BY k;\nSELECT count() FROM t WHERE 0;\n"
                   "SELECT k FROM t ORDER BY k FORMAT CSV;\n"
                   "SELECT groupArray(v) FROM (SELECT v FROM t ORDER BY k);\n",
    "empty_and_formats.sql": "SELECT number FROM system.numbers LIMIT 0;\n"
                             "SELECT number, toString(number) AS s FROM system.numbers LIMIT 3 "
                             "FORMAT TabSeparatedWithNames;\nSELECT 'x' FORMAT JSONEachRow;\n",
}


def test_output_is_byte_for_byte_what_clickhouse_client_prints(tmp_path: Path,
                                                               clickhouse_url: str) -> None:
    project = refs_project(tmp_path, SAME_AS_CLIENT)
    recorded = toolkit_cli(project, "refs.record", "--url", clickhouse_url)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    endpoint = parse_url(clickhouse_url)
    for name in SAME_AS_CLIENT:
        sql = project / "tests" / "queries" / name
        database = f"client_{sql.stem}"
        endpoint.query(f"CREATE DATABASE {database}")
        try:
            printed = subprocess.run([*_client(endpoint), "--database", database,
                                      "--multiquery"], stdin=sql.open("rb"),
                                     capture_output=True, check=True).stdout
        finally:
            endpoint.query(f"DROP DATABASE {database}")
        assert printed == sql.with_suffix(".reference").read_bytes(), name
        assert printed  # a comparison of two empty outputs would prove nothing


def test_a_set_lasts_for_its_test_and_never_reaches_the_next(tmp_path: Path,
                                                             clickhouse_url: str) -> None:
    changed = "SELECT changed FROM system.settings WHERE name = 'max_block_size';\n"
    project = refs_project(tmp_path, {
        "a_sets.sql": f"SET max_block_size = 77;\n{changed}SELECT 'still';\n{changed}",
        "a_sets.reference": "1\nstill\n1\n",
        "b_after.sql": changed, "b_after.reference": "0\n",
        "c_after.sql": changed, "c_after.reference": "0\n"})
    # one worker: the three run one after another on the same connection
    result = toolkit_cli(project, "refs.run", "--url", clickhouse_url, "--jobs", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("3 passed, 0 failed, 0 skipped")


def test_errors_match_by_code_and_by_name_and_an_unexpected_one_names_its_code(
        tmp_path: Path, clickhouse_url: str) -> None:
    project = refs_project(tmp_path, {
        "by_code.sql": "SELECT * FROM nosuch; -- { serverError 60 }\nSELECT 1;\n",
        "by_code.reference": "1\n",
        "by_name.sql": "SELECT * FROM nosuch; -- { serverError UNKNOWN_TABLE }\nSELECT 2;\n",
        "by_name.reference": "2\n",
        "unexpected.sql": "SELECT 3;\nSELECT * FROM nosuch;\n",
        "unexpected.reference": "3\n",
        "wrong_code.sql": "SELECT * FROM nosuch; -- { serverError SYNTAX_ERROR }\n",
        "wrong_code.reference": ""})
    result = toolkit_cli(project, "refs.run", "--url", clickhouse_url)
    assert result.returncode == 1
    assert "2 passed, 2 failed" in result.stdout
    assert "unexpected.sql:2: unexpected error Code: 60" in result.stdout
    assert "wrong_code.sql:1: expected serverError SYNTAX_ERROR, got Code: 60" in result.stdout


def test_sh_tests_get_the_real_client_on_their_own_database(tmp_path: Path,
                                                           clickhouse_url: str) -> None:
    project = refs_project(tmp_path, {
        "client.sh": "#!/usr/bin/env bash\nset -euo pipefail\n"
                     "$TOOLKIT_CLIENT -q 'CREATE TABLE t (x UInt8) ENGINE = Memory'\n"
                     # an 18.16 client reads everything after INSERT … VALUES as its data
                     "echo 'INSERT INTO t VALUES (7)' | $TOOLKIT_CLIENT --multiquery\n"
                     "echo 'SELECT x, currentDatabase() FROM t;' | $TOOLKIT_CLIENT --multiquery\n"
                     "$TOOLKIT_CLIENT -q \"SELECT 'client' LIKE 'c%'\"\n",
        "client.reference": "7\tdefault\n1\n"})
    result = toolkit_cli(project, "refs.run", "--url", clickhouse_url)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_setting_on_the_command_line_reaches_every_test(tmp_path: Path,
                                                          clickhouse_url: str) -> None:
    value = "SELECT value FROM system.settings WHERE name = 'max_block_size'"
    project = refs_project(tmp_path, {
        "sql.sql": f"{value};\n", "sql.reference": "1234\n",
        "sh.sh": f"#!/bin/sh\n$TOOLKIT_CLIENT -q \"{value}\"\n", "sh.reference": "1234\n"})
    result = toolkit_cli(project, "refs.run", "--url", clickhouse_url,
                         "--setting", "max_block_size=1234")
    assert result.returncode == 0, result.stdout + result.stderr
    without = toolkit_cli(project, "refs.run", "--url", clickhouse_url)
    assert "0 passed, 2 failed" in without.stdout


def test_a_test_over_its_timeout_is_killed_on_the_server(tmp_path: Path,
                                                         clickhouse_url: str) -> None:
    project = refs_project(tmp_path, {
        "forever.sql": "SELECT count() FROM system.numbers;\n", "forever.reference": "",
        "after.sql": "SELECT 'after';\n", "after.reference": "after\n"})
    result = toolkit_cli(project, "refs.run", "--url", clickhouse_url, "--timeout", "1",
                         "--jobs", "1")
    assert result.returncode == 1
    assert "forever.sql: timeout after 1s" in result.stdout
    assert "1 passed, 1 failed" in result.stdout
    endpoint = parse_url(clickhouse_url)
    # KILL QUERY … SYNC returned before the run went on: nothing of the test is left
    assert endpoint.query("SELECT count() FROM system.processes WHERE query_id LIKE 'test_%'"
                          ) == "0\n"
    assert endpoint.query("SELECT count() FROM system.databases WHERE name LIKE 'test_%'"
                          ) == "0\n"


@pytest.mark.parametrize("change, message", [
    (lambda u: u + "&nosuch_setting=1", "unknown parameter 'nosuch_setting' in the ClickHouse "
                                        "URL"),
    (lambda u: u.replace("default@", "default:wrong@"), "refused user 'default'"),
    (lambda u: "clickhouse://127.0.0.1:1", "no answer from ClickHouse at 127.0.0.1:1"),
    (lambda u: f"clickhouse://127.0.0.1:{parse_url(u).tcp_port}", "name the HTTP interface"),
    (lambda u: u.replace("?", "/db?"), "names a path"),
    (lambda u: u.replace(str(parse_url(u).port), "port"), "is not a number"),
], ids=["unknown-parameter", "wrong-password", "unreachable", "wrong-port", "path", "bad-port"])
def test_a_bad_server_url_is_one_line(tmp_path: Path, clickhouse_url: str, change,  # type: ignore[no-untyped-def]
                                      message: str) -> None:
    project = refs_project(tmp_path, {"a.sql": "SELECT 1;\n", "a.reference": "1\n"})
    result = toolkit_cli(project, "refs.run", "--url", change(clickhouse_url))
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "wrong" not in result.stderr  # the password is never printed
