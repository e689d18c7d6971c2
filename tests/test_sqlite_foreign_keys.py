"""SQLite clones enforce foreign keys, as PostgreSQL and MariaDB always do: the same test passes
or fails the same way on the default engine (the setting sqlite_foreign_keys turns it off)."""

from __future__ import annotations

import os

import pytest

from tests.helpers import write_project

VIOLATION = '''
import pytest
import sqlalchemy as sa

def test_orphan_child_is_refused(toolkit_db):
    with pytest.raises(sa.exc.IntegrityError):
        with toolkit_db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO child (id, parent_id) VALUES (1, 999)"))
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    write_project(pytester.path)
    for name in [k for k in os.environ if k.startswith("TOOLKIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TOOLKIT_DATABASE_URL", f"sqlite:///{pytester.path}/dbs/x.sqlite")
    pytester.makepyfile(test_fk=VIOLATION)
    return pytester


def test_sqlite_clones_enforce_foreign_keys(project: pytest.Pytester) -> None:
    project.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_the_setting_turns_it_off(project: pytest.Pytester,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLKIT_SQLITE_FOREIGN_KEYS", "false")
    project.runpytest_subprocess("-q").assert_outcomes(failed=1)
