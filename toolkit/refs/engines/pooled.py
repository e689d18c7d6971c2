"""A database per reference test from a pool (toolkit.pool): each worker keeps clones of the
run's template ready in the background, each with the worker's connection to it already open,
so a test starts on a database of its own at the cost of a hand-over. A released clone is
dropped in the background, or, where the engine can prove a reset complete, reset and handed
out again. Clones are marked as the worker's: a killed worker's are dropped by the run (or by
the next db.gc)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from toolkit import urls
from toolkit.core import Clone, Template
from toolkit.pool import ClonePool
from toolkit.settings import Settings

# clones per worker: with resets one in all (a reset is done before the next test starts; a
# second clone would only cost its creation), else two ready (one made while a test runs)
POOL_SIZE = {True: 1, False: 2}


class PooledDatabases:
    """The worker's pool and the connection it opened on each ready clone."""

    def __init__(self, settings: Settings, url: str, template: str,
                 connect: Callable[[str], Any], alive: Callable[[Any], bool],
                 reset: Callable[[Clone, Any], bool] | None = None,
                 ready: Callable[[Clone, Any], None] | None = None) -> None:
        self.connect, self.alive, self.reset, self.ready = connect, alive, reset, ready
        self.conns: dict[str, Any] = {}
        self._lock = threading.Lock()  # conns is shared with the pool's thread
        self.current: Clone | None = None
        server = urls.parse(url)
        self.pool = ClonePool(dataclasses.replace(settings, database_url=url),
                              Template(template, server.set(database=template), "refs", "refs"),
                              POOL_SIZE[reset is not None], prepare=self._prepare,
                              recycle=self._recycle if reset else None,
                              total=1 if reset is not None else None)

    def _prepare(self, db: Clone) -> None:
        """In the pool's thread: the connection the test will use (kept after a reset), then
        ``ready`` with it (what the engine does on a fresh clone)."""
        with self._lock:
            conn = self.conns.get(db.name)
        if conn is None or not self.alive(conn):
            conn = self.connect(db.name)
            with self._lock:
                self.conns[db.name] = conn
            db.closers.append(lambda: self._forget(db))  # closed before the clone is dropped
        if self.ready is not None:
            self.ready(db, conn)

    def _recycle(self, db: Clone) -> bool:
        assert self.reset is not None
        with self._lock:
            conn = self.conns.get(db.name)
        reused = False
        try:
            reused = conn is not None and self.alive(conn) and self.reset(db, conn)
        finally:
            if not reused:  # the clone is dropped next: its connection goes first
                self._forget(db)
        return reused

    def _forget(self, db: Clone) -> None:
        with self._lock:
            conn = self.conns.pop(db.name, None)
        if conn is not None:
            conn.close()

    def take(self) -> tuple[str, Any]:
        """A ready database for the next test: its name and the open connection on it."""
        self.current = self.pool.take()
        with self._lock:
            return self.current.name, self.conns[self.current.name]

    def release(self, keep: bool = False) -> None:
        """Done with the current test's database: kept, reset for reuse, or dropped."""
        db, self.current = self.current, None
        if db is None:
            return
        if keep or self.reset is None:  # no reuse: its connection ends now, before the drop
            self._forget(db)
        db.keep = keep
        self.pool.release(db)

    def close(self) -> None:
        self.pool.close()
        with self._lock:
            conns, self.conns = list(self.conns.values()), {}
        for conn in conns:
            conn.close()
