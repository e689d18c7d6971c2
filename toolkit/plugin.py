"""pytest plugin: a session template and a fresh clone per test (``toolkit_db``)."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from toolkit import urls
from toolkit.core import Clone, Template, clone, ensure_template
from toolkit.errors import ToolkitError
from toolkit.settings import Settings

KEPT = "toolkit_kept_database"
CLONE = pytest.StashKey[tuple[Clone, bool]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("toolkit", "toolkit template databases")
    group.addoption("--toolkit-url", help="database server/file URL (TOOLKIT_DATABASE_URL)")
    group.addoption("--toolkit-alembic-ini", help="path of alembic.ini (TOOLKIT_ALEMBIC_INI)")
    group.addoption("--toolkit-keep-failed", dest="toolkit_keep", action="store_true",
                    default=None, help="keep a failed test's database (default)")
    group.addoption("--toolkit-no-keep", dest="toolkit_keep", action="store_false",
                    help="drop every test database, failed or not")


@pytest.fixture(scope="session")
def toolkit_settings(pytestconfig: pytest.Config) -> Settings:
    try:
        return Settings.load(
            project_dir=pytestconfig.rootpath,
            database_url=pytestconfig.getoption("toolkit_url"),
            alembic_ini=pytestconfig.getoption("toolkit_alembic_ini"),
            keep_failed=pytestconfig.getoption("toolkit_keep"),
        )
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def toolkit_template(toolkit_settings: Settings) -> Template:
    """The template at head, built once for all workers (they wait on one lock)."""
    try:
        return ensure_template(toolkit_settings)
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.fixture
def toolkit_db(request: pytest.FixtureRequest, toolkit_settings: Settings,
               toolkit_template: Template) -> Iterator[Clone]:
    """A fresh clone of the template for this test: ``.url``, ``.name``, ``.engine``."""
    try:
        with clone(toolkit_settings, toolkit_template) as db:
            request.node.stash[CLONE] = (db, toolkit_settings.keep_failed)
            yield db
    except ToolkitError as exc:
        pytest.fail(f"toolkit: {exc}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    db, keep = item.stash.get(CLONE, (None, False))
    if db is not None and report.failed and report.when == "call":
        if keep:
            db.keep = True
            where = urls.mask(db.url)
            report.sections.append(("toolkit", f"kept database {db.name}: {where}"))
            report.user_properties.append((KEPT, db.name))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    kept = [value for report in terminalreporter.stats.get("failed", [])
            for key, value in getattr(report, "user_properties", []) if key == KEPT]
    if kept:
        terminalreporter.section("toolkit: kept databases of failed tests")
        for name in kept:
            terminalreporter.write_line(f"  {name}    remove with: toolkit db.drop {name}")
        terminalreporter.write_line("or remove every leftover whose run has ended: toolkit db.gc")
