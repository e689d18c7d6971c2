"""A PostgreSQL clone that a test left a prepared transaction in (PREPARE TRANSACTION) can be
dropped: by the pool after the test, and by db.gc after the owner was killed with SIGKILL.
The server refuses DROP DATABASE while one stays; toolkit rolls them back first."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.helpers import settings_for, write_project
from toolkit import core
from toolkit.engines import close_all
from toolkit.engines.postgresql import connect_kwargs
from toolkit.pool import pool

PREPARED = """
import sys, time
import sqlalchemy as sa
from toolkit import core
from toolkit.settings import Settings

settings = Settings.load()
db = core.create_clone(settings, core.find_template(settings, sys.argv[1]))
with db.engine.connect() as conn:
    conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (9, 'prepared')"))
    conn.execute(sa.text("PREPARE TRANSACTION 'kill-" + db.name + "'"))
    conn.commit()
print(db.name, flush=True)
time.sleep(600)  # until the test kills it
"""


def _prepared(url: str, database: str) -> int:
    from toolkit import urls

    with psycopg.connect(**connect_kwargs(urls.parse(url))) as conn:  # type: ignore[arg-type]
        row = conn.execute("SELECT count(*) FROM pg_prepared_xacts WHERE database = %s",
                           (database,)).fetchone()
    return int(row[0]) if row else 0


def test_gc_drops_a_killed_owners_clone_with_a_prepared_transaction(
        tmp_path: Path, postgres_url: str) -> None:
    settings = settings_for(write_project(tmp_path / "project"), postgres_url)
    template = core.ensure_template(settings)
    env = {"TOOLKIT_DATABASE_URL": postgres_url, "TOOLKIT_PREFIX": settings.prefix,
           "PATH": "/usr/bin:/bin"}
    owner = subprocess.Popen([sys.executable, "-c", PREPARED, template.name], env=env,
                             cwd=settings.project_dir, stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        name = owner.stdout.readline().strip()  # printed once the transaction is prepared
        assert name and _prepared(postgres_url, name) == 1
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    dropped = core.gc(settings)
    assert name in [n for n, _ in dropped]
    assert _prepared(postgres_url, name) == 0
    assert name not in {s.name for s in core.status(settings)}
    close_all()


def test_the_pool_drops_such_a_clone_and_goes_on(tmp_path: Path, postgres_url: str) -> None:
    import sqlalchemy as sa

    settings = settings_for(write_project(tmp_path / "project"), postgres_url)
    with pool(settings, core.ensure_template(settings), size=1) as ready:
        db = ready.take()
        with db.engine.connect() as conn:
            conn.execute(sa.text(f"PREPARE TRANSACTION 'pool-{db.name}'"))
            conn.commit()
        ready.release(db)
        for _ in range(3):  # the pool still hands clones out
            other = ready.take()
            assert other.name != db.name
            ready.release(other)
    assert _prepared(postgres_url, db.name) == 0
    assert db.name not in {s.name for s in core.status(settings)}
    close_all()
