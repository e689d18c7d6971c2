"""SQLite: each database is a file beside the one the URL names; markers are JSON sidecars,
written (atomically) before the file they describe, so a sidecar is also the intent: a file is
toolkit's only with its sidecar, and a sidecar without its file is an interrupted creation."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
from sqlalchemy.engine import URL

from toolkit import crash
from toolkit.errors import LockTimeoutError, ToolkitError
from toolkit.marker import Marker, pid_alive
from toolkit.settings import Settings

SUFFIX = ".sqlite"
SIDECAR = ".toolkit.json"


class SQLiteEngine:
    kind = "sqlite"

    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.directory = settings.path(Path(url.database or ".toolkit/toolkit.sqlite")).parent

    def _file(self, name: str) -> Path:
        return self.directory / f"{name}{SUFFIX}"

    def server_version(self) -> str:
        return f"sqlite {sqlite3.sqlite_version_info[0]}"

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[bool]:
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.directory / f".{key}.lock")
        try:
            lock.acquire(blocking=False)
            waited = False
        except filelock.Timeout:
            try:
                lock.acquire(timeout=timeout)
            except filelock.Timeout as exc:
                raise LockTimeoutError(f"building {key}", timeout) from exc
            waited = True
        try:
            yield not waited
        finally:
            lock.release()

    def markers(self, prefix: str) -> dict[str, Marker | None]:
        if not self.directory.is_dir():
            return {}
        names = {p.name[: -len(SUFFIX)] for p in self.directory.glob(f"{prefix}*{SUFFIX}")}
        # a sidecar whose file is missing: a creation that was interrupted (see marker())
        names |= {p.name[: -len(SUFFIX + SIDECAR)]
                  for p in self.directory.glob(f"{prefix}*{SUFFIX}{SIDECAR}")}
        return {name: self.marker(name) for name in sorted(names)}

    def marker(self, name: str) -> Marker | None:
        try:
            marker = Marker.loads(self._sidecar(name).read_text())
        except OSError:
            return None
        if marker is not None and not self._file(name).exists():
            # never usable, and gc's to clean up once its owner is gone
            return marker.with_kind("building")
        return marker

    def intents(self, prefix: str) -> dict[str, Marker]:
        """Sidecar writes a killed process never finished (the sidecars themselves are the
        intents, and markers() lists them)."""
        found: dict[str, Marker] = {}
        if not self.directory.is_dir():
            return found
        for tmp in self.directory.glob(f".{glob.escape(prefix)}*{SUFFIX}{SIDECAR}.*.tmp"):
            name, pid = tmp.name[1:].split(SUFFIX + SIDECAR)[0], tmp.name.rsplit(".", 2)[-2]
            if not _alive(pid):
                try:
                    marker = Marker.loads(tmp.read_text())
                except OSError:
                    marker = None
                found[name] = marker or Marker("building", "", "", socket.gethostname(),
                                               int(pid), 0, "")
        return found

    def leftover(self, name: str) -> Marker | None:
        return None

    def forget(self, name: str) -> None:
        self._sidecar(name).unlink(missing_ok=True)
        for tmp in self.directory.glob(f".{glob.escape(self._sidecar(name).name)}.*.tmp"):
            if not _alive(tmp.name.rsplit(".", 2)[-2]):
                tmp.unlink(missing_ok=True)  # a sidecar write a killed process never finished

    def _lease_file(self, template: str, marker: Marker) -> Path:
        return self.directory / f".{template}{SUFFIX}.lease.{marker.pid}-{marker.started}.json"

    def lease(self, template: str, marker: Marker) -> None:
        self._lease_file(template, marker).write_text(marker.dumps())

    def leases(self, prefix: str) -> list[tuple[str, Marker]]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob(f".{glob.escape(prefix)}*{SUFFIX}.lease.*.json"):
            try:
                marker = Marker.loads(path.read_text())
            except OSError:
                continue
            if marker is not None:
                found.append((path.name[1:].split(SUFFIX + ".lease.")[0], marker))
        return found

    def unlease(self, template: str, marker: Marker) -> None:
        self._lease_file(template, marker).unlink(missing_ok=True)

    def _write_marker(self, name: str, marker: Marker) -> None:
        # atomically: a process killed mid-write must not leave half a sidecar, which would
        # make its file look like somebody else's
        sidecar = self._sidecar(name)
        tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, marker.dumps().encode())
            finally:
                os.close(fd)
            os.replace(tmp, sidecar)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk, say: leave no half-written sidecar
            raise

    def create(self, name: str, marker: Marker) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_marker(name, marker)
        crash.point("sqlite.create.intent")
        sqlite3.connect(self._file(name)).close()
        crash.point("sqlite.create.created")

    def finish_template(self, building: str, name: str, marker: Marker) -> None:
        # the rename is the commit point: before it the template's sidecar has no file (so it
        # reads as an interrupted build, and gc takes the copy with it), after it the file is
        # complete
        self._write_marker(name, marker)
        crash.point("sqlite.finish.marked")
        copy = self._copy(name)
        _consolidate(self._file(building), copy)
        crash.point("sqlite.finish.copied")
        os.replace(copy, self._file(name))
        crash.point("sqlite.finish.renamed")
        self.drop(building)

    def _copy(self, name: str) -> Path:
        """Where the template is assembled before its rename (hidden from markers())."""
        return self.directory / f".{name}{SUFFIX}.copy"

    def _sidecar(self, name: str) -> Path:
        return self._file(name).with_name(self._file(name).name + SIDECAR)

    def create_clone(self, template: str, name: str, marker: Marker) -> None:
        self._write_marker(name, marker)
        crash.point("sqlite.clone.intent")
        shutil.copyfile(self._file(template), self._file(name))
        crash.point("sqlite.clone.copied")

    def refresh_clone(self, template: str, name: str, fd: int) -> None:
        """Clone ``name`` a fresh copy of ``template`` again, under the same name and marker
        (a pool hands it out again, see sqlite_reset): what a test may have left beside it
        removed (a WAL and its index, a journal), then the template's bytes written over the
        file's through ``fd``, in place (a new file and the old one freed cost ten times as
        much). The caller has made sure nothing else has the clone open. Killed anywhere in
        between, the clone stays marked as this process's and is never handed out (only the
        process that refreshed it would), and gc drops it."""
        base = self._file(name)
        for suffix in ("-wal", "-shm", "-journal"):
            base.with_name(base.name + suffix).unlink(missing_ok=True)
        crash.point("sqlite.refresh.cleared")
        with open(self._file(template), "rb") as source:
            data = memoryview(source.read())
        os.lseek(fd, 0, os.SEEK_SET)
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.ftruncate(fd, len(data))
        crash.point("sqlite.refresh.written")

    def drop(self, name: str) -> None:
        base = self._file(name)
        for suffix in ("", "-wal", "-shm", "-journal"):
            base.with_name(base.name + suffix).unlink(missing_ok=True)
        self._copy(name).unlink(missing_ok=True)
        crash.point("sqlite.drop.files")
        # a temporary sidecar a killed writer left is found by intents() and forgotten by gc:
        # no directory scan on every drop
        self._sidecar(name).unlink(missing_ok=True)

    def database_url(self, name: str) -> URL:
        return self.url.set(database=str(self._file(name)))

    def close(self) -> None:
        pass


def _alive(pid: str) -> bool:
    """For a pid read from a temporary file's name."""
    return pid.isdigit() and pid_alive(int(pid))


def _quote(name: str) -> str:
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    return str(SQLiteDialect().identifier_preparer.quote(name))


def _consolidate(source: Path, target: Path) -> None:
    """``source`` as one self-contained file at ``target``: through SQLite's backup API, which
    reads what a WAL file still holds (a migration may switch to WAL while env.py's own pool
    keeps a connection open), in rollback-journal mode so that a file copy is a whole clone.
    Checked before it is used: the same objects and the same rows per table."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        for query in ("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY 1, 2",
                      "PRAGMA user_version"):
            if src.execute(query).fetchall() != dst.execute(query).fetchall():
                raise ToolkitError(f"the template copy of {source} differs from it ({query}); "
                                   "nothing was marked usable")
        for (table,) in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            count = f"SELECT count(*) FROM {_quote(table)}"
            if src.execute(count).fetchone() != dst.execute(count).fetchone():
                raise ToolkitError(f"the template copy of {source} lost rows of {table!r}; "
                                   "nothing was marked usable")
    finally:
        src.close()
        dst.close()
