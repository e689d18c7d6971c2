"""Hints a new user meets: every command a message prints runs as printed, closing lines are
true, a command in a hint is never wrapped, causes are kept, and what was read is named."""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
from pathlib import Path

from tests.helpers import run_toolkit, settings_for, toolkit_cli, write_project

ROOT = Path(__file__).parent.parent


def _queries(root: Path) -> Path:
    queries = root / "tests" / "queries"
    queries.mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (queries / "00001_users.sql").write_text("SELECT 'alice';\n")
    (queries / "00002_more.sql").write_text("SELECT 'bob';\n")
    return root


def test_the_record_hint_runs_as_printed(tmp_path: Path) -> None:
    root = _queries(tmp_path)
    result = toolkit_cli(root, "refs.run")
    hint = next(ln for ln in result.stdout.splitlines() if "record it:" in ln and "00001" in ln)
    command = hint.split("record it: ", 1)[1].rstrip(")")
    assert command == "toolkit refs.record -s 00001_users"
    ran = toolkit_cli(root, *shlex.split(command)[1:])
    assert ran.returncode == 0, ran.stderr
    assert (root / "tests" / "queries" / "00001_users.reference").read_text() == "alice\n"
    assert not (root / "tests" / "queries" / "00002_more.reference").exists()


def test_record_says_what_it_recorded_and_closes_truthfully(tmp_path: Path) -> None:
    root = _queries(tmp_path)
    result = toolkit_cli(root, "refs.record")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert sum(ln.startswith("wrote ") for ln in lines) == 2
    assert lines[-1] == "2 passed, 0 failed, 0 skipped (2 recorded)"


def test_a_hint_is_never_wrapped(project: Path, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings_for(project, f"sqlite:///{tmp_path}/dbs/x.sqlite"),
                                   prefix="a_rather_long_prefix_for_this_project_")
    result = run_toolkit(settings, "db.clone")
    hint = next(ln for ln in result.stderr.splitlines() if "remove it with:" in ln)
    assert len(hint) > 80
    name = hint.split("created ", 1)[1].split(";", 1)[0]
    assert hint.endswith(f"remove it with: toolkit db.drop {name}")


def test_an_unreachable_server_keeps_the_cause(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    result = toolkit_cli(root, "db.status", env={
        "TOOLKIT_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert result.returncode == 1 and "Connection refused" in result.stderr, result.stderr


def test_a_url_without_a_scheme_is_shown_as_typed(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    result = toolkit_cli(root, "db.status", env={"TOOLKIT_DATABASE_URL": "localhost:5432"})
    assert result.returncode == 1 and "'localhost:5432'" in result.stderr, result.stderr


def test_status_names_what_it_read(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    result = toolkit_cli(root, "db.status", env={"TOOLKIT_DATABASE_URL":
                                              f"sqlite:///{tmp_path}/dbs/x.sqlite"})
    assert result.stdout.splitlines()[0] == \
        f"toolkit databases with prefix 'toolkit_' at {tmp_path}/dbs: none"


def test_the_design_cards_commands_work_from_the_repository_root() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    result = subprocess.run(["inv", "db.template"], cwd=ROOT, text=True, capture_output=True,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("toolkit_tpl_")
    status = subprocess.run(["inv", "db.status"], cwd=ROOT, text=True, capture_output=True,
                            env=env)
    assert "examples/shop/.toolkit" in status.stdout, status.stdout


def test_nox_lists_sessions_without_noise() -> None:
    listing = subprocess.run(["nox", "-l"], cwd=ROOT, text=True, capture_output=True)
    assert "alembic" not in listing.stdout + listing.stderr
    assert "- prepush -> Fast checks before a push: lint, unit tests, SQLite references, " \
           "changed tests." in listing.stdout
