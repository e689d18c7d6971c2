"""On every engine, a pool that resets its clones keeps ``size`` ready and one more in use,
and makes no new clone while a released one is on its way back; a caller holding every clone
and asking for more still gets one (it waits for a new clone, never forever)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import settings_for, write_project
from toolkit.core import ensure_template
from toolkit.pool import pool


@pytest.fixture(params=["sqlite", "postgres_url", "mysql_url"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":  # its clones are refreshed in place, so reused too
        return f"sqlite:///{tmp_path}/dbs/toolkit.sqlite"
    return str(request.getfixturevalue(request.param))


def test_a_reset_pool_makes_no_clone_while_one_comes_back(tmp_path: Path, server: str) -> None:
    settings = settings_for(write_project(tmp_path / "project"), server)
    template = ensure_template(settings)
    names = set()
    with pool(settings, template, size=1) as ready:
        for _ in range(10):
            db = ready.take()
            names.add(db.name)
            ready.release(db)
        assert ready.stats.recycled >= 8
    assert len(names) <= 2, names  # one ready, one in use: the same two over and over


def test_a_caller_holding_every_clone_gets_more(tmp_path: Path, server: str) -> None:
    settings = settings_for(write_project(tmp_path / "project"), server)
    template = ensure_template(settings)
    with pool(settings, template, size=1) as ready:
        held = [ready.take() for _ in range(4)]  # more than the pool keeps in all
        assert len({db.name for db in held}) == 4
        for db in held:
            ready.release(db)
