"""The pytest plugin, run for real in a temporary project with pytester."""

from pathlib import Path

import pytest

from tests.helpers import migration_runs, plugin_project
from toolkit import status
from toolkit.settings import Settings

TESTS = '''
import sqlalchemy as sa

def test_insert_{n}(toolkit_db):
    with toolkit_db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM parent")).scalar() == 1
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'x')"))
    assert toolkit_db.name in str(toolkit_db.url)
'''
FAILING = '''
def test_breaks(toolkit_db):
    assert 1 == 2
'''


@pytest.fixture
def suite(pytester: pytest.Pytester, settings: Settings, monkeypatch: pytest.MonkeyPatch
          ) -> pytest.Pytester:
    return plugin_project(pytester, monkeypatch, settings.database_url, settings.prefix)


def _left(settings: Settings, root: Path) -> list[tuple[str, str]]:
    s = Settings.load(project_dir=root, environ={}, database_url=settings.database_url,
                      prefix=settings.prefix)
    return [(e.name, e.marker.kind if e.marker else "?") for e in status(s)]


def test_every_test_gets_its_own_clone_under_xdist(suite: pytest.Pytester,
                                                   settings: Settings) -> None:
    suite.makepyfile(**{f"test_{n}": TESTS.format(n=n) for n in range(6)})
    result = suite.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=6)
    assert migration_runs(suite.path) == 1
    assert [kind for _, kind in _left(settings, suite.path)] == ["template"]


def test_failed_test_keeps_its_database(suite: pytest.Pytester, settings: Settings) -> None:
    suite.makepyfile(test_fail=FAILING, test_ok=TESTS.format(n=0))
    result = suite.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    kept = [name for name, kind in _left(settings, suite.path) if kind == "clone"]
    assert len(kept) == 1
    result.stdout.fnmatch_lines([f"*kept database {kept[0]}: *",
                                 "*toolkit: kept databases of failed tests*",
                                 f"*remove with: toolkit db.drop {kept[0]}*"])


def test_no_keep_drops_failed_databases(suite: pytest.Pytester, settings: Settings) -> None:
    suite.makepyfile(test_fail=FAILING)
    result = suite.runpytest_subprocess("--toolkit-no-keep")
    result.assert_outcomes(failed=1)
    assert [kind for _, kind in _left(settings, suite.path)] == ["template"]
    assert "kept database" not in result.stdout.str()


def test_kept_databases_reported_under_xdist(suite: pytest.Pytester, settings: Settings) -> None:
    suite.makepyfile(test_fail=FAILING, test_ok=TESTS.format(n=0))
    result = suite.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*toolkit: kept databases of failed tests*"])


def test_bad_configuration_fails_tests_with_one_line(suite: pytest.Pytester) -> None:
    (suite.path / "alembic.ini").unlink()
    suite.makepyfile(test_ok=TESTS.format(n=0))
    result = suite.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*toolkit: no Alembic config at*"])
    assert "Traceback" not in result.stdout.str()
