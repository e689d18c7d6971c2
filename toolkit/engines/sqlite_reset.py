"""Handing a used SQLite clone out again instead of dropping it and making a new one: the
template's bytes are written over the clone's file, in place, under the same name
(SQLiteEngine.refresh_clone). The clone is then byte for byte what a new one is, without the
marker written again or the SQLAlchemy engine built again (what a new clone costs besides the
copy).

Nothing of the test can survive that but a connection still open on the file, in this process
or in any other (a thread's, a subprocess's): it could write into the refreshed clone. So a
clone is refreshed only while toolkit holds a write lease on its file (Linux's F_SETLEASE),
which the kernel grants only when no other file descriptor, of any process, has the file open
— its engine's connections closed first. Holding the lease, toolkit removes what a test left
beside the file (a WAL, a journal) and writes the template's bytes over it; a process that
opens the file meanwhile waits for toolkit to let go of the lease, and the clone is dropped
instead of handed out. Where there is no lease to take (not Linux, a file system without
them), clones are dropped as before."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.core import Clone
    from toolkit.engines.sqlite import SQLiteEngine

log = logging.getLogger("toolkit")

F_SETSIG = 10  # fcntl.h: the signal a lease break sends (the default, SIGIO, kills)
F_SETLEASE: int = getattr(fcntl, "F_SETLEASE", 0)  # Linux only (0: none)


class Recycler:
    """A pool's hooks (toolkit.pool) that refresh ``toolkit_db`` clones on SQLite."""

    def __init__(self, engine: SQLiteEngine) -> None:
        self.engine = engine
        self.can_lease = bool(F_SETLEASE)

    def prepare(self, db: Clone) -> None:
        db.warm()

    def release(self, db: Clone) -> None:
        """Nothing on the test's time: its connections close in the background."""

    def recycle(self, db: Clone) -> bool:
        db.engine.dispose()  # the connections the test returned; not one it kept
        if not self.can_lease:
            return False
        try:
            fd = os.open(str(db.url.database), os.O_RDWR)
        except OSError as exc:  # the test removed it, say
            log.debug("clone %s not refreshed: %s", db.name, exc)
            return False
        try:
            if not _lease(fd):
                return False  # open elsewhere (or no lease here): only a new clone is safe
            try:
                self.engine.refresh_clone(db.template.name, db.name, fd)
                # a process that opened the file meanwhile broke the lease, and would write
                # into the clone handed out next
                return bool(fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_WRLCK)
            finally:
                fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
        finally:
            os.close(fd)


def _lease(fd: int) -> bool:
    """A write lease on ``fd``'s file: granted only when nothing else has the file open.
    A lease break signals the holder; it is set to SIGURG (ignored by default) and sent to no
    one, so that a process opening the file during a refresh only waits for it."""
    try:
        fcntl.fcntl(fd, F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, F_SETLEASE, fcntl.F_WRLCK)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EBUSY):
            log.debug("no lease on a SQLite clone here (%s): clones are not reused", exc)
        return False
    fcntl.fcntl(fd, fcntl.F_SETOWN, 0)
    return True
