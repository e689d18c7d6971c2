"""A failing migration is named by its revision whatever shape env.py has: the stock
`alembic init` env.py (which calls logging.config.fileConfig()) included."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from tests.helpers import run_toolkit, settings_for

FAILING = '''
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("{sql}")
'''


def _stock_project(root: Path) -> Path:
    root.mkdir(parents=True)
    command.init(Config(str(root / "alembic.ini")), str(root / "migrations"))
    versions = root / "migrations" / "versions"
    (versions / "a1.py").write_text(FAILING.format(rev="a1", down=None,
                                                   sql="CREATE TABLE ok (id INTEGER)"))
    (versions / "b2.py").write_text(FAILING.format(rev="b2", down="a1",
                                                   sql="ALTER TABLE nosuch ADD COLUMN x INTEGER"))
    (root / "pyproject.toml").write_text("")
    return root


@pytest.mark.parametrize("engine", ["sqlite", "postgres_url"])
def test_stock_env_py_names_the_failing_revision(engine: str, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    root = _stock_project(tmp_path / "stock")
    url = f"sqlite:///{tmp_path}/dbs/x.sqlite" if engine == "sqlite" else \
        str(request.getfixturevalue(engine))
    result = run_toolkit(settings_for(root, url), "db.template", check=False)
    assert result.returncode == 1
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("toolkit: error:")]
    assert len(errors) == 1 and "migration failed at revision b2" in errors[0], result.stderr
    assert "nosuch" in errors[0] and "Traceback" not in result.stderr
