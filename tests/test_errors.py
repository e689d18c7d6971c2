"""Bad input through the `toolkit` command: one line saying what was checked and what to do,
exit code != 0, no traceback, no password."""

import dataclasses
import subprocess
from pathlib import Path

import psycopg

from tests.helpers import add_revision, create_foreign, run_toolkit, settings_for
from toolkit import ensure_template
from toolkit.engines.postgresql import connect_kwargs
from toolkit.settings import Settings
from toolkit.urls import parse


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("toolkit: error: ")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    return errors[0]


def test_missing_alembic_ini(settings: Settings, project: Path) -> None:
    (project / "alembic.ini").unlink()
    line = _one_line_error(run_toolkit(settings, "db.template", check=False))
    assert str(project / "alembic.ini") in line and "alembic_ini" in line


def test_unreachable_server_masks_password(project: Path) -> None:
    s = settings_for(project, "postgresql://alice:hunter2@127.0.0.1:1/app")
    line = _one_line_error(run_toolkit(s, "db.template", check=False))
    assert "127.0.0.1:1" in line and "hunter2" not in line


def test_unknown_url_scheme(project: Path) -> None:
    s = settings_for(project, "sqlite:///x")
    s = dataclasses.replace(s, database_url="oracle://scott:tiger@db/orcl")
    line = _one_line_error(run_toolkit(s, "db.status", check=False))
    assert "supported schemes" in line and "tiger" not in line


def test_broken_migration(settings: Settings, project: Path) -> None:
    rev = add_revision(project, "ALTER TABLE missing_table ADD COLUMN x INTEGER")
    line = _one_line_error(run_toolkit(settings, "db.template", check=False))
    assert f"revision {rev}" in line and "missing_table" in line


def test_drop_of_unmarked_database_refused(settings: Settings) -> None:
    name = f"{settings.prefix}theirs"
    create_foreign(settings, name)
    line = _one_line_error(run_toolkit(settings, "db.drop", name, check=False))
    assert "refusing to drop" in line and name in line


def test_template_in_use_names_blocking_session(project: Path, postgres_url: str) -> None:
    s = settings_for(project, postgres_url, clone_wait_s=0.3)
    tpl = ensure_template(s)
    url = parse(tpl.url.render_as_string(hide_password=False))
    with psycopg.connect(**{**connect_kwargs(url), "application_name": "psql-by-hand"}) as held:
        line = _one_line_error(run_toolkit(s, "db.clone", check=False))
        assert f"pid {held.info.backend_pid} (psql-by-hand)" in line


def test_debug_shows_traceback(settings: Settings, project: Path) -> None:
    (project / "alembic.ini").unlink()
    result = run_toolkit(settings, "--debug", "db.template", check=False)
    assert result.returncode != 0 and "Traceback" in result.stderr
