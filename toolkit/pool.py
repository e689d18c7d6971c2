"""Clones made ahead of demand. A pool serves one template on one server: a background thread
keeps up to ``size`` clones ready — created, marked as this process's like any clone, their
SQLAlchemy engine built and one connection already open (the dialect initialised) — so taking
one is a hand-over; a released clone is reset (when the reset is proved complete) or dropped
by that thread, off the test's critical path.

    with pool(settings, template) as p:
        db = p.take()          # waits (never fails) while none is ready
        ...
        p.release(db)          # reset or dropped in the background (kept if db.keep)

The thread has its own server connection (toolkit's engines are not shared across threads).
A killed process leaves its ready clones marked with its pid: the next ``db.gc`` drops them,
and whatever was mid-creation, like any clone of a dead owner.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from toolkit import urls
from toolkit.core import Clone, Template, create_clone
from toolkit.engines import Engine, make_engine
from toolkit.settings import Settings

log = logging.getLogger("toolkit")


class Recycler(Protocol):
    """An engine's pool hooks: ready a clone, end a test's session, reset and prove."""

    def prepare(self, db: Clone) -> None: ...

    def release(self, db: Clone) -> None: ...

    def recycle(self, db: Clone) -> bool: ...


def default_size(workers: int = 1) -> int:
    """Ready clones per pool: enough to hide one clone's creation behind a test, never so many
    that a small machine spends its cores filling pools (one pool per xdist worker)."""
    cores = os.cpu_count() or 1
    return max(1, min(4, cores // max(1, workers)))


@dataclasses.dataclass
class Timing:
    """One take: how long the test waited for a clone, whether one was ready (a hit), and
    whether it was a released clone reset and handed out again."""

    wait_s: float
    hit: bool
    reused: bool = False


@dataclasses.dataclass
class Stats:
    takes: list[Timing] = dataclasses.field(default_factory=list)
    recycled: int = 0  # released clones proved fresh and handed out again


class ClonePool:
    """``prepare`` readies a new clone in the background (default: ``Clone.warm``, an engine
    with a connection open). ``recycle``, when given, may return a released clone to the pool
    instead of dropping it: it runs in the background too and returns True only when it has
    proved the clone is as fresh as a new one (then ``prepare`` runs again). ``on_release``
    runs on the test's time, before the clone is handed back (what must end at once)."""

    def __init__(self, settings: Settings, template: Template, size: int | None = None,
                 prepare: Callable[[Clone], None] = Clone.warm,
                 recycle: Callable[[Clone], bool] | None = None,
                 on_release: Callable[[Clone], None] | None = None,
                 total: int | None = None) -> None:
        self.settings, self.template = settings, template
        self.size = size or settings.pool_size or default_size()
        self.prepare, self.recycle, self.on_release = prepare, recycle, on_release
        self.ready: collections.deque[Clone] = collections.deque()
        self.doomed: collections.deque[Clone] = collections.deque()
        # a pool whose clones come back reset keeps at most ``total`` in all (ready, in use,
        # being reset): making one while another is on its way back would cost a creation
        # (tens of ms of the server's time) where the reset costs about one
        self.total = total
        self.out = 0
        self.waiting = 0  # takes waiting for a clone
        self.stats = Stats()
        self._handed: set[str] = set()  # every clone handed out so far, by name
        self._cond = threading.Condition()
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._fill, name="toolkit-pool", daemon=True)
        self._thread.start()

    # --- the test's side --------------------------------------------------------------

    def take(self) -> Clone:
        """A ready clone: at once when one is waiting, else as soon as the next is made."""
        started = time.perf_counter()
        with self._cond:
            hit = bool(self.ready)
            if not hit:
                self.waiting += 1
                self._cond.notify_all()  # a waiter no reset will serve gets a new clone
                try:
                    while not self.ready:
                        if self._error is not None:
                            raise self._error
                        self._cond.wait()
                finally:
                    self.waiting -= 1
            db = self.ready.popleft()
            self.out += 1
            self._cond.notify_all()  # room for the next one
        reused = db.name in self._handed
        self._handed.add(db.name)
        self.stats.takes.append(Timing(time.perf_counter() - started, hit, reused))
        return db

    def release(self, db: Clone) -> None:
        """Done with ``db``: dropped in the background, or kept (its URL logged) if db.keep."""
        if db.keep:
            db.dispose()
            log.info("kept clone %s: %s", db.name, urls.mask(db.url))
            with self._cond:
                self.out -= 1  # not coming back: another may be made
                self._cond.notify_all()
            return
        if self.recycle is None:
            db.dispose()  # its connections close now: released clones must not pile them up
        elif self.on_release is not None:
            try:
                self.on_release(db)
            except Exception as exc:  # it cannot be reused then: its connections close
                log.debug("clone %s: %s", db.name, exc)
                db.dispose()
        with self._cond:
            self.doomed.append(db)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop making clones; drop the ready ones and the released ones still waiting."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    # --- the background thread --------------------------------------------------------

    def _fill(self) -> None:
        engine = make_engine(self.settings)  # this thread's own server connection
        try:
            while True:
                with self._cond:
                    while not (self._closing or self.doomed or self._room()):
                        self._cond.wait()
                    if self._closing:
                        leftovers = [*self.ready, *self.doomed]
                        self.ready.clear()
                        self.doomed.clear()
                        break
                    # a ready clone first (a test may be waiting for it); released ones
                    # are dropped when the pool is full, or before too many pile up (unless
                    # a test waits); with recycle, a released one first: a reset is cheaper
                    # than a new clone
                    backlog = len(self.doomed) > 2 * self.size and not self.waiting
                    full = not self._room()
                    first = full or backlog or self.recycle is not None
                    doomed = self.doomed.popleft() if self.doomed and first else None
                if doomed is not None:
                    recycled = self.recycle is not None and self._recycled(doomed)
                    if not recycled:
                        self._drop(engine, doomed)
                    with self._cond:
                        self.out -= 1
                        if recycled:
                            self.ready.append(doomed)
                        self._cond.notify_all()
                    continue
                db = self._make(engine)
                with self._cond:
                    self.ready.append(db)
                    self._cond.notify_all()
            for db in leftovers:
                self._drop(engine, db)
        except BaseException as exc:  # a take() waiting on us must hear of it
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            engine.close()

    @staticmethod
    def _drop(engine: Engine, db: Clone) -> None:
        """``db`` dropped; when the server refuses, left marked as this process's for the
        next ``db.gc`` (the pool goes on: the tests waiting on it are not failed for it)."""
        db.dispose()
        try:
            engine.drop(db.name)
        except Exception as exc:
            log.warning("could not drop clone %s (toolkit db.gc will, once this process has "
                        "ended): %s", db.name, exc)

    def _room(self) -> bool:
        """Whether to make another clone (called holding the lock)."""
        # a caller holding ``total`` clones and asking for more is served by a new one (not
        # a take that a ready clone, or a released one about to be reset, will serve)
        return len(self.ready) < self.size and (
            self.total is None or len(self.ready) + self.out < self.total
            or self.waiting > len(self.ready) + len(self.doomed))

    def _make(self, engine: Engine) -> Clone:
        db = create_clone(self.settings, self.template, engine=engine)
        self.prepare(db)  # what would cost the test milliseconds happens here
        return db

    def _recycled(self, db: Clone) -> bool:
        """Whether ``db`` was proved fresh again, and is ready for the next test."""
        assert self.recycle is not None
        try:
            if not self.recycle(db):
                log.debug("clone %s not proved fresh: dropped", db.name)
                return False
            self.prepare(db)
        except Exception as exc:  # anything unproved is dropped, never handed out
            log.debug("clone %s not recycled: %s", db.name, exc)
            return False
        self.stats.recycled += 1
        return True


