"""The proof a PostgreSQL reset rests on sees whatever a test leaves in any catalog of its
database, not only tables and schemas: each object below, made on a fresh database, makes its
state differ from the fresh one's, and dropping it makes them equal again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from toolkit import urls
from toolkit.engines import pg_reset
from toolkit.engines.postgresql import connect_kwargs

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
    server = urls.parse(postgres_url)
    name = f"t{secrets.token_hex(4)}_proof"
    with psycopg.connect(**connect_kwargs(server)) as admin:  # type: ignore[arg-type]
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            with psycopg.connect(**connect_kwargs(server, name)) as conn:  # type: ignore[arg-type]
                yield conn
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.parametrize("made", list(LEFT))
def test_the_proof_sees_what_a_test_leaves(fresh: psycopg.Connection, made: str) -> None:
    before = pg_reset.state(fresh)
    fresh.execute(made)
    assert pg_reset.state(fresh) != before
    fresh.execute(LEFT[made])
    assert pg_reset.state(fresh) == before
