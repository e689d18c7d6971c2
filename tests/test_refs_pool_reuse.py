"""The reference runner's PostgreSQL databases are reused, not dropped, after the tests most
suites have: a test that leaves tables, views and sequences in its database has them dropped
(on its own, ended session) and the database handed to a later test empty; one that leaves a
function or a schema gets the public schema made again. Either way the next test finds a
fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import settings_for
from toolkit import urls
from toolkit.engines import get_engine
from toolkit.refs.command import _blank
from toolkit.refs.engines.postgresql import PooledPostgreSQLBackend

LEFT_BEHIND = [
    "CREATE TABLE t (id serial PRIMARY KEY, x int GENERATED ALWAYS AS IDENTITY)",
    "INSERT INTO t DEFAULT VALUES",
    "CREATE TABLE p (k int) PARTITION BY RANGE (k)",
    "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10)",
    "CREATE VIEW v AS SELECT id FROM t",
    "CREATE MATERIALIZED VIEW m AS SELECT id FROM t",
    "CREATE SEQUENCE s",
    "SELECT nextval('s')",
    'CREATE TABLE "Odd ""name""" (x int)',
]
EMPTY = ("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
         "SELECT count(*) FROM pg_proc WHERE oid >= 16384")


@pytest.fixture
def backend(tmp_path: Path, postgres_url: str) -> Iterator[PooledPostgreSQLBackend]:
    settings = settings_for(tmp_path, postgres_url)
    blank = _blank(settings, postgres_url)
    made = PooledPostgreSQLBackend(postgres_url,
                                   str(urls.parse(postgres_url).set(database=blank)), settings)
    try:
        yield made
    finally:
        made.close()
        get_engine(settings, postgres_url).drop(blank)


def test_what_tests_leave_is_cleared_and_the_database_reused(
        backend: PooledPostgreSQLBackend) -> None:
    names = []
    for i in range(10):
        name = backend.create(f"test_{i}")
        names.append(name)
        assert [backend.execute(q) for q in EMPTY] == ["0\n", "0\n"], name  # fresh
        for statement in LEFT_BEHIND:
            backend.execute(statement)
        if i % 3 == 2:  # a routine: only a new public schema clears it
            backend.execute("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        backend.drop(name)
    assert backend.databases.pool.stats.recycled >= 8
    # the worker's one database, reused over and over: none is made while it is out
    assert len(set(names)) == 1, names
