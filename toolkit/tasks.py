"""Invoke tasks: thin wrappers over the primitives. Use them from your own tasks.py with
``from toolkit.tasks import namespace``, or through the ``toolkit`` command."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from toolkit import core, urls
from toolkit.errors import ToolkitError
from toolkit.servers import local
from toolkit.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True)
URL_HELP = {"url": "database server/file URL (default: TOOLKIT_DATABASE_URL or the SQLite file)"}
INI_HELP = {**URL_HELP,
            "alembic_ini": "path of alembic.ini (default: TOOLKIT_ALEMBIC_INI or alembic.ini)"}


def edge(func: F) -> F:
    """Where errors become one line and an exit code (a traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logger = logging.getLogger("toolkit")
        if not logger.handlers:
            if err.is_terminal:
                logger.addHandler(RichHandler(console=err, show_time=False, show_path=False))
            else:  # logs and CI: plain lines that neither wrap nor colour
                handler = logging.StreamHandler()
                handler.setFormatter(logging.Formatter("toolkit: %(message)s"))
                logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        try:
            return func(*args, **kwargs)
        except ToolkitError as exc:
            if logging.getLogger().isEnabledFor(logging.DEBUG):  # invoke's --debug
                raise
            raise Exit(f"toolkit: error: {exc}", code=1) from exc

    return wrapper  # type: ignore[return-value]


def settings(url: str | None = None, alembic_ini: str | None = None, **extra: Any) -> Settings:
    return Settings.load(database_url=url, alembic_ini=alembic_ini, **extra)


@task(help=INI_HELP)
@edge
def template(c: Context, url: str | None = None, alembic_ini: str | None = None) -> None:
    """Build the template database at Alembic head (a no-op when the migrations are unchanged)."""
    tpl = core.ensure_template(settings(url, alembic_ini))
    print(tpl.name)


@task(name="clone", help=INI_HELP)
@edge
def clone_(c: Context, url: str | None = None, alembic_ini: str | None = None) -> None:
    """Create a clone of the template; its URL is the last line printed (drop it with db.drop)."""
    s = settings(url, alembic_ini)
    # owned by the calling shell or CI job, so db.gc keeps it while that is still running
    db = core.create_clone(s, core.ensure_template(s), owner_pid=os.getppid())
    err.print(f"created {db.name}; remove it with: toolkit db.drop {db.name}")
    print(urls.mask(db.url))


@task(help={"name": "database to drop (only one toolkit created)", **URL_HELP})
@edge
def drop(c: Context, name: str, url: str | None = None) -> None:
    """Drop a database toolkit created (refuses any other)."""
    if core.drop(settings(url), name):
        print(f"dropped {name}")
    else:
        print(f"{name} does not exist; nothing to drop")


@task(help={"dry_run": "list what would be dropped, drop nothing", **URL_HELP})
@edge
def gc(c: Context, dry_run: bool = False, url: str | None = None) -> None:
    """Drop clones whose owner process is gone and templates beyond the newest few."""
    doomed = core.gc(settings(url), dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    for name, reason in doomed:
        print(f"{verb} {name}: {reason}")
    print(f"{verb} {len(doomed)} database(s)")


@task(help={"json_": "print JSON instead of a table", **URL_HELP})
@edge
def status(c: Context, json_: bool = False, url: str | None = None) -> None:
    """List toolkit's templates and clones: kind, fingerprint, owner, age."""
    rows = [e.as_dict() for e in core.status(settings(url))]
    if json_:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "kind", "fingerprint", "owner", "age")
    for row in rows:
        alive = "" if row.get("owner_alive", True) else " (gone)"
        table.add_row(str(row["name"]), str(row["kind"]), str(row.get("fingerprint", "")),
                      f"{row.get('owner', '')}{alive}", f"{row.get('age_s', '')}s")
    Console().print(table)


@task(help={"kind": "postgres or mariadb"})
@edge
def up(c: Context, kind: str) -> None:
    """Start a private local server for tests; prints its URL (stop it with server.down)."""
    server = local.up(_state_dir(), kind)
    print(server.url)


@task(help={"kind": "postgres or mariadb (default: both)"})
@edge
def down(c: Context, kind: str | None = None) -> None:
    """Stop a server started by server.up and remove its files."""
    for k in [kind] if kind else list(local.KINDS):
        print(f"stopped {k}" if local.down(_state_dir(), k) else f"{k}: not running")


def _state_dir() -> Any:
    s = Settings.load()
    return s.project_dir / ".toolkit" / "servers"


db = Collection("db", template, clone_, drop, gc, status)
server = Collection("server", up, down)
namespace = Collection(db, server)
