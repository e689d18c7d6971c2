"""The bad-input corpus: every case goes through the real `toolkit` command and must give one
line on stderr naming what was checked, a non-zero exit, no traceback, and nothing half-done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_toolkit, toolkit_cli, write_project
from toolkit.settings import Settings

SYNTAX_ERROR = "from alembic import op\nrevision = 'r004'\ndown_revision = 'r003'\n" \
               "def upgrade(:\n    pass\n"


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()
             and not ln.startswith(("INFO ", "toolkit: migrating", "toolkit: building"))]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("toolkit: error: "), lines[0]
    return lines[0]


def _syntax_error(project: Path) -> None:
    (project / "migrations" / "versions" / "r004.py").write_text(SYNTAX_ERROR)


@pytest.mark.parametrize("command", [["db.template"], ["db.clone"]])
def test_migration_with_a_syntax_error(settings: Settings, command: list[str]) -> None:
    _syntax_error(settings.project_dir)
    line = _one_line(run_toolkit(settings, *command, check=False))
    assert "r004.py" in line and "line 4" in line and "SyntaxError" in line
    assert run_toolkit(settings, "db.status", "--json").stdout.strip() == "[]"


def test_migration_with_a_syntax_error_under_refs_run(project: Path) -> None:
    _syntax_error(project)
    queries = project / "tests" / "queries"
    queries.mkdir(parents=True)
    (queries / "00001_a.sql").write_text("SELECT 1;\n")
    (queries / "00001_a.reference").write_text("1\n")
    line = _one_line(toolkit_cli(project, "refs.run"))
    assert "r004.py" in line and "SyntaxError" in line


def test_an_empty_versions_directory_is_refused(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", revisions=[])
    line = _one_line(toolkit_cli(project, "db.template"))
    assert "no migrations" in line and "versions" in line


def _mounted(directory: Path, options: str) -> list[str]:
    """Run the command in a mount namespace of its own with a tmpfs on ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return ["unshare", "--mount", "sh", "-c",
            f'mount -t tmpfs -o {options} tmpfs "$0" && exec "$@"', str(directory)]


def test_a_read_only_state_directory(project: Path) -> None:
    line = _one_line(toolkit_cli(project, "db.template",
                              prefix=_mounted(project / ".toolkit", "ro")))
    assert ".toolkit" in line and "read-only" in line.lower()


def test_a_clone_on_a_full_disk_leaves_nothing(project: Path) -> None:
    state = project / ".toolkit"
    state.mkdir()
    script = (f'mount -t tmpfs -o size=256k tmpfs "{state}" && cd "{project}" && '
              f'"{sys.executable}" -m toolkit db.template >/dev/null 2>&1 && '
              f'(dd if=/dev/zero of="{state}/filler" bs=1k 2>/dev/null; true) && '
              f'"{sys.executable}" -m toolkit db.clone; echo "rc=$?"; ls -a "{state}"')
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True,
                            text=True, env={k: v for k, v in os.environ.items()
                                            if not k.startswith("TOOLKIT_")})
    assert "rc=1" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr or "full" in result.stderr
    assert "_cl_" not in result.stdout, "a half-made clone or its sidecar was left"


def test_a_full_disk(project: Path) -> None:
    dbs = project / ".toolkit"
    line = _one_line(toolkit_cli(project, "db.template", prefix=_mounted(dbs, "size=12k")))
    assert "full" in line.lower() or "no space" in line.lower()


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["db.drop", "toolkit_*"], {}, "not a database name"),
    (["db.status"], {"TOOLKIT_DATABASE_URL": "postgresql://u@localhost:notaport/x"},
     "port"),
    (["db.status"], {"TOOLKIT_DATABASE_URL": "sqlite:///:memory:"}, "file"),
    (["db.status"], {"TOOLKIT_PREFIX": "tést_"}, "lowercase ASCII"),
    (["db.status"], {"TOOLKIT_PREFIX": "p" * 60,
                     "TOOLKIT_DATABASE_URL": "postgresql://u@localhost/x"}, "63"),
    (["db.status"], {"TOOLKIT_PREFIX": "p" * 57,
                     "TOOLKIT_DATABASE_URL": "mysql://u@localhost/x"}, "64"),
])
def test_bad_names_and_urls(project: Path, args: list[str], env: dict[str, str],
                            expected: str) -> None:
    line = _one_line(toolkit_cli(project, *args, env=env))
    assert expected in line, line
    assert not (project / ":memory:").exists()


def test_status_json_into_a_closed_pipe(project: Path) -> None:
    # `head -1` closes the pipe after one line: the rest must not end in a traceback
    result = subprocess.run(
        f'"{sys.executable}" -m toolkit db.status --json | head -c 0; '
        f'exit "${{PIPESTATUS[0]}}"', shell=True, executable="/bin/bash", cwd=project,
        capture_output=True, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")},
             "TOOLKIT_DATABASE_URL": f"sqlite:///{project}/dbs/x.sqlite"})
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr


def test_refs_run_against_an_unreachable_server(tmp_path: Path) -> None:
    queries = tmp_path / "tests" / "queries"
    queries.mkdir(parents=True)
    for i in range(4):
        (queries / f"0000{i}_a.sql").write_text("SELECT 1;\n")
        (queries / f"0000{i}_a.reference").write_text("1\n")
    result = toolkit_cli(tmp_path, "refs.run", "--url", "postgresql://u@127.0.0.1:1/x")
    line = _one_line(result)
    assert "127.0.0.1:1" in line



def test_server_up_takes_mysql_as_mariadb(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    up = toolkit_cli(tmp_path, "server.up", "mysql")
    try:
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip().splitlines()[-1].startswith("mysql")
    finally:
        down = toolkit_cli(tmp_path, "server.down")
    assert "stopped" in down.stdout, down.stdout + down.stderr
