"""When the MariaDB server lets toolkit open no session of its own for a clone's resets (a
connection limit reached), that clone is not reset: it is dropped after its test, as without
resets, and nothing fails."""

from __future__ import annotations

import secrets
from pathlib import Path

import pymysql

from tests.helpers import settings_for, write_project
from toolkit.core import Clone, create_clone, drop, ensure_template
from toolkit.engines import mysql_reset
from toolkit.engines.mysql import connect_kwargs, quote


def test_no_connection_to_spare_means_no_reset(tmp_path: Path, mysql_url: str) -> None:
    settings = settings_for(write_project(tmp_path / "project"), mysql_url)
    template = ensure_template(settings)
    db = create_clone(settings, template)
    user = f"t{secrets.token_hex(3)}"
    admin = pymysql.connect(**connect_kwargs(db.url))  # type: ignore[arg-type]
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE USER %s@'localhost' WITH MAX_USER_CONNECTIONS 1", (user,))
            cur.execute(f"GRANT ALL ON {quote(db.name)}.* TO %s@'localhost'", (user,))
        limited = Clone(db.name, db.url.set(username=user), template)
        # the user's one connection, held: the server refuses it another, for real
        held = pymysql.connect(**connect_kwargs(limited.url))  # type: ignore[arg-type]
        try:
            recycler = mysql_reset.Recycler(template.name)
            assert recycler._own(limited) is None
            assert recycler.recycle(limited) is False  # dropped after its test, as before
        finally:
            held.close()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP USER %s@'localhost'", (user,))
        admin.close()
        db.dispose()
        drop(settings, db.name)
