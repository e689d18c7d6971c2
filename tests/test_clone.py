"""clone() on every engine: a copy of the template's schema and data, dropped on exit."""

import pytest
import sqlalchemy as sa

from toolkit import clone, create_clone, drop, ensure_template
from toolkit.engines import get_engine
from toolkit.settings import Settings


def test_clone_has_schema_and_data_and_is_dropped(settings: Settings) -> None:
    tpl = ensure_template(settings)
    with clone(settings, tpl) as db:
        assert db.name.startswith(f"{settings.prefix}cl_")
        with db.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT name FROM parent")).scalar() == "seed"
            conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'mine')"))
        marker = get_engine(settings).marker(db.name)
        assert marker is not None and marker.kind == "clone"
        assert marker.fingerprint == tpl.fingerprint
    assert db.name not in get_engine(settings).markers(settings.prefix)


def test_clones_are_isolated(settings: Settings) -> None:
    tpl = ensure_template(settings)
    with clone(settings, tpl) as a, clone(settings, tpl) as b:
        with a.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM parent"))
        with b.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM parent")).scalar() == 1
    with sa.create_engine(tpl.url).connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM parent")).scalar() == 1


def test_clone_without_template_builds_it(settings: Settings) -> None:
    with clone(settings) as db:
        assert db.template.name in get_engine(settings).markers(settings.prefix)


def test_keep_leaves_clone_until_dropped_and_drop_repeats(settings: Settings) -> None:
    with clone(settings) as db:
        db.keep = True
    assert db.name in get_engine(settings).markers(settings.prefix)
    assert drop(settings, db.name) is True
    assert drop(settings, db.name) is False


def test_dropped_on_exception(settings: Settings) -> None:
    with pytest.raises(RuntimeError), clone(settings) as db:
        raise RuntimeError("test failed")
    assert db.name not in get_engine(settings).markers(settings.prefix)


def test_create_clone_survives_until_drop(settings: Settings) -> None:
    db = create_clone(settings, ensure_template(settings))
    assert db.name in get_engine(settings).markers(settings.prefix)
    drop(settings, db.name)
    assert db.name not in get_engine(settings).markers(settings.prefix)
