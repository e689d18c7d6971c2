"""PostgreSQL specifics: the template is a real template, clones drop with sessions open,
a session sitting on the template is waited for and then named."""

import psycopg
import pytest
import sqlalchemy as sa

from tests.helpers import settings_for
from toolkit import clone, ensure_template
from toolkit.engines.postgresql import connect_kwargs
from toolkit.errors import TemplateInUseError
from toolkit.urls import parse


@pytest.fixture
def pg(project, postgres_url):
    return settings_for(project, postgres_url, clone_wait_s=0.5)


def test_template_is_marked_as_template_in_toolkits_meta_database(pg) -> None:
    tpl = ensure_template(pg)
    with psycopg.connect(**connect_kwargs(parse(pg.database_url))) as conn:
        row = conn.execute("SELECT datistemplate, shobj_description(oid, 'pg_database'), oid "
                           "FROM pg_database WHERE datname = %s", (tpl.name,)).fetchone()
    # the marker is kept by oid in <prefix>meta; COMMENT ON DATABASE stays the migrations'
    assert row[0] is True and row[1] is None
    with psycopg.connect(**connect_kwargs(parse(pg.database_url), f"{pg.prefix}meta")) as conn:
        marker = conn.execute("SELECT marker FROM markers WHERE db_oid = %s",
                              (row[2],)).fetchone()
    assert '"kind": "template"' in marker[0]


def test_drop_ends_open_sessions(pg) -> None:
    with clone(pg) as db:
        held = psycopg.connect(**connect_kwargs(parse(str(db.url.render_as_string(False)))))
    assert held.closed or held.broken or _is_dead(held)


def _is_dead(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_session_on_template_is_waited_for_then_named(pg) -> None:
    tpl = ensure_template(pg)
    url = parse(tpl.url.render_as_string(hide_password=False))
    squatter = psycopg.connect(**{**connect_kwargs(url), "application_name": "squatter"})
    try:
        with pytest.raises(TemplateInUseError) as info, clone(pg, tpl):
            pass
        assert f"pid {squatter.info.backend_pid} (squatter)" in str(info.value)
    finally:
        squatter.close()
    with clone(pg, tpl) as db, db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
