"""A broken migration names its revision and the database error, marks nothing usable,
and leaves the previous template intact."""

from pathlib import Path

import pytest

from tests.helpers import add_revision
from toolkit import ensure_template
from toolkit.engines import get_engine
from toolkit.errors import MigrationError
from toolkit.settings import Settings


def test_failed_migration_leaves_no_template_and_keeps_previous(settings: Settings,
                                                                project: Path) -> None:
    previous = ensure_template(settings)
    rev = add_revision(project, "INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(MigrationError) as info:
        ensure_template(settings)
    assert info.value.revision == rev
    assert "no_such_table" in info.value.reason
    assert f"revision {rev}" in str(info.value)
    markers = get_engine(settings).markers(settings.prefix)
    assert list(markers) == [previous.name]
    assert markers[previous.name] is not None and markers[previous.name].kind == "template"


def test_fixed_migration_builds_after_failure(settings: Settings, project: Path) -> None:
    bad = project / "migrations" / "versions" / f"{add_revision(project, 'SELECT * FROM nope')}.py"
    with pytest.raises(MigrationError):
        ensure_template(settings)
    bad.write_text(bad.read_text().replace("SELECT * FROM nope", "SELECT 1"))
    tpl = ensure_template(settings)
    assert get_engine(settings).marker(tpl.name).kind == "template"
