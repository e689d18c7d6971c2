"""The proof a PostgreSQL reset rests on sees whatever a test leaves in any catalog of its
database, not only tables and schemas: each object below, made on a fresh database, makes its
state differ from the fresh one's, and dropping it makes them equal again."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.helpers import pg_database
from toolkit.engines import pg_reset

LEFT = {  # what a test makes: how it is undone
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'": "DROP FUNCTION f()",
    "CREATE TYPE mood AS ENUM ('ok')": "DROP TYPE mood",
    "CREATE DOMAIN positive AS int CHECK (VALUE > 0)": "DROP DOMAIN positive",
    "CREATE COLLATION c2 FROM \"C\"": "DROP COLLATION c2",
    "CREATE TEXT SEARCH CONFIGURATION ts (COPY = simple)": "DROP TEXT SEARCH CONFIGURATION ts",
    "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq)":
        "DROP OPERATOR === (int, int)",
    "CREATE CAST (boolean AS money) WITH INOUT": "DROP CAST (boolean AS money)",
    "CREATE PUBLICATION everything FOR ALL TABLES": "DROP PUBLICATION everything",
    "CREATE EXTENSION pg_trgm": "DROP EXTENSION pg_trgm",
    "CREATE FOREIGN DATA WRAPPER nothing": "DROP FOREIGN DATA WRAPPER nothing",
    "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC":
        "ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC",
}


@pytest.fixture
def fresh(postgres_url: str) -> Iterator[psycopg.Connection]:
    with pg_database(postgres_url, "proof") as (_, conn):
        yield conn


@pytest.mark.parametrize("made", list(LEFT))
def test_the_proof_sees_what_a_test_leaves(fresh: psycopg.Connection, made: str) -> None:
    before = pg_reset.state(fresh)
    fresh.execute(made)
    assert pg_reset.state(fresh) != before
    fresh.execute(LEFT[made])
    assert pg_reset.state(fresh) == before
