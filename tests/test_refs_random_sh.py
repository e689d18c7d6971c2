"""Random settings reach a .sh test's client too: TOOLKIT_CLIENT starts its session with the
test's draw (sqlite3 -cmd PRAGMA, PGOPTIONS, mariadb --init-command, the ClickHouse client's
--NAME=VALUE), so a shell test that reads a default is caught like a .sql test."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import refs_project, toolkit_cli
from tests.test_refs_random import READS_A_DEFAULT

SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\necho {sql!r} | eval \"$TOOLKIT_CLIENT\"\n"


def _engine(url: str) -> str:
    return {"chdb": "clickhouse", "clic": "clickhouse", "sqli": "sqlite",
            "post": "postgresql"}.get(url[:4], "mysql")


def test_a_shell_test_that_reads_a_default_is_caught(tmp_path: Path, refs_url: str) -> None:
    _caught(tmp_path, refs_url)


def test_on_a_clickhouse_server_too(tmp_path: Path, clickhouse_url: str) -> None:
    _caught(tmp_path, clickhouse_url)


def _caught(tmp_path: Path, refs_url: str) -> None:
    reads, _ = READS_A_DEFAULT[_engine(refs_url)]
    script = SCRIPT.format(sql=reads.strip())
    project = refs_project(tmp_path, {
        "reads_default.sh": script,
        "tagged.sh": script.replace("set -eu", "# Tags: no-random-settings\nset -eu")})
    # the reference holds what the server says by default (versions differ)
    recorded = toolkit_cli(project, "refs.record", "--url", refs_url)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    result = toolkit_cli(project, "refs.run", "--url", refs_url, "--random-settings",
                         "--repeat", "8", "--json", "out.json")
    assert result.returncode == 1, result.stdout
    statuses = {r["name"]: r["status"] for r in json.loads((project / "out.json").read_text())}
    assert statuses["tagged"] == "passed", result.stdout
    assert statuses["reads_default"] in ("flaky", "failed"), result.stdout
    assert "reproduce: toolkit refs.run --random-settings --seed " in result.stdout
