"""toolkit only drops what it created and marked."""

import pytest

from tests.helpers import create_foreign
from toolkit import drop, ensure_template, gc
from toolkit.engines import get_engine
from toolkit.errors import NotOwnedError
from toolkit.settings import Settings


def test_drop_refuses_unmarked_database(settings: Settings) -> None:
    name = f"{settings.prefix}precious"
    create_foreign(settings, name)
    with pytest.raises(NotOwnedError, match="carries no toolkit marker"):
        drop(settings, name)
    assert name in get_engine(settings).markers(settings.prefix)
    assert get_engine(settings).markers(settings.prefix)[name] is None


def test_gc_and_template_build_leave_unmarked_database(settings: Settings) -> None:
    name = f"{settings.prefix}precious"
    create_foreign(settings, name)
    ensure_template(settings)
    assert all(n != name for n, _ in gc(settings))
    assert name in get_engine(settings).markers(settings.prefix)


def test_template_name_taken_by_foreign_database_is_refused(settings: Settings) -> None:
    tpl = ensure_template(settings)
    get_engine(settings).drop(tpl.name)
    create_foreign(settings, tpl.name)
    with pytest.raises(NotOwnedError):
        ensure_template(settings)