@contextmanager
def pool(settings: Settings, template: Template, size: int | None = None,
         prepare: Callable[[Clone], None] | None = None,
         recycle: Callable[[Clone], bool] | None = None,
         on_release: Callable[[Clone], None] | None = None) -> Iterator[ClonePool]:
    """A pool of ready clones of ``template`` for the block; nothing of it outlives the block.
    Without hooks of the caller's, released clones are reset and reused when the reset is
    proved complete (toolkit.engines.pg_reset, mysql_reset; on SQLite, sqlite_reset: when
    nothing has the file open), else dropped."""
    server = urls.parse(settings.database_url)
    kind = urls.kind(server)
    if prepare is None and recycle is None:
        recycler: Recycler
        if kind == "postgresql":  # each imports its driver: only the one in use
            from toolkit.engines import pg_reset
            recycler = pg_reset.Recycler()
        elif kind == "sqlite":
            from toolkit.engines import sqlite_reset
            from toolkit.engines.sqlite import SQLiteEngine
            recycler = sqlite_reset.Recycler(SQLiteEngine(server, settings))
        else:
            from toolkit.engines import mysql_reset
            recycler = mysql_reset.Recycler(template.name)
        prepare, recycle, on_release = recycler.prepare, recycler.recycle, recycler.release
    size = size or settings.pool_size or default_size()
    made = ClonePool(settings, template, size, prepare or Clone.warm, recycle, on_release,
                     total=size + 1 if recycle is not None else None)
    try:
        yield made
    finally:
        made.close()
