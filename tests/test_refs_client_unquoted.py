"""`$TOOLKIT_CLIENT` works unquoted in .sh tests, as ClickHouse's tests call their client: on
every engine, plain and under random settings (whose arguments hold spaces and quotes: a
`-cmd 'PRAGMA …'`, `--init-command=SET SESSION …`), from a project whose path has a space.
Piped SQL, the client's own query argument, `"$TOOLKIT_CLIENT"` and `eval "$TOOLKIT_CLIENT"`
all run the client."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import refs_project, toolkit_cli
from toolkit.refs.engines import client_wrapper

# the client's query argument (sqlite3 takes the SQL as its last argument)
QUERY = {"sqlite": "", "postgresql": "-c ", "mysql": "-e ", "clickhouse": "--query "}
SCRIPT = """#!/bin/sh
set -eu
echo "SELECT 40 + 2;" | $TOOLKIT_CLIENT
$TOOLKIT_CLIENT {query}"SELECT 'two words'"
echo "SELECT 3;" | "$TOOLKIT_CLIENT"
echo "SELECT 4;" | eval "$TOOLKIT_CLIENT"
"""
REFERENCE = "42\ntwo words\n3\n4\n"


def _engine(url: str) -> str:
    return {"chdb": "clickhouse", "clic": "clickhouse", "sqli": "sqlite",
            "post": "postgresql"}.get(url[:4], "mysql")


def _unquoted(tmp_path: Path, url: str) -> None:
    project = refs_project(tmp_path / "a project with spaces", {
        "client.sh": SCRIPT.format(query=QUERY[_engine(url)]), "client.reference": REFERENCE})
    for extra in ([], ["--random-settings", "--repeat", "4"]):
        result = toolkit_cli(project, "refs.run", "--url", url, "--json", "out.json", *extra)
        outcomes = json.loads((project / "out.json").read_text())
        assert result.returncode == 0, result.stdout + json.dumps(outcomes, indent=1)
        assert [o["status"] for o in outcomes] == ["passed"]


def test_unquoted_on_every_engine(tmp_path: Path, refs_url: str) -> None:
    _unquoted(tmp_path, refs_url)


def test_unquoted_on_a_clickhouse_server(tmp_path: Path, clickhouse_url: str) -> None:
    _unquoted(tmp_path, clickhouse_url)


@pytest.mark.parametrize("argument", ["a b", "it's", "tab\there", "$HOME", "*", "--x='y z'"])
def test_the_wrapper_passes_each_argument_as_it_is(tmp_path: Path, argument: str) -> None:
    client = client_wrapper(tmp_path, ["printf", "%s|", argument])
    shown = subprocess.run(["sh", "-c", "$TOOLKIT_CLIENT last; echo; \"$TOOLKIT_CLIENT\"; echo"],
                           env={"TOOLKIT_CLIENT": client, "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, check=True)
    assert shown.stdout == f"{argument}|last|\n{argument}|\n"
    assert (tmp_path / "toolkit-client").stat().st_mode & 0o777 == 0o700  # a password's safe
