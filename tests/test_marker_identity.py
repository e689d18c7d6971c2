"""A marker belongs to the database it describes, not to its name: a clone dropped by hand and
re-created by hand under the same name is not toolkit's (gc keeps it, drop refuses it), on the
servers that keep several databases (SQLite's marker is the sidecar beside the very file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.helpers import create_foreign, settings_for
from toolkit import core
from toolkit.engines import close_all
from toolkit.errors import NotOwnedError

DEAD_CLONE = """
import os, signal
from toolkit import core
from toolkit.settings import Settings
settings = Settings.load()
db = core.create_clone(settings, core.ensure_template(settings))
print(db.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("server", ["postgres_url", "mysql_url"])
def test_a_database_recreated_by_hand_under_a_clones_name_is_not_toolkits(
        server: str, request: pytest.FixtureRequest, project: Path) -> None:
    settings = settings_for(project, request.getfixturevalue(server))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLKIT_")}
    env.update(TOOLKIT_DATABASE_URL=settings.database_url, TOOLKIT_PREFIX=settings.prefix)
    run = subprocess.run([sys.executable, "-c", DEAD_CLONE], cwd=project, env=env,
                         capture_output=True, text=True)
    assert run.returncode == -signal.SIGKILL, run.stderr
    name = run.stdout.split()[0]
    engine = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {engine.dialect.identifier_preparer.quote(name)}"))
    engine.dispose()
    create_foreign(settings, name)  # by hand, under the same name
    close_all()
    assert name not in [n for n, _ in core.gc(settings)]
    entry = next(e for e in core.status(settings) if e.name == name)
    assert entry.as_dict()["kind"] == "not toolkit's"
    with pytest.raises(NotOwnedError):
        core.drop(settings, name)
    close_all()


def test_a_marker_left_under_a_reused_oid_gives_way(postgres_url: str, project: Path) -> None:
    """PostgreSQL keys markers by oid: a database dropped by hand leaves its row, and a new
    database that gets the same oid must get its own marker, not inherit the old one."""
    from psycopg import sql

    from toolkit.engines import get_engine
    from toolkit.marker import Marker

    settings = settings_for(project, postgres_url)
    engine = get_engine(settings)
    old = f"{settings.prefix}cl_old"
    engine.create(old, Marker.new("clone", "old", "old"))
    oid = engine._run("SELECT oid FROM pg_database WHERE datname = %s", (old,))[0][0]
    engine._run(sql.SQL("DROP DATABASE {}").format(sql.Identifier(old)))  # by hand
    new = f"{settings.prefix}cl_new"
    engine._create(new, Marker.new("clone", "new", "new"), sql.SQL(
        "CREATE DATABASE {} OID {}").format(sql.Identifier(new), sql.Literal(oid)), "test")
    marker = engine.marker(new)
    assert marker is not None and marker.fingerprint == "new"
    core.drop(settings, new)
    close_all()
