"""On PostgreSQL a pool proves its resets on a session of toolkit's own on each clone, opened
while the clone is fresh and kept for the clone's life, so the proof is planned once per clone
and never shows in the test's session. What the test does to that session costs a new clone,
never a wrong one; a kept clone is left with no session of toolkit's; and when the server has
no connection to spare, the reset runs on the test's session as before."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from tests.helpers import pg_database, settings_for, write_project
from toolkit import urls
from toolkit.core import Clone, Template, drop, ensure_template
from toolkit.engines import pg_reset
from toolkit.engines.postgresql import connect_kwargs
from toolkit.pool import pool
from toolkit.settings import Settings

OTHERS = """SELECT pid, application_name FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()"""


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str) -> Settings:
    return settings_for(write_project(tmp_path / "project"), postgres_url)


def _others(db: Clone) -> list[tuple[int, str]]:
    with db.engine.connect() as conn:
        return [(int(r[0]), str(r[1])) for r in conn.execute(sa.text(OTHERS))]


def test_the_proof_runs_on_one_session_of_toolkits_own_per_clone(settings: Settings) -> None:
    template = ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        seen: dict[str, set[int]] = {}  # clone: the pids of toolkit's sessions on it
        for i in range(8):
            db = ready.take()
            others = _others(db)
            assert [app for _, app in others] == ["toolkit"], others  # the only other session
            seen.setdefault(db.name, set()).update(pid for pid, _ in others)
            with db.engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (:i, 'x')"),
                             {"i": 100 + i})
                # nothing of toolkit's prepared where the test can see it
                assert conn.execute(sa.text(
                    "SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
            ready.release(db)
    # the clone made first and the one made while it was taken, each reused with its session
    assert len(seen) <= 2 and all(len(pids) == 1 for pids in seen.values()), seen


def test_a_test_that_ends_toolkits_session_costs_a_new_clone(settings: Settings) -> None:
    template = ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        first = ready.take()
        with first.engine.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM ({OTHERS}) o"))
        ready.release(first)
        second = ready.take()  # never the clone whose proof session is gone
        assert second.name != first.name
        assert [app for _, app in _others(second)] == ["toolkit"]
        ready.release(second)
        assert ready.stats.recycled == 0


def test_a_kept_clone_has_no_session_of_toolkits(settings: Settings) -> None:
    template = ensure_template(settings)
    admin = sa.create_engine(settings.database_url)
    try:
        with pool(settings, template, size=1) as ready:
            db = ready.take()
            db.keep = True
            ready.release(db)
        with admin.connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity "
                                        "WHERE datname = :n"), {"n": db.name}).scalar()
        assert left == 0
    finally:
        assert drop(settings, db.name)
        admin.dispose()


@pytest.fixture
def blank(postgres_url: str) -> Iterator[tuple[str, psycopg.Connection]]:
    """A blank database, with a session on it standing for a test's."""
    with pg_database(postgres_url, "blank") as (name, test):
        test.prepare_threshold = pg_reset.NEVER
        yield name, test


def test_without_a_connection_to_spare_the_reset_runs_on_the_tests_session(
        postgres_url: str, blank: tuple[str, psycopg.Connection]) -> None:
    name, test = blank
    # a role the server lets in no more: toolkit's own session cannot be opened for real
    role = f"t{secrets.token_hex(4)}_full"
    server = urls.parse(postgres_url)
    with psycopg.connect(**connect_kwargs(server)) as admin:  # type: ignore[arg-type]
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 0").format(
            sql.Identifier(role)))
        try:
            db = Clone(name, server.set(database=name, username=role),
                       Template(name, server.set(database=name), "blank", "blank"))
            resets = pg_reset.Resets()
            resets.ready(db, test)
            assert resets.session(db) is None and resets.fresh is not None
            test.execute("CREATE TABLE left_behind (x int)")
            pg_reset.end_session(test)
            assert resets.reset(db, test)  # on the test's own session, planned each time
            assert test.execute("SELECT to_regclass('left_behind')").fetchone() == (None,)
            assert pg_reset.state(test) == resets.fresh.state
        finally:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
