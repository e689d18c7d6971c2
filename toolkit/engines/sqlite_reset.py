"""Handing a used SQLite clone out again instead of dropping it and making a new one: the
template's bytes are written over the clone's file, in place, under the same name
(SQLiteEngine.refresh_clone). The clone is then byte for byte what a new one is, without the
marker written again or the SQLAlchemy engine built again (what a new clone costs besides the
copy).

Nothing of the test can survive that but a connection still open on the file, which could
write into the refreshed clone (or a journal or WAL beside it). So a clone is refreshed only
when, its engine's connections closed, no file descriptor of this process refers to it any
more (read from /proc/self/fd; where there is none to read, clones are dropped as before). A
connection that another process, started by the test, keeps open past the test is not seen:
its writes would reach the next test's clone, as they would on a server whose reset had
already run."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.core import Clone
    from toolkit.engines.sqlite import SQLiteEngine

FDS = "/proc/self/fd"


class Recycler:
    """A pool's hooks (toolkit.pool) that refresh ``toolkit_db`` clones on SQLite."""

    def __init__(self, engine: SQLiteEngine) -> None:
        self.engine = engine
        self.can_see = os.path.isdir(FDS)

    def prepare(self, db: Clone) -> None:
        db.warm()

    def release(self, db: Clone) -> None:
        """Nothing on the test's time: its connections close in the background."""

    def recycle(self, db: Clone) -> bool:
        db.engine.dispose()  # the connections the test returned; not one it kept
        if not self.can_see or _open(db.url.database or ""):
            return False
        self.engine.refresh_clone(db.template.name, db.name)
        return True


def _open(path: str) -> bool:
    """Whether a file descriptor of this process refers to the database at ``path`` (or to
    a file beside it: its journal, WAL or WAL index)."""
    path = os.path.realpath(path)
    for entry in os.scandir(FDS):
        try:
            if os.readlink(entry.path).startswith(path):
                return True
        except OSError:  # closed meanwhile
            continue
    return False
