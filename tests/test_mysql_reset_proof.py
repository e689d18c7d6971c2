"""The proof a MariaDB/MySQL reset rests on sees every definition a test can change in its
database: each change below, made on a fresh clone, makes its definitions differ from the
fresh clone's, and undoing it makes them equal again. Rows and AUTO_INCREMENT values are data
(compared apart): inserting rows leaves the definitions alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import settings_for, write_project
from toolkit.core import Clone, create_clone, drop, ensure_template
from toolkit.engines import mysql_reset

CHANGED = {  # what a test does: how it is undone
    "CREATE INDEX by_name ON parent (name)": "DROP INDEX by_name ON parent",
    "ALTER TABLE parent ADD COLUMN extra INT": "ALTER TABLE parent DROP COLUMN extra",
    "ALTER TABLE parent MODIFY name VARCHAR(50) NOT NULL DEFAULT 'x'":
        "ALTER TABLE parent MODIFY name VARCHAR(50) NOT NULL",
    "ALTER TABLE parent ADD CONSTRAINT positive CHECK (id > 0)":
        "ALTER TABLE parent DROP CONSTRAINT positive",
    "ALTER TABLE parent COMMENT = 'changed'": "ALTER TABLE parent COMMENT = ''",
    "CREATE TABLE added (x INT)": "DROP TABLE added",
    "CREATE VIEW v AS SELECT id FROM parent": "DROP VIEW v",
    "CREATE SEQUENCE s": "DROP SEQUENCE s",
    "CREATE PROCEDURE p() SELECT 1": "DROP PROCEDURE p",
    "CREATE FUNCTION f() RETURNS INT RETURN 1": "DROP FUNCTION f",
    "CREATE TRIGGER t BEFORE INSERT ON parent FOR EACH ROW SET NEW.name = NEW.name":
        "DROP TRIGGER t",
    "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1": "DROP EVENT e",
}


@pytest.fixture
def fresh(tmp_path: Path, mysql_url: str) -> Iterator[tuple[Clone, Any]]:
    settings = settings_for(write_project(tmp_path / "project"), mysql_url)
    db = create_clone(settings, ensure_template(settings))
    own = mysql_reset.connect(db.url)
    try:
        yield db, own
    finally:
        own.close()
        db.dispose()
        drop(settings, db.name)


def _definitions(own: Any, db: Clone, snap: mysql_reset.Snapshot) -> dict[str, str]:
    return mysql_reset.survey(own, db.name, snap.relations, snap.tables, snap.sequences).state


@pytest.mark.parametrize("change", list(CHANGED))
def test_the_proof_sees_a_changed_definition(fresh: tuple[Clone, Any], change: str) -> None:
    db, own = fresh
    snap = mysql_reset.snapshot(own, db.name, db.template.name)
    with own.cursor() as cur:
        cur.execute(f"USE `{db.name}`")
        cur.execute(change)
        assert _definitions(own, db, snap) != snap.state
        cur.execute(CHANGED[change])
        cur.execute("USE mysql")  # toolkit's session is in no database of the test's
    assert _definitions(own, db, snap) == snap.state


def test_rows_are_data_not_definitions(fresh: tuple[Clone, Any]) -> None:
    db, own = fresh
    snap = mysql_reset.snapshot(own, db.name, db.template.name)
    with own.cursor() as cur:
        cur.execute(f"INSERT INTO `{db.name}`.parent (id, name) VALUES (5, 'x')")
    now = mysql_reset.survey(own, db.name, snap.relations, snap.tables, snap.sequences)
    assert now.state == snap.state and now.checksums != snap.checksums
    assert mysql_reset.reset(own, snap, db.name)
