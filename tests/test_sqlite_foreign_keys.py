"""SQLite clones enforce foreign keys, as PostgreSQL and MariaDB always do: the same test passes
or fails the same way on the default engine (the setting sqlite_foreign_keys turns it off)."""

from __future__ import annotations

import pytest

from tests.helpers import plugin_project

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
    plugin_project(pytester, monkeypatch, f"sqlite:///{pytester.path}/dbs/x.sqlite")
    pytester.makepyfile(test_fk=VIOLATION)
    return pytester


def test_sqlite_clones_enforce_foreign_keys(project: pytest.Pytester) -> None:
    project.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_the_setting_turns_it_off(project: pytest.Pytester,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLKIT_SQLITE_FOREIGN_KEYS", "false")
    project.runpytest_subprocess("-q").assert_outcomes(failed=1)
